"""A fake WeChat API server (``/cgi-bin/...``) on 127.0.0.1, in a thread.

Like the real one, issuing a token invalidates the previous one (so processes
that do not share a token break each other, wechatpy#684). Control it from the
test: ``fail_next(40001)``, ``delay = 6.0``; inspect ``sent`` and ``tokens_issued``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


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
    tokens_issued: int = 0
    _failures: list[int] = field(default_factory=list)
    _valid_token: str | None = None
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
                self.tokens_issued += 1
                self._valid_token = f"token-{self.tokens_issued}-{time.monotonic_ns()}"
                return {"access_token": self._valid_token, "expires_in": 7200}
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            if self._failures:
                code = self._failures.pop(0)
                return {"errcode": code, "errmsg": f"fake failure {code}"}
            if query.get("access_token") != self._valid_token:
                return {"errcode": 40001, "errmsg": "invalid credential"}
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {"errcode": 47001, "errmsg": "data format error"}
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
