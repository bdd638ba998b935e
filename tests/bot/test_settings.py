from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, configuration_table


def test_defaults_use_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path.as_posix()}/medbot.db"
    assert (s.rasa_port, s.action_port, s.default_language) == (5005, 5055, "zh")
    assert s.is_sqlite


def test_environment_overrides() -> None:
    s = Settings.from_env({"MEDBOT_DATABASE_URL": "postgresql://u@h/db", "MEDBOT_PORT": "6000",
                           "MEDBOT_DEFAULT_LANGUAGE": "en"})
    assert (s.database_url, s.rasa_port, s.default_language) == ("postgresql://u@h/db", 6000, "en")
    assert not s.is_sqlite
    # a child process rebuilds the same settings from the environment it is given
    assert Settings.from_env(s.as_child_env()).database_url == s.database_url


@pytest.mark.parametrize("env", [{"MEDBOT_PORT": "abc"}, {"MEDBOT_DEFAULT_LANGUAGE": "fr"},
                                 {"MEDBOT_CLOCK_OFFSET": "6am"},
                                 {"MEDBOT_CLOCK_OFFSET": str(400 * 86400)}])
def test_bad_values_fail_at_start(env: dict) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


# ------------------------------------------------------------------ every variable
README = Path(__file__).resolve().parents[2] / "README.md"

# a valid value, not the default, for every variable
SAMPLE = {
    "MEDBOT_PROJECT_ROOT": "/srv/medbot", "MEDBOT_DATA_DIR": "/srv/medbot-data",
    "MEDBOT_DATABASE_URL": "postgresql://u@h/db", "MEDBOT_MODELS_DIR": "/srv/models",
    "MEDBOT_PORT": "6005", "MEDBOT_WORKERS": "3", "MEDBOT_ACTION_PORT": "6055",
    "MEDBOT_HOST": "0.0.0.0",
    "MEDBOT_DEFAULT_LANGUAGE": "en", "MEDBOT_TIMEZONE": "Asia/Urumqi",
    "MEDBOT_REDIS_URL": "redis://127.0.0.1:6379/3", "MEDBOT_REST_TOKEN": "r" * 20,
    "MEDBOT_ACTION_HOST": "0.0.0.0", "MEDBOT_ACTION_URL": "http://actions:5055/webhook",
    "MEDBOT_ACTION_SECRET": "s" * 20, "MEDBOT_CLOCK_OFFSET": "3600",
    "MEDBOT_TRUSTED_PROXIES": "10.0.0.0/8,127.0.0.1", "MEDBOT_CONSOLE_SECURE_COOKIES": "yes",
    "MEDBOT_ANCHOR_FILE": "/srv/anchors.jsonl", "MEDBOT_ANCHOR_KEY": "ab" * 32,
    "MEDBOT_ERASURE_KEY": "cd" * 32, "MEDBOT_ANCHOR_INTERVAL_SECONDS": "60",
    "MEDBOT_WORKER_PORT": "6056", "MEDBOT_OUTBOUND_SENDERS": "a.b:c, d.e:f",
    "MEDBOT_REMINDER_REPLY_MINUTES": "45", "MEDBOT_REMINDER_GRACE_MINUTES": "10",
    "MEDBOT_REMINDER_LEASE_MINUTES": "1.5", "MEDBOT_REMINDER_SNOOZE_MINUTES": "20",
    "MEDBOT_HANDOFF_CLAIM_TIMEOUT_MINUTES": "5", "MEDBOT_HANDOFF_EXPIRY_SECONDS": "10",
    "MEDBOT_RETENTION_DAYS": "3650", "MEDBOT_RETENTION_ALLOW_SHORT": "1",
    "MEDBOT_RETENTION_INTERVAL_HOURS": "12", "MEDBOT_MIGRATION_RESEAL_BROKEN": "true",
    "MEDBOT_WECHAT_TOKEN": "abc123", "MEDBOT_WECHAT_APP_ID": "wx1",
    "MEDBOT_WECHAT_APP_SECRET": "secret", "MEDBOT_WECHAT_AES_KEY": "k" * 43,
    "MEDBOT_WECHAT_MODE": "plaintext", "MEDBOT_WECHAT_API_BASE": "http://127.0.0.1:1/cgi-bin/",
    "MEDBOT_WECHAT_TEMPLATE_ID": "t1", "MEDBOT_WECHAT_REPLY_BUDGET": "2.5",
    "MEDBOT_WECHAT_SUBSCRIPTIONS_FILE": "/srv/medbot/wechat_subscriptions.yml",
    "MEDBOT_WECHAT_REPLAY_WINDOW": "120", "MEDBOT_WECHAT_MAX_BODY_BYTES": "8192",
    "MEDBOT_WECHAT_REPLY_LIMIT_BYTES": "1024", "MEDBOT_WECHAT_MAX_CONCURRENT_TURNS": "2",
}
# the variables any text is a value of; every other one refuses garbage
FREE_TEXT = {"MEDBOT_PROJECT_ROOT", "MEDBOT_DATA_DIR", "MEDBOT_DATABASE_URL", "MEDBOT_MODELS_DIR",
             "MEDBOT_HOST", "MEDBOT_REDIS_URL", "MEDBOT_ACTION_HOST", "MEDBOT_ACTION_URL",
             "MEDBOT_ANCHOR_FILE", "MEDBOT_OUTBOUND_SENDERS", "MEDBOT_WECHAT_TOKEN",
             "MEDBOT_WECHAT_APP_ID", "MEDBOT_WECHAT_APP_SECRET", "MEDBOT_WECHAT_AES_KEY",
             "MEDBOT_WECHAT_MODE", "MEDBOT_WECHAT_API_BASE", "MEDBOT_WECHAT_TEMPLATE_ID",
             "MEDBOT_WECHAT_SUBSCRIPTIONS_FILE"}
