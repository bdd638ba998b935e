"""A fake WeChat API server (``/cgi-bin/...``) on 127.0.0.1, in a thread.

Two token endpoints, as the real platform has them, each with its own token:

- ``GET token`` (the classic call): issuing a token invalidates the previous one
  (so processes that do not share a token break each other, wechatpy#684).
- ``POST stable_token`` (getStableAccessToken): returns the same token while it is
  valid, with the seconds it has left; in its last 5 minutes a call gets a new token
  and the old one stays valid until it expires. ``force_refresh: true`` invalidates
  the current token and issues a new one, at most 20 times a (Beijing) day and 30 s
  apart (45009 / 45011 otherwise).

Time is ``clock`` (tests inject a ``FakeClock``). Control it from the test:
``fail_next(40001)``, ``reject_current_token()``, ``refuse_custom[openid] = 45047``,
``delay = 6.0``; inspect ``sent``, ``tokens_issued``,
``stable_calls``, ``force_refreshes`` and ``force_refused``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from bot.clock import Clock, SystemClock

TOKEN_LIFETIME = timedelta(seconds=7200)
STABLE_RENEW_BEFORE = timedelta(minutes=5)  # a normal call renews the token this early
FORCE_PER_DAY = 20
FORCE_INTERVAL = timedelta(seconds=30)
PLATFORM_TZ = ZoneInfo("Asia/Shanghai")  # WeChat's daily limits reset at Beijing midnight


@dataclass
class SentMessage:
    path: str
    body: dict[str, Any]

    @property
    def touser(self) -> str:
        return self.body.get("touser", "")

    @property
    def text(self) -> str:
        if "text" in self.body:
            return self.body["text"].get("content", "")
        return self.body.get("data", {}).get("content", {}).get("value", "")


@dataclass
class FakeWeChatAPI:
    app_id: str = "wxfakeappid0000001"
    app_secret: str = "fake-secret"
    delay: float = 0.0
    sent: list[SentMessage] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    tokens_issued: int = 0
    stable_calls: int = 0
    force_refreshes: int = 0
    force_refused: list[int] = field(default_factory=list)  # errcodes of refused forces
    # openid -> errcode its customer-service messages get (45015, 45047: no quota left)
    refuse_custom: dict[str, int] = field(default_factory=dict)
    _failures: list[int] = field(default_factory=list)
    _rejected: set[str] = field(default_factory=set)
    _valid_token: str | None = None  # the current stable token
    _classic_token: str | None = None
    _valid: dict[str, datetime] = field(default_factory=dict)  # token -> expiry
    _force_day: str = ""
    _force_count: int = 0
    _force_last: datetime | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _event: threading.Condition = field(default_factory=threading.Condition)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/cgi-bin/"

    def fail_next(self, errcode: int, times: int = 1) -> None:
        """The next ``times`` message/menu calls answer ``errcode``."""
        with self._lock:
            self._failures.extend([errcode] * times)

    def reject_current_token(self) -> None:
        """Every call with the current stable token answers 40001, while a normal
        ``stable_token`` call still hands it out (only a force refresh replaces it)."""
        with self._lock:
            self._rejected.add(self._valid_token or "")

    def start(self) -> FakeWeChatAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._answer(api.handle("GET", self.path, b""))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(api.handle("POST", self.path, self.rfile.read(length)))

            def _answer(self, result: dict[str, Any]) -> None:
                body = json.dumps(result, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeWeChatAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_sent(self, count: int = 1, timeout: float = 10.0) -> list[SentMessage]:
        """Block until ``count`` messages were sent (from a thread, not the event loop)."""
        deadline = time.monotonic() + timeout
        with self._event:
            while len(self.sent) < count and time.monotonic() < deadline:
                self._event.wait(deadline - time.monotonic())
        return list(self.sent)

    async def sent_messages(self, count: int = 1, timeout: float = 10.0) -> list[SentMessage]:
        """Wait (without blocking the loop) until ``count`` messages were sent."""
        deadline = time.monotonic() + timeout
        while len(self.sent) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return list(self.sent)

    def handle(self, method: str, raw_path: str, body: bytes) -> dict[str, Any]:
        url = urlparse(raw_path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path.removeprefix("/cgi-bin/")
        if path == "token":
            if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            with self._lock:
                self._valid.pop(self._classic_token or "", None)
                self._classic_token = self._issue()
                return {"access_token": self._classic_token, "expires_in": 7200}
        if path == "stable_token" and method == "POST":
            return self._stable_token(body)
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            if self._failures:
                code = self._failures.pop(0)
                return {"errcode": code, "errmsg": f"fake failure {code}"}
            token = query.get("access_token") or ""
            expires = self._valid.get(token)
            if expires is None or token in self._rejected:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if expires <= self.clock.now():
                return {"errcode": 42001, "errmsg": "access_token expired"}
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        if path == "message/custom/send" and data.get("touser") in self.refuse_custom:
            code = self.refuse_custom[data["touser"]]
            return {"errcode": code, "errmsg": f"fake refusal {code}"}
        if path in ("message/custom/send", "message/template/send",
                    "message/subscribe/bizsend"):
            with self._event:
                self.sent.append(SentMessage(path, data))
                self._event.notify_all()
            return {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}
        if path == "menu/create":
            self.menus.append(data)
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 404, "errmsg": f"unknown api {path}"}

    def _issue(self) -> str:
        """A new token valid for ``TOKEN_LIFETIME`` (call with ``_lock`` held)."""
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}-{time.monotonic_ns()}"
        self._valid[token] = self.clock.now() + TOKEN_LIFETIME
        return token

    def _stable_token(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
        if data.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if data.get("appid") != self.app_id or data.get("secret") != self.app_secret:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        force = data.get("force_refresh") is True
        with self._lock:
            self.stable_calls += 1
            now = self.clock.now()
            current = self._valid_token
            left = self._valid.get(current or "", now) - now
            if force:
                day = now.astimezone(PLATFORM_TZ).date().isoformat()
                if day != self._force_day:
                    self._force_day, self._force_count = day, 0
                if self._force_count >= FORCE_PER_DAY:
                    self.force_refused.append(45009)
                    return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
                if self._force_last is not None and now - self._force_last < FORCE_INTERVAL:
                    self.force_refused.append(45011)
                    return {"errcode": 45011,
                            "errmsg": "api minute-quota reach limit mustslower retry next minute"}
                self._force_count += 1
                self._force_last = now
                self.force_refreshes += 1
                self._valid.pop(current or "", None)  # forcing invalidates the current token
                current = None
            elif current is not None and left > STABLE_RENEW_BEFORE:
                return {"access_token": current, "expires_in": int(left.total_seconds())}
            # a new token; one renewed in its last minutes stays valid until it expires
            self._valid_token = self._issue()
            return {"access_token": self._valid_token,
                    "expires_in": int(TOKEN_LIFETIME.total_seconds())}
