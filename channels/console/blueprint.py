"""``console_blueprint(settings, app=app)``: the doctor console's Sanic blueprint at ``/console``.

Errors become bilingual pages: ``PermissionDeniedError`` 403,
``NotFoundError`` 404, ``ConflictError`` 409, ``ValidationError`` 400,
anything else 500 (logged, never shown). Every response carries a strict
Content-Security-Policy and ``Cache-Control: no-store`` (patient data must
not stay in a shared tablet's cache).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sanic import Blueprint, Request
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse

from bot.app import App
from bot.console.factory import ConsoleServices
from bot.errors import (
    ConflictError,
    MedbotError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from bot.settings import Settings
from channels.console import routes_auth, routes_cases, routes_lists
from channels.console.pages import error_page
from channels.console.web import PREFIX, Console, language, page

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def console_blueprint(settings: Settings, services: ConsoleServices | None = None,
                      app: App | None = None, **options: Any) -> Blueprint:
    """The console's routes under ``/console``.

    Args:
        settings: the console's configuration (languages, proxies, cookies).
        services: ready services (tests); by default ``app``'s, built before the
            server starts.
        app: the process's app (``bot.app``); its database is disposed when the
            server stops. Default: one built from ``settings``.
        options: ``poll_seconds``, ``stream_seconds``, ``keepalive_seconds`` of
            the live transcript (see ``Console``).
    """
    console = Console(settings, services, **options)
    bp = Blueprint("medbot_console", url_prefix=PREFIX)
    if services is None:
        medbot = app or App.from_settings(settings)

        async def build(_app: Any, _loop: Any) -> None:
            console.services = await asyncio.to_thread(lambda: medbot.console)

        async def dispose(_app: Any, _loop: Any) -> None:
            medbot.dispose()

        bp.listener("before_server_start")(build)
        bp.listener("after_server_stop")(dispose)

    routes_auth.register(bp, console)
    routes_cases.register(bp, console)
    routes_lists.register(bp, console)

    @bp.exception(Exception)
    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        status, key = describe(exc)
        if status >= 500:
            log.error("console.error path=%s", request.path, exc_info=exc)
        else:
            log.info("console.refused path=%s status=%s error=%s", request.path, status,
                     type(exc).__name__)
        session = getattr(request.ctx, "console_session", None)
        staff, token = (session.staff, session.csrf_token) if session else (None, "")
        lang = language(request, console)
        return page(request, console, error_page(lang, key, status, staff, token), status)

    @bp.middleware("response")
    async def security_headers(_request: Request, response: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            if name not in response.headers:
                response.headers[name] = value

    return bp


def describe(exc: Exception) -> tuple[int, str]:
    """The HTTP status and the message key of an error."""
    if isinstance(exc, PermissionDeniedError):
        return 403, exc.message_key
    if isinstance(exc, NotFoundError):
        return 404, "utter_error_not_found"
    if isinstance(exc, ConflictError):
        return 409, "utter_console_error_conflict"
    if isinstance(exc, ValidationError):
        return 400, "utter_console_error_invalid"
    if isinstance(exc, MedbotError):
        return 500, "utter_console_server_error"
    if isinstance(exc, SanicException):
        status = int(getattr(exc, "status_code", 500) or 500)
        if status == 404:
            return 404, "utter_error_not_found"
        return status, ("utter_console_error_invalid" if 400 <= status < 500
                        else "utter_console_server_error")
    return 500, "utter_console_server_error"
