"""The doctor console: a web UI for handoffs, re-visits, flags and the audit log.

Mounted in the Rasa server as an input channel (``credentials.yml``:
``channels.console.ConsoleInput: {}``). Rasa mounts channel blueprints at
``urljoin("/webhooks/", url_prefix())``; an absolute prefix puts the console
at ``/console``. The use cases are in ``bot/console``; this package is the web
layer: ``web`` (cookies, session, CSRF), ``pages``/``case_page`` (HTML),
``routes_*`` (handlers), ``blueprint`` (errors, headers).
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint

from bot.app import App, current_app
from channels.console.blueprint import console_blueprint

__all__ = ["ConsoleInput", "console_blueprint"]


class ConsoleInput(InputChannel):
    """Serves the console; it receives no patient messages."""

    def __init__(self, app: App) -> None:
        self.app = app

    @classmethod
    def name(cls) -> str:
        return "console"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ConsoleInput:
        return cls(current_app())

    def url_prefix(self) -> str:
        return "/console"

    def blueprint(self, on_new_message: Any) -> Blueprint:  # on_new_message is not used
        return console_blueprint(self.app.settings, app=self.app)
