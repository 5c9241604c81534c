"""Typed settings, read once from the environment (and a ``.env`` file) by the bootstrap.

Nothing reads the environment at import: :func:`load_settings` is called by the CLI.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The variables of INTERFACES.md; secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

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
    staff_code: SecretStr | None = Field(default=None, alias="CLINICBOT_STAFF_CODE")

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"


def load_settings() -> Settings:
    """Read the settings from the environment and ``.env``."""
    return Settings()
