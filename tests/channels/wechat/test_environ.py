"""``WeChatInput.from_credentials(credentials, environ)`` is configured by the environ given,
database included (it used to read the process environment for its settings)."""

from __future__ import annotations

from pathlib import Path

from bot.cli.wechat import dev_environment
from bot.store.migrate import upgrade
from channels.wechat import WeChatInput


def test_the_environ_given_chooses_the_database(tmp_path: Path) -> None:
    environ = {"MEDBOT_DATA_DIR": str(tmp_path / "own"),
               **dev_environment("http://127.0.0.1:9", "wxEnvironTest0001", "s" * 32)}
    channel = WeChatInput.from_credentials({"mode": "safe"}, environ=environ)
    assert channel.config.enabled
    assert channel.db.url == f"sqlite:///{(tmp_path / 'own' / 'medbot.db').as_posix()}"
    upgrade(channel.db)
    assert channel.gate is not None and channel.gate.db is channel.db
    channel.db.dispose()
