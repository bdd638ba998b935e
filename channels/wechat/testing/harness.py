"""Serve an input channel's blueprint on a bare Sanic app over real HTTP.

For connector tests and ``medbot wechat-sim --echo``: ``on_new_message`` can be
any coroutine that emulates the bot.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from rasa.core.channels.channel import InputChannel
from sanic import Sanic

from channels.boundary import OnNewMessage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serve_channel(channel: InputChannel, on_new_message: OnNewMessage,
                        port: int | None = None) -> AsyncIterator[str]:
    """Yield the webhook URL (``http://127.0.0.1:PORT/webhooks/<name>/webhook``)."""
    Sanic.test_mode = True  # several apps in one process
    app = Sanic(f"channel_{uuid.uuid4().hex[:8]}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix=f"/webhooks/{channel.url_prefix()}")
    port = port or free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    await server.startup()
    await server.start_serving()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/{channel.url_prefix()}/webhook"
    finally:
        server.close()
        await server.wait_closed()
