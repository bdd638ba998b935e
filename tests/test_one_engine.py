"""One database engine per process: the action server's actions and the Rasa server's
channels (REST, WeChat, console) all share the ``bot.app.App`` their entry point
installed. Engines are counted at ``create_engine``, both the one ``bot.store.db``
calls and SQLAlchemy's own, so an engine built anywhere (a service, a channel, a
cached default) is counted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot import app as composition
from bot.app import App
from bot.settings import PROJECT_ROOT, Settings
from bot.store.migrate import upgrade

# every action the server registers, called with one tracker each
TRACKER = {"sender_id": "rest:engine-count", "slots": {"language": "zh"},
           "latest_message": {"text": "停车怎么收费", "intent": {"name": "ask_hospital_info"}},
           "events": [], "paused": False, "followup_action": None, "active_loop": {},
           "latest_action_name": "action_listen"}


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the engines created while the test runs."""
    import sqlalchemy

    import bot.store.db

    created: list[str] = []
    original = sqlalchemy.create_engine

    def recording(url, *args, **kwargs):  # type: ignore[no-untyped-def]
        created.append(str(url))
        return original(url, *args, **kwargs)

    monkeypatch.setattr(bot.store.db, "create_engine", recording)
    monkeypatch.setattr(sqlalchemy, "create_engine", recording)
    return created


@pytest.fixture
def own_process_app() -> Iterator[None]:
    """The test plays an entry point: it installs its own app, then puts the session's back."""
    previous = composition._current
    yield
    if previous is None:
        composition.uninstall()
    else:
        composition.install(previous)


def _environment(tmp_path: Path) -> dict[str, str]:
    return {"MEDBOT_PROJECT_ROOT": str(PROJECT_ROOT), "MEDBOT_DATA_DIR": str(tmp_path / "data"),
            "MEDBOT_ACTION_PORT": "0"}


def _migrated(settings: Settings) -> None:
    db = App.from_settings(settings).db
    upgrade(db)
    db.dispose()


async def test_the_action_server_opens_one_engine(tmp_path: Path, engines: list[str],
                                                  own_process_app: None) -> None:
    from sanic import Sanic

    from channels.wechat.testing.harness import free_port
    from components.action_server import build_app

    settings = Settings.from_env(_environment(tmp_path))
    _migrated(settings)
    engines.clear()
    Sanic.test_mode = True
    server_app = build_app(settings)
    names = sorted(_action_names())
    port = free_port()
    server = await server_app.create_server(host="127.0.0.1", port=port,
                                            return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.start_serving()
    statuses = {}
    try:
        async with aiohttp.ClientSession() as http:
            for name in names:
                body = {"next_action": name, "sender_id": TRACKER["sender_id"],
                        "tracker": TRACKER, "domain": {}, "version": "3.6.2"}
                async with http.post(f"http://127.0.0.1:{port}/webhook",
                                     data=json.dumps(body)) as reply:
                    statuses[name] = reply.status
        medbot = server_app.ctx.medbot
        for part in _services():  # whatever a conversation may still need
            getattr(medbot, part)
    finally:
        server.close()
        await server.wait_closed()
        await server.after_stop()
    assert len(names) > 30 and sum(status == 200 for status in statuses.values()) > 40
    assert len(engines) == 1, engines


def _action_names() -> list[str]:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    return list(executor.actions)


def _services() -> list[str]:
    from bot.app import lazy

    return [name for name, value in vars(App).items()
            if isinstance(value, lazy) and name != "console"]


async def test_the_rasa_server_channels_share_one_engine(
        tmp_path: Path, engines: list[str], own_process_app: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.run import create_http_input_channels

    from bot.cli.wechat import dev_environment
    from components.rasa_server import install_app

    environ = {**_environment(tmp_path),
               **dev_environment("http://127.0.0.1:9", "wx" + uuid.uuid4().hex[:16], "s" * 32)}
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    _migrated(Settings.from_env())
    engines.clear()
    medbot = install_app()  # what components.rasa_server does before Rasa starts

    async def bot(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "ok"})

    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    assert sorted(c.name() for c in channels) == ["console", "rest", "wechat"]
    for channel in channels:
        channel.blueprint(bot)
    medbot.console  # built by the console's blueprint before the server starts
    rest = next(c for c in channels if c.name() == "rest")
    handle = rest.boundary.wrap(bot)
    out = CollectingOutputChannel()
    await handle(UserMessage("停车怎么收费", out, "engine-count"))  # a turn through the gate
    await asyncio.sleep(0)
    assert out.messages
    medbot.dispose()
    assert len(engines) == 1, engines
