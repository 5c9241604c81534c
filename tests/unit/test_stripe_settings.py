"""Stripe settings (issue 20): both keys or neither; a bad one names the variable, never its
value; unset, payment links are off."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings

KEY = "sk_test_" + "51Hx0123456789abcdefghij"
SECRET = "whsec_" + "0123456789abcdefghijklmn"
VARIABLES = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE_URL")


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env file
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return lambda **values: [monkeypatch.setenv(k, v) for k, v in values.items()]


def test_links_are_off_without_the_keys_and_the_api_is_stripes(env):
    settings = load_settings()
    assert not settings.stripe_enabled
    assert settings.stripe_api_base_url == "https://api.stripe.com"


def test_both_keys_turn_links_on_and_the_base_url_can_point_elsewhere(env):
    env(STRIPE_SECRET_KEY=KEY, STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_API_BASE_URL="http://127.0.0.1:12111/")
    settings = load_settings()
    assert settings.stripe_enabled and settings.stripe_api_base_url == "http://127.0.0.1:12111"
    assert KEY not in repr(settings) and SECRET not in repr(settings)


@pytest.mark.parametrize(("values", "named"), [
    ({"STRIPE_SECRET_KEY": KEY}, "STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_WEBHOOK_SECRET": SECRET}, "STRIPE_SECRET_KEY"),
    ({"STRIPE_SECRET_KEY": KEY, "STRIPE_WEBHOOK_SECRET": SECRET,
      "STRIPE_API_BASE_URL": "api.stripe.com"}, "STRIPE_API_BASE_URL"),
    ({"STRIPE_SECRET_KEY": "sk test", "STRIPE_WEBHOOK_SECRET": SECRET}, "STRIPE_SECRET_KEY"),
])
def test_an_incomplete_or_malformed_setting_is_named_without_its_value(env, values, named):
    env(**values)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert named in str(raised.value)
    assert KEY not in str(raised.value) and SECRET not in str(raised.value)
