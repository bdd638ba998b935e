"""Exactly-once claims, follow state and the 48-hour window, in the database.

``claim`` inserts first: the unique ``dedupe_key`` decides which attempt runs
the bot, in any process. Every method is one transaction; call them through
``asyncio.to_thread`` from Sanic handlers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock, SystemClock, as_utc, utcnow
from bot.store.db import Database
from bot.store.wechat_models import WeChatInbound, WeChatSubscription
from bot.wechat.quota import MESSAGE, QuotaLedger

SERVICE_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class InboundState:
    status: str
    delivery: str
    reply_text: str | None
    heartbeat_at: datetime | None = None

    def abandoned(self, stale_after: timedelta, now: datetime | None = None) -> bool:
        """Still processing, but its owner stopped beating: the process died mid-turn."""
        if self.status != "processing":
            return False
        return self.heartbeat_at is None or (now or utcnow()) - as_utc(self.heartbeat_at) \
            > stale_after


class WeChatState:
    """Use cases on the WeChat tables."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.quota = QuotaLedger(db, self.clock)

    def claim(self, dedupe_key: str, openid: str, grant: str | None = None) -> bool:
        """True for the first attempt of a message; also records the inbound time and
        opens the customer-service grant the interaction gives (``bot.wechat.quota``;
        ``grant`` None: ``message`` for a message's ``msg:`` key, none for an event)."""
        now = self.clock.now()
        if grant is None and dedupe_key.startswith("msg:"):
            grant = MESSAGE
        with self.db.begin() as session:
            try:
                with session.begin_nested():
                    session.add(WeChatInbound(dedupe_key=dedupe_key, openid=openid,
                                              status="processing", delivery="pending",
                                              heartbeat_at=now, attempts=1,
                                              created_at=now, updated_at=now))
                    session.flush()
            except IntegrityError:
                return False
            self._touch(session, openid, now)
            if grant is not None:
                self.quota.grant(session, openid, grant, now)
            return True

    def heartbeat(self, dedupe_keys: Iterable[str]) -> None:
        """The turns this process is running are alive."""
        keys = list(dedupe_keys)
        if not keys:
            return
        with self.db.begin() as session:
            session.execute(update(WeChatInbound).where(
                WeChatInbound.dedupe_key.in_(keys), WeChatInbound.status == "processing")
                .values(heartbeat_at=utcnow()))

    def take_over(self, dedupe_key: str, stale_after: timedelta) -> bool:
        """Claim an abandoned turn; exactly one retry, in any process, wins."""
        now = utcnow()
        with self.db.begin() as session:
            result = session.execute(update(WeChatInbound).where(
                WeChatInbound.dedupe_key == dedupe_key, WeChatInbound.status == "processing",
                or_(WeChatInbound.heartbeat_at.is_(None),
                    WeChatInbound.heartbeat_at < now - stale_after))
                .values(heartbeat_at=now, attempts=WeChatInbound.attempts + 1, updated_at=now))
            return result.rowcount == 1

    def finish(self, dedupe_key: str, reply_text: str | None, delivery: str,
               status: str = "done") -> None:
        with self.db.begin() as session:
            session.execute(update(WeChatInbound).where(WeChatInbound.dedupe_key == dedupe_key)
                            .values(status=status, delivery=delivery, reply_text=reply_text,
                                    updated_at=utcnow()))

    def defer(self, dedupe_key: str) -> None:
        """The first attempt gave up waiting: retries answer ``success`` at once."""
        with self.db.begin() as session:
            session.execute(update(WeChatInbound).where(WeChatInbound.dedupe_key == dedupe_key)
                            .values(delivery="customer_service", updated_at=utcnow()))

    def get(self, dedupe_key: str) -> InboundState | None:
        with self.db.begin() as session:
            row = session.execute(select(WeChatInbound).where(
                WeChatInbound.dedupe_key == dedupe_key)).scalar_one_or_none()
            return None if row is None else InboundState(row.status, row.delivery, row.reply_text,
                                                         row.heartbeat_at)

    def purge(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Delete claims older than ``older_than`` (WeChat retries within ~15 s)."""
        with self.db.begin() as session:
            result = session.execute(delete(WeChatInbound).where(
                WeChatInbound.created_at < utcnow() - older_than))
            return result.rowcount or 0

    def set_subscribed(self, openid: str, subscribed: bool) -> None:
        with self.db.begin() as session:
            row = self._touch(session, openid, utcnow() if subscribed else None)
            row.subscribed = subscribed

    def is_subscribed(self, openid: str) -> bool:
        with self.db.begin() as session:
            row = self._row(session, openid)
            return row is None or bool(row.subscribed)

    def in_service_window(self, openid: str, now: datetime | None = None) -> bool:
        """Whether a customer-service message may be sent (last inbound < 48 h ago)."""
        with self.db.begin() as session:
            row = self._row(session, openid)
            if row is None or row.last_inbound_at is None:
                return False
            return (now or utcnow()) - as_utc(row.last_inbound_at) < SERVICE_WINDOW

    @staticmethod
    def _row(session, openid: str) -> WeChatSubscription | None:
        return session.execute(select(WeChatSubscription).where(
            WeChatSubscription.openid == openid)).scalar_one_or_none()

    def _touch(self, session, openid: str, inbound_at: datetime | None) -> WeChatSubscription:
        row = self._row(session, openid)
        if row is None:
            try:
                with session.begin_nested():
                    row = WeChatSubscription(openid=openid, subscribed=True,
                                             last_inbound_at=inbound_at, updated_at=utcnow())
                    session.add(row)
                    session.flush()
                return row
            except IntegrityError:
                row = self._row(session, openid)
                assert row is not None
        if inbound_at is not None:
            row.last_inbound_at = inbound_at
            # any message from the patient means they follow the account again
            row.subscribed = True
        return row
