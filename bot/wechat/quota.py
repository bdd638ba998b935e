"""The customer-service message quota of each patient, in the database (every process).

WeChat lets an account send customer-service (客服) messages to a patient only after
the patient interacted: after a message, 5 within 48 hours; after a menu click or a
follow, 3 within one minute. Past that the API answers 45015 (no open window) or
45047 (quota used up) and the message must go another way (a subscription or
template message). ``QuotaLedger`` keeps the grants per openid (``wechat_quota``):

- ``grant`` (in the inbound claim's transaction) opens a new grant for an interaction;
- ``reserve`` takes one message from the grant that ends first and still has room,
  with a conditional UPDATE (atomic on SQLite and PostgreSQL: two processes never
  take the last message both), or returns None: the sender takes the fallback;
- ``release`` gives a reserved message back when WeChat did not deliver it;
- ``exhaust`` closes the grants when WeChat said 45015/45047 (another system on the
  AppID sent messages, or our count was wrong): the next sends fall back at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock, SystemClock, as_utc
from bot.store.db import Database
from bot.store.wechat_models import WeChatQuota

MESSAGE, EVENT = "message", "event"
MESSAGE_WINDOW, MESSAGE_LIMIT = timedelta(hours=48), 5
EVENT_WINDOW, EVENT_LIMIT = timedelta(minutes=1), 3
# the events after which WeChat opens the one-minute grant (a menu click of the
# click/scan types, a follow, a QR-code scan); other events (VIEW, unfollow) open none
GRANTING_EVENTS = frozenset({"click", "subscribe", "subscribe_scan", "scan",
                             "scancode_push", "scancode_waitmsg"})


def interaction(fields: dict[str, str]) -> str | None:
    """The grant an inbound push opens: ``message``, ``event`` or None."""
    if fields.get("MsgId") or (fields.get("MsgType") or "").lower() != "event":
        return MESSAGE
    return EVENT if (fields.get("Event") or "").lower() in GRANTING_EVENTS else None


@dataclass(frozen=True)
class Reservation:
    grant: str  # message | event
    opened_at: datetime


class QuotaLedger:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def grant(self, session: Session, openid: str, kind: str, at: datetime) -> None:
        """A new grant of ``kind`` from ``at`` (inside the caller's transaction)."""
        values = ({"message_at": at, "message_used": 0} if kind == MESSAGE
                  else {"event_at": at, "event_used": 0})
        if session.execute(update(WeChatQuota).where(WeChatQuota.openid == openid)
                           .values(**values)).rowcount:
            return
        try:
            with session.begin_nested():
                session.add(WeChatQuota(**{"openid": openid, "message_used": 0, "event_used": 0,
                                           **values}))
                session.flush()
        except IntegrityError:  # another process inserted the row first
            session.execute(update(WeChatQuota).where(WeChatQuota.openid == openid)
                            .values(**values))

    def open(self, openid: str, kind: str) -> None:
        """``grant`` in its own transaction (tests, tools)."""
        with self.db.begin() as session:
            self.grant(session, openid, kind, self.clock.now())

    def reserve(self, openid: str) -> Reservation | None:
        """One customer-service message, or None when WeChat would refuse it."""
        now = self.clock.now()
        with self.db.begin() as session:
            # the one-minute grant first: it ends first, the 48-hour one stays for later
            for grant, at, used, window, limit in (
                    (EVENT, WeChatQuota.event_at, WeChatQuota.event_used, EVENT_WINDOW,
                     EVENT_LIMIT),
                    (MESSAGE, WeChatQuota.message_at, WeChatQuota.message_used,
                     MESSAGE_WINDOW, MESSAGE_LIMIT)):
                taken = session.execute(
                    update(WeChatQuota).where(WeChatQuota.openid == openid, at > now - window,
                                              used < limit)
                    .values({used: used + 1})).rowcount
                if taken:  # the row stays locked until commit: its grant time is the one used
                    opened = session.execute(select(at).where(
                        WeChatQuota.openid == openid)).scalar_one()
                    return Reservation(grant, opened)
        return None

    def release(self, openid: str, reservation: Reservation) -> None:
        """Give back a message WeChat did not deliver (same grant only)."""
        at, used = ((WeChatQuota.event_at, WeChatQuota.event_used)
                    if reservation.grant == EVENT
                    else (WeChatQuota.message_at, WeChatQuota.message_used))
        with self.db.begin() as session:
            session.execute(update(WeChatQuota).where(
                WeChatQuota.openid == openid, at == reservation.opened_at, used > 0)
                .values({used: used - 1}))

    def exhaust(self, openid: str) -> None:
        """WeChat refused a customer-service message: no more until the next interaction."""
        with self.db.begin() as session:
            session.execute(update(WeChatQuota).where(WeChatQuota.openid == openid)
                            .values(message_used=MESSAGE_LIMIT, event_used=EVENT_LIMIT))

    def in_window(self, openid: str) -> bool:
        """Whether a grant is open (used up or not): to tell ``quota`` from ``window``."""
        return any(self.remaining(openid, count_used=False))

    def remaining(self, openid: str, count_used: bool = True) -> tuple[int, int]:
        """(message grant, event grant) messages left now."""
        now = self.clock.now()
        with self.db.begin() as session:
            row = session.execute(select(WeChatQuota).where(
                WeChatQuota.openid == openid)).scalar_one_or_none()
            if row is None:
                return 0, 0
            message_used, event_used = ((row.message_used, row.event_used) if count_used
                                        else (0, 0))
            return (_left(row.message_at, message_used, MESSAGE_WINDOW, MESSAGE_LIMIT, now),
                    _left(row.event_at, event_used, EVENT_WINDOW, EVENT_LIMIT, now))


def _left(at: datetime | None, used: int, window: timedelta, limit: int, now: datetime) -> int:
    if at is None or as_utc(at) <= now - window:
        return 0
    return max(limit - used, 0)
