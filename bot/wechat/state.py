"""Exactly-once claims, follow state and the 48-hour window, in the database.

``claim`` inserts first: the unique ``dedupe_key`` decides which attempt runs
the bot, in any process. Every method is one transaction; call them through
``asyncio.to_thread`` from Sanic handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import utcnow
from bot.store.wechat_models import WeChatInbound, WeChatSubscription

SERVICE_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class InboundState:
    status: str
    delivery: str
    reply_text: str | None


class WeChatState:
    """Use cases on the WeChat tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, dedupe_key: str, openid: str) -> bool:
        """True for the first attempt of a message; also records the inbound time."""
        now = utcnow()
        with self.db.begin() as session:
            try:
                with session.begin_nested():
                    session.add(WeChatInbound(dedupe_key=dedupe_key, openid=openid,
                                              status="processing", delivery="pending",
                                              created_at=now, updated_at=now))
                    session.flush()
            except IntegrityError:
                return False
            self._touch(session, openid, now)
            return True

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
            return None if row is None else InboundState(row.status, row.delivery, row.reply_text)

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
            last = row.last_inbound_at
            if last.tzinfo is None:  # SQLite drops the zone; values are written in UTC
                from datetime import timezone
                last = last.replace(tzinfo=timezone.utc)
            return (now or utcnow()) - last < SERVICE_WINDOW

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
