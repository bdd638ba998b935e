from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings


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
