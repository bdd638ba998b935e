"""Outbound WeChat messages: customer-service text inside the 48-hour window,
a template message outside it, every attempt recorded in ``wechat_outbox``.

``WeChatSender.send(openid, text, kind)`` is synchronous (wechatpy is); from
Sanic call it with ``asyncio.to_thread``. ``kind`` is ``reply`` for the answer to
a patient's own message (allowed even when they later unfollowed) or anything
else for proactive messages (reminders, follow-ups), which are suppressed for
patients who unfollowed. Failures are never dropped: the row stays ``failed``
with its error and ``retry_failed()`` sends it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from requests import RequestException
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot.clock import Clock, service_clock, utcnow
from bot.errors import ServiceError
from bot.logs import redact
from bot.masking import mask_openid
from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatDelivery
from bot.wechat.config import WeChatConfig
from bot.wechat.errors import is_token_error, retry_later, retry_now
from bot.wechat.state import WeChatState
from bot.wechat.token import SharedTokenClient, token_store

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str  # sent | failed | suppressed
    method: str  # custom | template | none
    error: str | None = None
    retryable: bool = False  # failed, and a later run may succeed


class WeChatSender:
    """Sends one text to one openid; ``bot.wechat.outbound`` adapts it to ``OutboundSender``."""

    def __init__(self, client: SharedTokenClient, db: Database, template_id: str = "",
                 attempts: int = 3, backoff: float = 0.2,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.db = db
        self.state = WeChatState(db)
        self.template_id = template_id
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep

    @classmethod
    def from_config(cls, config: WeChatConfig, db: Database, settings: Settings,
                    clock: Clock | None = None) -> WeChatSender:
        """The one client per process; ``token_store`` shares its token (Redis or ``db``)."""
        clock = clock or service_clock(settings)
        store = token_store(settings, db, f"wechat:{config.app_id}", clock)
        client = SharedTokenClient(config.app_id, config.app_secret, config.api_base, store,
                                   clock=clock)
        return cls(client, db, template_id=config.template_id)

    def send(self, recipient: str, text: str, kind: str = "reply",
             template_data: dict[str, str] | None = None) -> DeliveryOutcome:
        if kind != "reply" and not self.state.is_subscribed(recipient):
            row_id = self._record(recipient, kind, "none", text, "suppressed", 0, "unsubscribed")
            log.info("wechat.send.suppressed openid=%s kind=%s", mask_openid(recipient), kind)
            return DeliveryOutcome(row_id, "suppressed", "none", "unsubscribed")
        method = "custom" if self.state.in_service_window(recipient) else "template"
        if method == "template" and not self.template_id:
            error = "outside the 48-hour window and MEDBOT_WECHAT_TEMPLATE_ID is not set"
            row_id = self._record(recipient, kind, method, text, "failed", 0, error)
            log.error("wechat.send.failed openid=%s kind=%s error=%s", mask_openid(recipient),
                      kind, error)
            return DeliveryOutcome(row_id, "failed", method, error)
        row_id = self._record(recipient, kind, method, text, "pending", 0, None)
        return self._deliver(row_id, recipient, text, method, template_data)

    def retry_failed(self, limit: int = 100) -> list[DeliveryOutcome]:
        """Send failed rows again (e.g. from a worker or ``medbot wechat outbox --retry``)."""
        with self.db.begin() as session:
            rows = session.execute(select(WeChatDelivery).where(
                WeChatDelivery.status == "failed", WeChatDelivery.method != "none")
                .order_by(WeChatDelivery.id).limit(limit)).scalars().all()
            todo = [(r.id, r.openid, r.text, r.method) for r in rows]
        return [self._deliver(*item) for item in todo]

    def _deliver(self, row_id: int, openid: str, text: str, method: str,
                 template_data: dict[str, str] | None = None) -> DeliveryOutcome:
        error = None
        errcode: int | None = None
        attempts = 0
        for attempt in range(self.attempts):
            attempts = attempt + 1
            stale = None
            try:
                stale = self.client.access_token
                if method == "custom":
                    self.client.message.send_text(openid, text)
                else:
                    data = template_data or {"content": text}
                    self.client.message.send_template(
                        openid, self.template_id, {k: {"value": v} for k, v in data.items()})
                self._update(row_id, "sent", attempts, None)
                log.info("wechat.send.ok openid=%s method=%s attempts=%d",
                         mask_openid(openid), method, attempts)
                return DeliveryOutcome(row_id, "sent", method)
            except WeChatClientException as exc:
                error, errcode = redact(f"errcode={exc.errcode} errmsg={exc.errmsg}"), exc.errcode
                if is_token_error(errcode):
                    log.info("wechat.token.rejected errcode=%s", errcode)
                    self._refresh(stale, errcode)
                elif not retry_now(errcode):
                    break
            except (RequestException, RuntimeError, ServiceError) as exc:
                error = redact(f"{type(exc).__name__}: {exc}")  # URLs carry access_token
                errcode = None
            if attempt + 1 < self.attempts:
                self.sleep(self.backoff * (2 ** attempt))
        self._update(row_id, "failed", attempts, error)
        log.error("wechat.send.failed openid=%s method=%s attempts=%d error=%s",
                  mask_openid(openid), method, attempts, error)
        return DeliveryOutcome(row_id, "failed", method, error, retryable=retry_later(errcode))

    def _refresh(self, stale: str | None, errcode: int | None) -> None:
        try:
            self.client.refresh_token(stale=stale, errcode=errcode)
        except (WeChatClientException, RequestException, RuntimeError, ServiceError):
            log.exception("wechat.token.refresh_failed")

    def _record(self, openid: str, kind: str, method: str, text: str, status: str,
                attempts: int, error: str | None) -> int:
        now = utcnow()
        with self.db.begin() as session:
            row = WeChatDelivery(openid=openid, kind=kind, method=method, text=text, status=status,
                                 attempts=attempts, last_error=redact(error) if error else None,
                                 created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            return row.id

    def _update(self, row_id: int, status: str, attempts: int, error: str | None) -> None:
        with self.db.begin() as session:
            row = session.get(WeChatDelivery, row_id)
            row.status = status
            row.attempts = (row.attempts or 0) + attempts
            row.last_error = redact(error) if error else None  # URLs carry access_token
