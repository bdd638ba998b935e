"""The console as Rasa mounts it: ``credentials.yml`` entry, ``/console`` prefix."""

from __future__ import annotations

import uuid

import aiohttp
import yaml

from bot.app import App
from bot.settings import PROJECT_ROOT
from bot.store.db import Database
from bot.store.migrate import upgrade
from tests.console.conftest import Browser, _free_port


def test_credentials_register_the_console() -> None:
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text("utf-8"))
    assert credentials["channels.console.ConsoleInput"] == {}


async def test_rasa_mounts_the_console_at_slash_console(settings) -> None:
    from rasa.core.channels.channel import register
    from sanic import Sanic

    from channels.console import ConsoleInput

    db = Database(settings.database_url)
    upgrade(db)
    db.dispose()
    channel = ConsoleInput.from_credentials({})
    channel.app = App.from_settings(settings)  # the test's database instead of the environment's
    assert (channel.name(), channel.url_prefix()) == ("console", "/console")
    Sanic.test_mode = True
    app = Sanic(f"rasa_like_{uuid.uuid4().hex[:8]}")
    register([channel], app, route="/webhooks/")
    port = _free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    await server.before_start()  # the console builds its services from settings here
    await server.start_serving()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            browser = Browser(http, f"http://127.0.0.1:{port}")
            home = await browser.get("/console/")
            assert (home.status, home.location) == (303, "/console/login")
            login = await browser.login("nobody", "not a password")  # reaches the database
            assert login.status == 401 and 'id="username"' in login.text
    finally:
        server.close()
        await server.wait_closed()
        await server.after_stop()  # disposes the console's database engine
