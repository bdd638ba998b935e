"""Request helpers of the console: cookies, language, the signed-in user, CSRF.

Cookies are HttpOnly, SameSite=Strict and scoped to ``/console``; they are
also Secure when the console is served over HTTPS, when a trusted proxy says
``X-Forwarded-Proto: https``, or with ``MEDBOT_CONSOLE_SECURE_COOKIES=1`` behind a
TLS-terminating proxy. The client address (audit log, login throttle) is the
socket peer, or what a proxy of ``MEDBOT_TRUSTED_PROXIES`` forwards
(``bot/console/config.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, html, redirect

from bot.console.config import ConsoleConfig
from bot.console.factory import ConsoleServices
from bot.console.sessions import ActiveSession, CsrfError, new_token, tokens_match
from bot.settings import SUPPORTED_LANGUAGES, Settings

PREFIX = "/console"
SESSION_COOKIE = "medbot_console_session"
LOGIN_COOKIE = "medbot_console_login"  # double-submit token of the login form
LANG_COOKIE = "medbot_console_lang"
CSRF_FIELD = "csrf_token"


@dataclass
class Console:
    """The console as mounted on one server: its services and options.

    Attributes:
        services: built from ``settings`` before the server starts, unless given.
        poll_seconds: how often the live stream looks for new messages when no new
            row of its conversation was announced (``bot.store.feed``): access checks
            (a logout) and a lost announcement.
        stream_seconds: how long one live stream lasts before the browser reconnects.
        keepalive_seconds: comment lines that keep proxies and timeouts from closing it.
        config: trusted proxies and cookie security, read from ``settings`` (a bad
            value raises ``ConfigError`` when the console is mounted).
    """

    settings: Settings
    services: ConsoleServices | None = None
    poll_seconds: float = 5.0
    stream_seconds: float = 1800.0
    keepalive_seconds: float = 15.0
    config: ConsoleConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = ConsoleConfig.from_settings(self.settings)

    @property
    def s(self) -> ConsoleServices:
        """The services (they exist once the server has started)."""
        if self.services is None:
            raise RuntimeError("console services are built before the server starts")
        return self.services

    @property
    def default_language(self) -> str:
        return self.settings.default_language

    def secure_cookies(self, request: Request) -> bool:
        tls = bool(request.transport and request.transport.get_extra_info("sslcontext"))
        return self.config.https(request.ip, tls, _proxy_headers(request))

    def client_address(self, request: Request) -> str:
        return self.config.client_address(request.ip, _proxy_headers(request))


def _proxy_headers(request: Request) -> dict[str, str]:
    """The proxy headers, a repeated header joined (``getall``) as proxies append."""
    return {name: ",".join(request.headers.getall(name, [])) for name in (
        "x-forwarded-for", "x-real-ip", "x-forwarded-proto")}


async def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Database work off Sanic's loop."""
    return await asyncio.to_thread(func, *args, **kwargs)


def remote(request: Request, console: Console) -> str:
    """The client address of the request (Sanic's ``remote_addr`` is not used: it
    would believe forwarding headers from any peer once Sanic's proxy settings are on)."""
    if not hasattr(request.ctx, "console_client"):
        request.ctx.console_client = console.client_address(request)
    return request.ctx.console_client


def language(request: Request, console: Console) -> str:
    asked = request.args.get("lang")
    if asked in SUPPORTED_LANGUAGES:
        return asked
    stored = request.cookies.get(LANG_COOKIE)
    return stored if stored in SUPPORTED_LANGUAGES else console.default_language


def set_cookie(response: HTTPResponse, request: Request, console: Console, name: str,
               value: str, max_age: int) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["path"] = PREFIX
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max(0, max_age)
    if console.secure_cookies(request):
        cookie["secure"] = True


def clear_cookie(response: HTTPResponse, request: Request, console: Console, name: str) -> None:
    set_cookie(response, request, console, name, "", 0)


def page(request: Request, console: Console, body: str, status: int = 200) -> HTTPResponse:
    """An HTML response; a ``?lang=`` choice is remembered in a cookie."""
    response = html(body, status=status)
    asked = request.args.get("lang")
    if asked in SUPPORTED_LANGUAGES:
        set_cookie(response, request, console, LANG_COOKIE, asked,
                   int(timedelta(days=365).total_seconds()))
    return response


def see_other(location: str) -> HTTPResponse:
    return redirect(location, status=303)


async def current(request: Request, console: Console) -> ActiveSession | None:
    """The signed-in session of this request (cached on the request)."""
    if not hasattr(request.ctx, "console_session"):
        token = request.cookies.get(SESSION_COOKIE)
        request.ctx.console_session = (await run(console.s.sessions.lookup, token)
                                       if token else None)
    return request.ctx.console_session


Handler = Callable[..., Awaitable[HTTPResponse]]


def signed_in(console: Console) -> Callable[[Handler], Handler]:
    """Route decorator: no session -> the login page; a POST must carry the CSRF token.

    The handler gets the ``ActiveSession`` as its second argument.
    """

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            session = await current(request, console)
            if session is None:
                return see_other(f"{PREFIX}/login")
            if request.method == "POST":
                session.check_csrf(request.form.get(CSRF_FIELD))
            return await handler(request, session, *args, **kwargs)

        return wrapped

    return decorate


def login_token(request: Request) -> str:
    """The login form's double-submit token: the cookie's, or a new one."""
    return request.cookies.get(LOGIN_COOKIE) or new_token()


def check_login_token(request: Request) -> None:
    """Refuse a login form whose token does not match its cookie.

    Raises:
        CsrfError: the token is missing or wrong.
    """
    if not tokens_match(request.cookies.get(LOGIN_COOKIE), request.form.get(CSRF_FIELD)):
        raise CsrfError("login form token missing or wrong")


def int_arg(value: Any, default: int = 0) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default
