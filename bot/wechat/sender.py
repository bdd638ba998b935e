"""Outbound WeChat messages: a customer-service text while the patient's quota
allows one (``bot.wechat.quota``: 5 within 48 h of a message, 3 within a minute of a
click or follow), a template message otherwise, every attempt recorded in
``wechat_outbox``.

The fallback is taken, on the same outbox row, when the ledger has no message left
(``fallback`` = ``window`` or ``quota``) and when WeChat refuses the customer-service
message with 45015 or 45047 (``fallback`` = the code; the ledger is then closed until
the patient's next interaction). A fallback is never dropped: without a template id
the row stays ``failed`` with the reason, listed by ``medbot wechat outbox``.

``WeChatSender.send(openid, text, kind)`` is synchronous (wechatpy is); from
Sanic call it with ``asyncio.to_thread``. ``kind`` is ``reply`` for the answer to
a patient's own message (allowed even when they later unfollowed) or anything
else for proactive messages (reminders, follow-ups), which are suppressed for
patients who unfollowed. Failures are never dropped: the row stays ``failed``
with its error and ``retry_failed()`` sends it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from requests import RequestException
from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from bot.clock import Clock, service_clock, utcnow
from bot.errors import ServiceError
from bot.logs import redact
from bot.masking import mask_openid
from bot.settings import Settings
from bot.store.db import Database
from bot.store.wechat_models import WeChatDelivery
from bot.wechat.config import WeChatConfig
from bot.wechat.errors import is_token_error, retry_later, retry_now, takes_fallback
from bot.i18n import t
from bot.wechat.quota import QuotaLedger
from bot.wechat.state import WeChatState
from bot.wechat.subscribe import CATALOG_FILE, SubscribeAnswers, SubscriptionCatalog, Template
from bot.wechat.token import SharedTokenClient, token_store

log = logging.getLogger(__name__)

SUBSCRIPTION_REFUSED = 43101  # bizsend: the patient refused (or turned off) the template



@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str  # sent | failed | suppressed
    method: str  # custom | template | none
    error: str | None = None
    retryable: bool = False  # failed, and a later run may succeed
    errcode: int | None = None  # WeChat's, of the last attempt
    fallback: str | None = None  # why not a customer-service message (window|quota|45015|45047)


class WeChatSender:
    """Sends one text to one openid; ``bot.wechat.outbound`` adapts it to ``OutboundSender``."""

    def __init__(self, client: SharedTokenClient, db: Database, template_id: str = "",
                 attempts: int = 3, backoff: float = 0.2,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Clock | None = None,
                 catalog: SubscriptionCatalog | None = None) -> None:
        self.client = client
        self.db = db
        self.state = WeChatState(db, clock)
        self.quota: QuotaLedger = self.state.quota
        self.catalog = catalog or SubscriptionCatalog()
        self._key = threading.local()  # the key of the send in progress on this thread
        self.answers = SubscribeAnswers(db, self.state.clock)
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
        path = (Path(settings.wechat_subscriptions_file) if settings.wechat_subscriptions_file
                else settings.project_root / CATALOG_FILE)
        catalog = SubscriptionCatalog.load(path) if path.exists() else None
        return cls(client, db, template_id=config.template_id, clock=clock, catalog=catalog)

    def send(self, recipient: str, text: str, kind: str = "reply",
             template_data: dict[str, str] | None = None, language: str = "zh",
             idempotency_key: str | None = None) -> DeliveryOutcome:
        """``idempotency_key``: the scheduler job's, recorded on the outbox row before
        any API call (``started``)."""
        self._key.value = idempotency_key
        if kind != "reply" and not self.state.is_subscribed(recipient):
            row_id = self._record(recipient, kind, "none", text, "suppressed", 0, "unsubscribed")
            log.info("wechat.send.suppressed openid=%s kind=%s", mask_openid(recipient), kind)
            return DeliveryOutcome(row_id, "suppressed", "none", "unsubscribed")
        return self._route(None, recipient, text, kind, template_data, language=language)

    def _offer(self, openid: str, kind: str, language: str) -> tuple[str, str] | None:
        """(template id, the offer text) when this patient should be offered the kind's
        subscription: configured, never answered, not offered in the last week."""
        config = self.catalog.get(kind)
        if (kind == "reply" or config is None or config.subscribe is None
                or not self.catalog.subscribe_url):
            return None
        template_id = config.subscribe.template_id
        if not self.answers.should_offer(openid, template_id):
            return None
        lang = language if language in config.name else "zh"
        return template_id, t("utter_wechat_subscribe_offer", lang, what=config.name[lang],
                              url=self.catalog.subscribe_url)

    def _route(self, row_id: int | None, openid: str, text: str, kind: str,
               template_data: dict[str, str] | None, reason: str | None = None,
               language: str = "zh") -> DeliveryOutcome:
        """A customer-service message if the ledger has one left, else the fallback;
        ``row_id``, ``reason``: the outbox row to reuse and why it took the fallback
        before (a retry)."""
        reservation = self.quota.reserve(openid)
        if reservation is None:
            reason = reason or ("quota" if self.quota.in_window(openid) else "window")
            return self._fallback(row_id, openid, text, kind, template_data, reason)
        if row_id is None:
            row_id = self._record(openid, kind, "custom", text, "pending", 0, None)
        else:
            self._reroute(row_id, "custom", None)
        offer = self._offer(openid, kind, language)
        body = text if offer is None else f"{text}\n\n{offer[1]}"  # in the same message
        outcome = self._deliver(row_id, openid, body, "custom")
        if outcome.status == "sent":
            if offer is not None:
                self.answers.offered(openid, offer[0])
            return outcome
        self.quota.release(openid, reservation)  # WeChat did not deliver it
        if not takes_fallback(outcome.errcode):
            return outcome
        self.quota.exhaust(openid)  # WeChat knows better: none until the next interaction
        log.info("wechat.send.fallback openid=%s errcode=%s", mask_openid(openid),
                 outcome.errcode)
        return self._fallback(row_id, openid, text, kind, template_data, str(outcome.errcode))

    def _fallback(self, row_id: int | None, openid: str, text: str, kind: str,
                  template_data: dict[str, str] | None, reason: str) -> DeliveryOutcome:
        """The message as a long-term subscription message if the patient accepted the
        kind's template, else as a template message, on the same outbox row, with
        ``reason`` (why not a customer-service message)."""
        config = self.catalog.get(kind)
        values = dict(template_data or {})
        ways: list[tuple[str, Template]] = []
        if config is not None and config.subscribe is not None and self.answers.status(
                openid, config.subscribe.template_id) == "accept":
            ways.append(("subscribe", config.subscribe))
        if config is not None and config.template is not None:
            ways.append(("template", config.template))
        elif self.template_id:  # the one general template: the text, or the given fields
            fields = {k: k for k in values} or {"content": "text"}
            ways.append(("template", Template(self.template_id, fields)))
        outcome: DeliveryOutcome | None = None
        for method, template in ways:
            if row_id is None:
                row_id = self._record(openid, kind, method, text, "pending", 0, None, reason)
            else:
                self._reroute(row_id, method, reason)
            outcome = self._deliver(row_id, openid, text, method, (template, values))
            if outcome.status == "sent":
                break
            if method == "subscribe" and outcome.errcode == SUBSCRIPTION_REFUSED:
                self.answers.record(openid, template.template_id, "reject")
        if outcome is None:
            if row_id is None:
                row_id = self._record(openid, kind, "template", text, "pending", 0, None, reason)
            else:
                self._reroute(row_id, "template", reason)
            error = (f"no customer-service message allowed ({reason}) and no subscription or "
                     f"template message configured for {kind!r} "
                     f"(knowledge_base/wechat_subscriptions.yml, MEDBOT_WECHAT_TEMPLATE_ID is "
                     f"not set)")
            self._update(row_id, "failed", 0, error)
            log.error("wechat.send.failed openid=%s kind=%s error=%s", mask_openid(openid),
                      kind, error)
            return DeliveryOutcome(row_id, "failed", "template", error, fallback=reason)
        return DeliveryOutcome(outcome.delivery_id, outcome.status, outcome.method,
                               outcome.error, outcome.retryable, outcome.errcode, reason)

    def started(self, idempotency_key: str, session: Session | None = None) -> bool:
        """Whether a send of this scheduler job began (its outbox row exists);
        ``session``: the caller's transaction on this database, else one of its own."""
        query = select(WeChatDelivery.id).where(
            WeChatDelivery.idempotency_key == idempotency_key).limit(1)
        if session is not None:
            return session.execute(query).first() is not None
        with self.db.begin() as own:
            return own.execute(query).first() is not None

    def retry_failed(self, limit: int = 100) -> list[DeliveryOutcome]:
        """Send failed rows again (e.g. from a worker or ``medbot wechat outbox --retry``):
        as a customer-service message if the ledger allows one now (the patient wrote
        again), else as the fallback."""
        with self.db.begin() as session:
            rows = session.execute(select(WeChatDelivery).where(
                WeChatDelivery.status == "failed", WeChatDelivery.method != "none")
                .order_by(WeChatDelivery.id).limit(limit)).scalars().all()
            todo = [(r.id, r.openid, r.text, r.kind, r.fallback) for r in rows]
        self._key.value = None  # the rows keep theirs
        return [self._route(row_id, openid, text, kind, None, reason)
                for row_id, openid, text, kind, reason in todo]

    def _deliver(self, row_id: int, openid: str, text: str, method: str,
                 template: tuple[Template, dict[str, str]] | None = None) -> DeliveryOutcome:
        """One message by ``method`` (custom | template | subscribe; the last two with
        their template and the message's values), bounded attempts."""
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
                    assert template is not None
                    spec, values = template
                    body = {"touser": openid, "template_id": spec.template_id,
                            "data": spec.data(text, values)}
                    if method == "subscribe":
                        if self.catalog.subscribe_url:
                            body["page"] = self.catalog.subscribe_url
                        self.client.post("message/subscribe/bizsend", data=body)
                    else:
                        self.client.post("message/template/send", data=body)
                self._update(row_id, "sent", attempts, None)
                log.info("wechat.send.ok openid=%s method=%s attempts=%d",
                         mask_openid(openid), method, attempts)
                return DeliveryOutcome(row_id, "sent", method)
            except WeChatClientException as exc:
                if method == "custom" and takes_fallback(exc.errcode):
                    # no retry: the caller sends it as the fallback on this row
                    error = redact(f"errcode={exc.errcode} errmsg={exc.errmsg}")
                    self._update(row_id, "failed", attempts, error)
                    return DeliveryOutcome(row_id, "failed", method, error, True, exc.errcode)
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
        return DeliveryOutcome(row_id, "failed", method, error, retryable=retry_later(errcode),
                               errcode=errcode)

    def _refresh(self, stale: str | None, errcode: int | None) -> None:
        try:
            self.client.refresh_token(stale=stale, errcode=errcode)
        except (WeChatClientException, RequestException, RuntimeError, ServiceError):
            log.exception("wechat.token.refresh_failed")

    def _record(self, openid: str, kind: str, method: str, text: str, status: str,
                attempts: int, error: str | None, fallback: str | None = None) -> int:
        now = utcnow()
        with self.db.begin() as session:
            row = WeChatDelivery(openid=openid, kind=kind, method=method, text=text, status=status,
                                 attempts=attempts, last_error=redact(error) if error else None,
                                 fallback=fallback, created_at=now, updated_at=now,
                                 idempotency_key=getattr(self._key, "value", None))
            session.add(row)
            session.flush()
            return row.id

    def _update(self, row_id: int, status: str, attempts: int, error: str | None) -> None:
        with self.db.begin() as session:
            row = session.get(WeChatDelivery, row_id)
            row.status = status
            row.attempts = (row.attempts or 0) + attempts
            row.last_error = redact(error) if error else None  # URLs carry access_token

    def _reroute(self, row_id: int, method: str, fallback: str | None) -> None:
        with self.db.begin() as session:
            row = session.get(WeChatDelivery, row_id)
            row.method, row.fallback, row.status = method, fallback, "pending"
