"""Twilio and server settings: a malformed or incomplete one names the variable, never its value."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "s3cr3t-t0ken-value-0123456789ab"
TWILIO_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                    "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE_URL", "PUBLIC_BASE_URL",
                    "CLINICBOT_HOST", "CLINICBOT_PORT", "CLINICBOT_SWEEP_SECONDS",
                    "CLINICBOT_DELIVERY_SECONDS")


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env file
    for name in TWILIO_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_


def test_sms_is_off_without_credentials(env):
    settings = load_settings()
    assert not settings.sms_enabled and settings.base_url == "http://127.0.0.1:8080"


def test_a_complete_twilio_configuration_loads(env):
    env(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM_NUMBER="+14165550100",
        PUBLIC_BASE_URL="https://clinic.example/bot/")
    settings = load_settings()
    assert settings.sms_enabled and settings.base_url == "https://clinic.example/bot"


def test_the_scheduler_intervals_default_and_can_be_set(env):
    assert (load_settings().sweep_seconds, load_settings().delivery_seconds) == (60, 15)
    env(CLINICBOT_SWEEP_SECONDS="5", CLINICBOT_DELIVERY_SECONDS="2.5")
    assert (load_settings().sweep_seconds, load_settings().delivery_seconds) == (5, 2.5)


def test_empty_variables_count_as_unset(env):
    env(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", PUBLIC_BASE_URL="")
    assert not load_settings().sms_enabled


@pytest.mark.parametrize(("values", "named"), [
    ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_FROM_NUMBER": "+14165550100"}, "TWILIO_AUTH_TOKEN"),
    ({"TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN}, "TWILIO_FROM_NUMBER"),
    ({"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": TOKEN,
      "TWILIO_FROM_NUMBER": "+14165550100"}, "TWILIO_ACCOUNT_SID"),
    ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
      "TWILIO_FROM_NUMBER": "416-555-0100"}, "TWILIO_FROM_NUMBER"),
    ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
      "TWILIO_MESSAGING_SERVICE_SID": "MG-nope"}, "TWILIO_MESSAGING_SERVICE_SID"),
    ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "has a space",
      "TWILIO_FROM_NUMBER": "+14165550100"}, "TWILIO_AUTH_TOKEN"),
    ({"PUBLIC_BASE_URL": "clinic.example"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "ftp://clinic.example"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://clinic.example/?x=1"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://clinic.example:port"}, "PUBLIC_BASE_URL"),
    ({"TWILIO_API_BASE_URL": "api.twilio.com"}, "TWILIO_API_BASE_URL"),
    ({"CLINICBOT_PORT": "eighty"}, "CLINICBOT_PORT"),
    ({"CLINICBOT_SWEEP_SECONDS": "0"}, "CLINICBOT_SWEEP_SECONDS"),
    ({"CLINICBOT_DELIVERY_SECONDS": "soon"}, "CLINICBOT_DELIVERY_SECONDS"),
])
def test_a_bad_setting_is_named_without_its_value(env, values, named):
    env(**values)
    with pytest.raises(SettingsError) as failed:
        load_settings()
    assert named in str(failed.value)
    for value in values.values():
        if value not in named and len(value) > 6:
            assert value not in str(failed.value)
    assert TOKEN not in str(failed.value) and failed.value.__cause__ is None
