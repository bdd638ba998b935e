"""WeChat channel state: dedupe claims, subscriptions, the delivery log, shared token.

Exactly-once and token sharing are enforced by the database: the inbound claim
is an insert against a unique key, so a retry in any process loses the race.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean, CheckConstraint, Column, DateTime, Index, Integer, String, Text, UniqueConstraint,
)

from bot.clock import utcnow
from bot.store.models import Base, BigId


class WeChatInbound(Base):
    """One claimed inbound message: ``dedupe_key`` is MsgId, or openid+CreateTime+Event."""

    __tablename__ = "wechat_inbound"
    __table_args__ = (
        CheckConstraint("status IN ('processing', 'done', 'failed')",
                        name="ck_wechat_inbound_status"),
        CheckConstraint("delivery IN ('pending', 'passive', 'customer_service', 'none')",
                        name="ck_wechat_inbound_delivery"),
        Index("ix_wechat_inbound_created", "created_at"),
        UniqueConstraint("dedupe_key", name="uq_wechat_inbound_dedupe_key"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    dedupe_key = Column(String(200), nullable=False)
    openid = Column(String(128), nullable=False)
    status = Column(String(16), nullable=False, default="processing")
    delivery = Column(String(20), nullable=False, default="pending")
    reply_text = Column(Text, nullable=True)
    # The attempt running the turn refreshes ``heartbeat_at``; a retry that finds it
    # stale takes the turn over (the process died mid-turn). ``attempts`` counts owners.
    heartbeat_at = Column(DateTime(timezone=True), nullable=True)
    attempts = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class WeChatSubscription(Base):
    """Follow state and the 48-hour customer-service window of one openid."""

    __tablename__ = "wechat_subscriptions"
    __table_args__ = (UniqueConstraint("openid", name="uq_wechat_subscriptions_openid"),)

    id = Column(BigId, primary_key=True, autoincrement=True)
    openid = Column(String(128), nullable=False)
    subscribed = Column(Boolean, nullable=False, default=True)
    last_inbound_at = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class WeChatDelivery(Base):
    """Every outbound API send with its result; failures stay here to be retried or surfaced.

    A delivery log, not a queue (the REST channel's ``outbox_messages`` is the queue
    its clients poll); the table keeps its first name, ``wechat_outbox``.
    """

    __tablename__ = "wechat_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'suppressed')",
                        name="ck_wechat_outbox_status"),
        Index("ix_wechat_outbox_status", "status", "id"),
        Index("ix_wechat_outbox_key", "idempotency_key"),
    )

    id = Column(BigId, primary_key=True, autoincrement=True)
    openid = Column(String(128), nullable=False)
    kind = Column(String(32), nullable=False)
    method = Column(String(20), nullable=False)
    text = Column(Text, nullable=False)
    # why a subscription/template message went instead of a customer-service one:
    # ``window`` (no open grant), ``quota`` (the grants used up), ``45015``/``45047``
    # (WeChat refused the customer-service message); None for a customer-service send
    fallback = Column(String(16), nullable=True)
    # the scheduler job's key, written before the API is called: a job whose worker died
    # with no row here never reached WeChat and can be sent again (bot.reminders.worker)
    idempotency_key = Column(String(160), nullable=True)
    status = Column(String(16), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class WeChatToken(Base):
    """The access_token shared by every process (wechatpy#684), and the ledger of its
    force refreshes (getStableAccessToken allows 20 a Beijing day, 30 s apart)."""

    __tablename__ = "wechat_tokens"

    key = Column(String(128), primary_key=True)
    value = Column(Text, nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    force_day = Column(String(10), nullable=True)  # ISO date, Asia/Shanghai
    force_count = Column(Integer, nullable=False, default=0, server_default="0")
    force_last_at = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class WeChatReplay(Base):
    """The (timestamp, nonce, signature) of every accepted push, until its timestamp
    leaves the replay window: the primary key refuses a second use in any process."""

    __tablename__ = "wechat_replay"
    __table_args__ = (Index("ix_wechat_replay_expires", "expires_at"),)

    # SHA-256 hex of timestamp, nonce and signature (bounded size whatever the query holds)
    replay_key = Column(String(64), primary_key=True)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class WeChatQuota(Base):
    """The customer-service message ledger of one openid, shared by every process.

    WeChat allows customer-service messages only after the patient interacted: 5
    within 48 hours of a message (``message_at``), 3 within one minute of a menu
    click or a follow (``event_at``). Each new interaction opens a new grant (its
    ``*_used`` back to 0); a send reserves one message with a conditional UPDATE, so
    processes sending at once never pass the limit between them.
    """

    __tablename__ = "wechat_quota"

    openid = Column(String(128), primary_key=True)
    message_at = Column(DateTime(timezone=True), nullable=True)
    message_used = Column(Integer, nullable=False, default=0, server_default="0")
    event_at = Column(DateTime(timezone=True), nullable=True)
    event_used = Column(Integer, nullable=False, default=0, server_default="0")


class WeChatSubscribeStatus(Base):
    """A patient's answer to one long-term subscription template: ``offered`` (asked in
    chat, no answer yet), ``accept`` or ``reject`` (WeChat's subscribe_msg events). A
    ``reject`` is kept: that patient is never sent that template nor asked again."""

    __tablename__ = "wechat_subscribe_status"
    __table_args__ = (
        CheckConstraint("status IN ('offered', 'accept', 'reject')",
                        name="ck_wechat_subscribe_status_status"),
    )

    openid = Column(String(128), primary_key=True)
    template_id = Column(String(128), primary_key=True)
    status = Column(String(16), nullable=False)
    offered_at = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
