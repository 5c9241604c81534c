"""Typed settings, read once from the environment (and a ``.env`` file) by the bootstrap.

Nothing reads the environment at import: :func:`load_settings` is called by the CLI. A setting
that is malformed, or a Twilio or Stripe setting missing its partner, raises
:class:`SettingsError` whose message names the variable and never repeats its value (secrets
must not reach a terminal or a log). Empty variables count as unset; without the Stripe keys,
payment links are off.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MIN_STAFF_CODE = 12


class SettingsError(ValueError):
    """The environment holds a setting the bot cannot use; the message names the variable."""


def _base_url(value: str | None, variable: str) -> str | None:
    """``http(s)://host[:port][/path]`` without a trailing slash, query or fragment."""
    if value is None:
        return None
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or " " in value.strip()
    ):
        raise ValueError(f"{variable} must look like https://host[:port][/path]")
    return value.strip().rstrip("/")


class Settings(BaseSettings):
    """The variables of INTERFACES.md; secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str = Field(default="sqlite:///clinicbot.db", alias="DATABASE_URL")
    host: str = Field(default="127.0.0.1", alias="CLINICBOT_HOST")
    port: int = Field(default=8080, alias="CLINICBOT_PORT", ge=1, le=65535)
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, alias="TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_payment_provider_token: SecretStr | None = Field(
        default=None, alias="TELEGRAM_PAYMENT_PROVIDER_TOKEN"
    )
    twilio_account_sid: str | None = Field(default=None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(default=None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(default=None, alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(
        default=None, alias="TWILIO_MESSAGING_SERVICE_SID"
    )
    twilio_api_base_url: str = Field(default="https://api.twilio.com", alias="TWILIO_API_BASE_URL")
    stripe_secret_key: SecretStr | None = Field(default=None, alias="STRIPE_SECRET_KEY")
    stripe_webhook_secret: SecretStr | None = Field(default=None, alias="STRIPE_WEBHOOK_SECRET")
    stripe_api_base_url: str = Field(default="https://api.stripe.com", alias="STRIPE_API_BASE_URL")
    staff_code: SecretStr | None = Field(default=None, alias="CLINICBOT_STAFF_CODE")
    sweep_seconds: float = Field(default=60.0, alias="CLINICBOT_SWEEP_SECONDS", ge=1, le=3600)
    delivery_seconds: float = Field(
        default=15.0, alias="CLINICBOT_DELIVERY_SECONDS", ge=0.5, le=3600
    )
    log_format: Literal["text", "json"] = Field(default="text", alias="CLINICBOT_LOG_FORMAT")

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        return _base_url(value, "PUBLIC_BASE_URL")

    @field_validator("twilio_api_base_url")
    @classmethod
    def _twilio_api_base_url(cls, value: str) -> str:
        return _base_url(value, "TWILIO_API_BASE_URL") or value

    @field_validator("stripe_api_base_url")
    @classmethod
    def _stripe_api_base_url(cls, value: str) -> str:
        return _base_url(value, "STRIPE_API_BASE_URL") or value

    @field_validator("stripe_secret_key", "stripe_webhook_secret")
    @classmethod
    def _stripe_key(cls, value: SecretStr | None) -> SecretStr | None:
        secret = None if value is None else value.get_secret_value()
        if secret is not None and (not secret.strip() or any(c.isspace() for c in secret)):
            raise ValueError("must not contain spaces")
        return value

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid(cls, value: str | None) -> str | None:
        if value is not None and not ACCOUNT_SID.fullmatch(value.strip()):
            raise ValueError("TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hexadecimal digits")
        return None if value is None else value.strip()

    @field_validator("twilio_messaging_service_sid")
    @classmethod
    def _messaging_service_sid(cls, value: str | None) -> str | None:
        if value is not None and not MESSAGING_SERVICE_SID.fullmatch(value.strip()):
            raise ValueError(
                "TWILIO_MESSAGING_SERVICE_SID must be 'MG' followed by 32 hexadecimal digits"
            )
        return None if value is None else value.strip()

    @field_validator("twilio_from_number")
    @classmethod
    def _from_number(cls, value: str | None) -> str | None:
        if value is not None and not E164.fullmatch(value.strip()):
            raise ValueError(
                "TWILIO_FROM_NUMBER must be an E.164 phone number such as +14165550100"
            )
        return None if value is None else value.strip()

    @field_validator("twilio_auth_token")
    @classmethod
    def _auth_token(cls, value: SecretStr | None) -> SecretStr | None:
        secret = None if value is None else value.get_secret_value()
        if secret is not None and (not secret.strip() or any(c.isspace() for c in secret)):
            raise ValueError("TWILIO_AUTH_TOKEN must not contain spaces")
        return value

    @field_validator("staff_code")
    @classmethod
    def _staff_code(cls, value: SecretStr | None) -> SecretStr | None:
        secret = None if value is None else value.get_secret_value()
        if secret is not None and (
            len(secret) < MIN_STAFF_CODE or any(c.isspace() for c in secret)
        ):
            raise ValueError(
                f"CLINICBOT_STAFF_CODE must be at least {MIN_STAFF_CODE} characters, without "
                "spaces (anyone who guesses it can register as staff)"
            )
        return value

    @model_validator(mode="after")
    def _twilio_complete(self) -> Settings:
        has_sid = self.twilio_account_sid is not None
        has_token = self.twilio_auth_token is not None
        if has_sid and not has_token:
            raise ValueError("TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not; set both")
        if has_token and not has_sid:
            raise ValueError("TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not; set both")
        sender = self.twilio_from_number or self.twilio_messaging_service_sid
        if has_sid and sender is None:
            raise ValueError(
                "SMS needs a sender: set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"
            )
        has_key = self.stripe_secret_key is not None
        if has_key != (self.stripe_webhook_secret is not None):
            raise ValueError(
                "Stripe needs both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET; set both"
            )
        return self

    @property
    def base_url(self) -> str:
        """Where Twilio and Telegram reach this server (``PUBLIC_BASE_URL``, else host:port)."""
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def sms_enabled(self) -> bool:
        """SMS is on when the Twilio credentials are set (then a sender is set too)."""
        return self.twilio_account_sid is not None and self.twilio_auth_token is not None

    @property
    def stripe_enabled(self) -> bool:
        """Payment links are on when both Stripe keys are set."""
        return self.stripe_secret_key is not None and self.stripe_webhook_secret is not None


def _describe(error: dict[str, object]) -> str:
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    location = error.get("loc") or ()
    assert isinstance(location, tuple)
    variable = str(location[0]).upper() if location else ""
    if not variable or variable in message:
        return message
    return f"{variable}: {message.lower() if message[:1].isupper() else message}"


def load_settings() -> Settings:
    """Read the settings from the environment and ``.env``; :class:`SettingsError` if unusable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [_describe(dict(e)) for e in exc.errors(include_url=False, include_input=False)]
        raise SettingsError("; ".join(problems)) from None
