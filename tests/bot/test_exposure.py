"""``medbot run`` refuses to listen beyond loopback without authentication."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.errors import ConfigError
from bot.service.exposure import check_exposure, is_loopback
from bot.settings import Settings

TOKEN = "rest-token-for-tests-0123456789"


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.2", False), ("medbot.example", False),
])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_needs_no_token() -> None:
    check_exposure(Settings.from_env({}))


@pytest.mark.parametrize("env, names", [
    ({"MEDBOT_HOST": "0.0.0.0"}, "MEDBOT_REST_TOKEN"),
    ({"MEDBOT_ACTION_HOST": "0.0.0.0"}, "MEDBOT_ACTION_SECRET"),
])
def test_beyond_loopback_without_authentication_is_refused(env, names) -> None:
    with pytest.raises(ConfigError) as refused:
        check_exposure(Settings.from_env(env))
    assert names in str(refused.value) and "必须" in str(refused.value)


def test_beyond_loopback_with_authentication_is_allowed() -> None:
    check_exposure(Settings.from_env({"MEDBOT_HOST": "0.0.0.0", "MEDBOT_REST_TOKEN": TOKEN,
                                      "MEDBOT_ACTION_HOST": "0.0.0.0",
                                      "MEDBOT_ACTION_SECRET": TOKEN}))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="MEDBOT_REST_TOKEN must have at least 16"):
        Settings.from_env({"MEDBOT_REST_TOKEN": "abc"})


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = Settings.from_env({"MEDBOT_REST_TOKEN": TOKEN, "MEDBOT_ACTION_SECRET": TOKEN})
    assert TOKEN not in repr(settings)


def test_medbot_run_stops_with_a_clear_message(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("MEDBOT_HOST", "0.0.0.0")
    monkeypatch.delenv("MEDBOT_REST_TOKEN", raising=False)
    monkeypatch.setenv("MEDBOT_DATA_DIR", str(tmp_path))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "MEDBOT_REST_TOKEN" in err and "loopback" in err
    assert not (tmp_path / "medbot.db").exists()  # stopped before anything was set up