NAMES = [v.name for v in Settings.variables()]


def test_every_variable_has_a_sample_and_a_description() -> None:
    assert set(SAMPLE) == set(NAMES) and len(NAMES) == len(set(NAMES))
    assert FREE_TEXT <= set(NAMES)
    for variable in Settings.variables():
        assert variable.name.startswith("MEDBOT_") and variable.default
        assert variable.description and "\n" not in variable.description and \
            "|" not in variable.description


def test_defaults_are_typed() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.retention_days, s.retention_allow_short, s.handoff_expiry_seconds) == (1096, False, 30)
    assert (s.reminder_reply_minutes, s.reminder_lease_minutes) == (60.0, 2.0)
    assert (s.trusted_proxies, s.outbound_senders, s.console_secure_cookies) == ((), (), False)
    assert (s.worker_port, s.anchor_key, s.erasure_key, s.anchor_file) == (None, None, None, None)
    assert (s.handoff_claim_timeout_minutes, s.wechat_reply_budget, s.wechat_token) == (None, None, "")
    assert s.anchor_path == s.data_dir / "anchors" / "chain.jsonl" and not s.wechat_configured


def test_every_variable_is_parsed_to_its_type() -> None:
    s = Settings.from_env(SAMPLE)
    assert s.project_root == Path("/srv/medbot") and isinstance(s.data_dir, Path)
    assert (s.rasa_port, s.action_port, s.worker_port, s.clock_offset_seconds) == (
        6005, 6055, 6056, 3600)
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]
    assert s.outbound_senders == ("a.b:c", "d.e:f")
    assert (s.anchor_key, s.erasure_key) == (bytes([0xAB]) * 32, bytes([0xCD]) * 32)
    assert (s.reminder_lease_minutes, s.wechat_reply_budget, s.wechat_reply_limit_bytes) == (
        1.5, 2.5, 1024)
    assert s.console_secure_cookies and s.retention_allow_short and s.migration_reseal_broken
    assert s.anchor_path == Path("/srv/anchors.jsonl") and s.wechat_configured
    assert s.value_of("MEDBOT_WECHAT_AES_KEY") == "k" * 43
    for variable in Settings.variables():  # each sample moves its field off the default
        assert getattr(s, variable.field) != getattr(Settings(), variable.field), variable.name


def test_a_child_process_gets_every_field() -> None:
    for settings in (Settings.from_env({}), Settings.from_env(SAMPLE)):
        child = settings.as_child_env()
        assert set(child) == set(NAMES)
        assert Settings.from_env(child) == settings


def test_secrets_stay_out_of_repr() -> None:
    text = repr(Settings.from_env(SAMPLE))
    for variable in ("MEDBOT_REST_TOKEN", "MEDBOT_ACTION_SECRET", "MEDBOT_ANCHOR_KEY",
                     "MEDBOT_WECHAT_APP_SECRET", "MEDBOT_WECHAT_AES_KEY"):
        assert SAMPLE[variable] not in text


@pytest.mark.parametrize("variable", sorted(set(NAMES) - FREE_TEXT))
def test_a_bad_value_stops_start_up_naming_the_variable(variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: "not-a-value!"})


@pytest.mark.parametrize("env", [
    {"MEDBOT_PORT": "70000"}, {"MEDBOT_TIMEZONE": "Mars/Olympus"},
    {"MEDBOT_HANDOFF_EXPIRY_SECONDS": "0"}, {"MEDBOT_REMINDER_GRACE_MINUTES": "-1"},
    {"MEDBOT_RETENTION_DAYS": "365"}, {"MEDBOT_ANCHOR_KEY": "ab" * 16},
    {"MEDBOT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}])
def test_a_value_out_of_range_stops_start_up_naming_the_variable(env: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)


def test_unset_and_empty_are_the_default() -> None:
    assert Settings.from_env({name: "" for name in NAMES}) == Settings.from_env({})


def test_the_readme_table_is_the_settings() -> None:
    text = README.read_text(encoding="utf-8")
    rows = [line for line in text.split("## Configuration", 1)[1].splitlines()
            if line.startswith("| `MEDBOT_")]
    documented = [re.findall(r"`(MEDBOT_[A-Z_]+)`", row.split("|")[1])[0] for row in rows]
    assert not set(NAMES) - set(documented), "variables missing from the README table"
    assert not set(documented) - set(NAMES), "the README table names variables Settings lacks"
    assert configuration_table() in text, "README table is stale: run python -m bot.settings"
