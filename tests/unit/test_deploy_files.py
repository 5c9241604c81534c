"""The files of ``deploy/`` still match the code: command, ports, paths, shutdown timing."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import tomllib
from pathlib import Path

from bot.cli.serve import GRACEFUL_SHUTDOWN_SECONDS
from bot.handlers import sms, stripe_checkout, stripe_webhook, telegram
from bot.observability.http import METRICS_PATH
from bot.observability.logs import LOG_LEVELS
from bot.scheduler.service import STOP_SECONDS
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def console_script() -> str:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [(name, target)] = scripts.items()
    assert target == "bot.cli:main"
    return name


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "clinicbot@.service").read_text())
    return parser


def instructions() -> list[tuple[str, str]]:
    """The Containerfile's instructions, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Containerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in joined.splitlines() if line.strip()]


def test_the_unit_runs_clinicbot_serve_on_its_instance_port():
    service = unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == console_script() and argv[1] == "serve"
    assert argv[2:] == [] or (argv[2] == "--log-level" and argv[3] in LOG_LEVELS)
    environment = dict(pair.split("=", 1) for pair in shlex.split(service["Environment"]))
    assert environment == {"CLINICBOT_HOST": "127.0.0.1", "CLINICBOT_PORT": "%i",
                           "CLINICBOT_LOG_FORMAT": "json"}
    assert service["EnvironmentFile"].startswith("/etc/")


def test_the_unit_waits_for_a_graceful_shutdown_and_is_hardened():
    service = unit()["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > GRACEFUL_SHUTDOWN_SECONDS + STOP_SECONDS
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2", "a bad setting: restarting cannot help"
    assert (service["NoNewPrivileges"], service["ProtectSystem"]) == ("yes", "strict")
    assert service["DynamicUser"] == "yes" or service.get("User") not in (None, "root")
    assert service["WorkingDirectory"].endswith(service["StateDirectory"])


def test_the_container_runs_clinicbot_serve_as_a_user_on_the_exposed_port():
    steps = instructions()
    first = dict(reversed(steps))  # the first of each instruction
    last = dict(steps)
    assert first["FROM"] == "python:3.11-slim"
    assert json.loads(last["CMD"]) == [console_script(), "serve"]
    assert last["USER"].split(":")[0] not in ("root", "0")
    env = dict(pair.split("=", 1) for step, value in steps if step == "ENV"
               for pair in shlex.split(value))
    assert env["CLINICBOT_HOST"] == "0.0.0.0" and env["CLINICBOT_LOG_FORMAT"] == "json"
    assert last["EXPOSE"] == env["CLINICBOT_PORT"]
    assert "/healthz" in last["HEALTHCHECK"] and last["STOPSIGNAL"] == "SIGTERM"
    assert any(step == "RUN" and "pip install /src" in value for step, value in steps)


def test_the_container_copies_what_exists_and_the_context_keeps_it():
    sources = [shlex.split(value)[:-1] for step, value in instructions() if step == "COPY"]
    copied = {source for group in sources for source in group}
    assert copied == {"pyproject.toml", "README.md", "bot"}
    assert all((ROOT / source).exists() for source in copied)
    kept = (DEPLOY / "Containerfile.dockerignore").read_text().splitlines()
    assert {line.strip("!/") for line in kept if line.startswith("!")} == copied
    # Builders without BuildKit read only the context's own .dockerignore: the same rules.
    rules = [line for line in kept if line and not line.startswith("#")]
    root = (ROOT / ".dockerignore").read_text().splitlines()
    assert [line for line in root if line and not line.startswith("#")] == rules


def test_the_container_user_has_its_own_group():
    [run] = [value for step, value in instructions() if step == "RUN"]
    assert "groupadd --gid 10001 clinicbot" in run and "--gid clinicbot" in run
    [user] = [value for step, value in instructions() if step == "USER"]
    assert user == "10001:10001"


def test_the_proxy_passes_the_webhooks_and_nothing_else():
    config = (DEPLOY / "nginx.conf").read_text()
    [pattern] = re.findall(r"location ~ (\S+) \{", config)
    webhooks = [sms.INBOUND_PATH, sms.STATUS_PATH, telegram.WEBHOOK_PATH, stripe_webhook.PATH,
                stripe_checkout.DONE_PATH]
    assert all(re.fullmatch(pattern, path) for path in webhooks)
    for private in (METRICS_PATH, "/healthz", "/sms/inbound/x", "/payments/stripe/x", "/"):
        assert not re.search(pattern, private), private
    assert re.search(r"location / \{\s*return 404;", config)


def test_the_example_env_file_names_only_real_settings():
    names = {field.alias for field in Settings.model_fields.values()}
    example = (DEPLOY / "clinicbot.env.example").read_text().splitlines()
    given = [line.split("=", 1)[0] for line in example if line and not line.startswith("#")]
    assert given and set(given) <= names
    assert "CLINICBOT_PORT" not in given, "it would override each instance's port"
    assert "CLINICBOT_HOST" not in given, "it would override the container's 0.0.0.0"
