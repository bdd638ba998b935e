"""The REST/terminal side of proactive messages: an outbox table and a poll endpoint.

``OutboxSender`` (an ``OutboundSender`` for channel "rest") stores each message
in ``outbox_messages``; a repeated idempotency key is dropped by the unique
constraint, so re-sending after a crash never shows a message twice. A REST
client (or ``medbot chat``) polls ``GET /outbox/<sender>?after=<id>`` on the
scheduler worker's small HTTP server (``OutboxServer``, default port 5056),
which also answers ``GET /health`` for the supervisor.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.i18n import bilingual
from bot.outbound import OutboundError, OutboundMessage, SendResult
from bot.store.db import Database
from bot.store.reminder_models import OutboxMessage

log = logging.getLogger(__name__)


class OutboxSender:
    """Delivers to the REST channel by writing the outbox; thread-safe."""

    def __init__(self, db: Database, clock: Clock, channel: str = "rest") -> None:
        self.db = db
        self.clock = clock
        self.channel = channel

    def send(self, message: OutboundMessage) -> SendResult:
        key = getattr(message, "idempotency_key", None) or f"adhoc:{id(message)}:{self.clock.now()}"
        try:
            with self.db.begin() as session:
                row = OutboxMessage(channel=message.channel, external_id=message.external_id,
                                    kind=message.kind, language=message.language,
                                    text=message.text, idempotency_key=key,
                                    created_at=self.clock.now())
                session.add(row)
                session.flush()
                return SendResult(channel_message_id=str(row.id), via="outbox")
        except IntegrityError:
            with self.db.begin() as session:
                existing = session.execute(select(OutboxMessage.id).where(
                    OutboxMessage.idempotency_key == key)).scalar_one()
            log.info("outbox.duplicate_dropped key=%s", key)
            return SendResult(channel_message_id=str(existing), via="outbox")

    def poll(self, external_id: str, after: int = 0, limit: int = 50) -> list[dict]:
        with self.db.begin() as session:
            rows = session.execute(select(OutboxMessage).where(
                OutboxMessage.channel == self.channel, OutboxMessage.external_id == external_id,
                OutboxMessage.id > after).order_by(OutboxMessage.id).limit(limit)).scalars()
            return [{"id": r.id, "kind": r.kind, "language": r.language, "text": r.text}
                    for r in rows]


class OutboxServer:
    """``GET /outbox/<sender>?after=N`` -> JSON list; ``GET /health`` -> ok."""

    def __init__(self, sender: OutboxSender, host: str, port: int,
                 token: str | None = None) -> None:
        outbox = sender

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                if parts.path == "/health":
                    return self._reply(200, {"status": "ok"})
                if token is not None and not bearer_ok(self.headers.get("Authorization"),
                                                       token):
                    return self._reply(401, {"error": bilingual("utter_rest_unauthorized")})
                if parts.path.startswith("/outbox/"):
                    recipient = unquote(parts.path.removeprefix("/outbox/"))
                    try:
                        after = int((parse_qs(parts.query).get("after") or ["0"])[0])
                    except ValueError:
                        return self._reply(400, {"error": "after must be an integer"})
                    return self._reply(200, outbox.poll(recipient, after))
                return self._reply(404, {"error": "not found"})

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="outbox-http",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def bearer_ok(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time compare)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def fetch_outbox(base_url: str, sender: str, after: int = 0, timeout: float = 5.0,
                 token: str | None = None) -> list[dict]:
    """Client side of the poll endpoint (for ``medbot chat`` / REST clients).

    Args:
        base_url: the worker's HTTP address, e.g. ``http://127.0.0.1:5056``.
        sender: the REST conversation id.
        after: the last message id already shown.
    """
    import urllib.error
    import urllib.request
    from urllib.parse import quote

    url = f"{base_url.rstrip('/')}/outbox/{quote(sender, safe='')}?after={after}"
    try:
        request = urllib.request.Request(url, headers=auth_headers(token))
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - local
            return json.loads(resp.read().decode("utf-8") or "[]")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise OutboundError(f"outbox not reachable at {base_url}: {exc}") from exc
