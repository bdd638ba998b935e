"""The WeChat implementation of ``bot.outbound.OutboundSender`` (reminders, follow-ups).

Register it in the scheduler worker with
``MEDBOT_OUTBOUND_SENDERS=bot.wechat.outbound:outbound_sender``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.outbound import OutboundError, OutboundMessage, SendResult
from bot.settings import Settings
from bot.store.db import Database
from bot.wechat.config import WeChatConfig, load_wechat_config
from bot.wechat.sender import WeChatSender


class WeChatOutboundSender:
    """``send(OutboundMessage)``: customer-service or template message; raises on failure.

    Every attempt is also recorded in the delivery log (``WeChatDelivery``) by ``WeChatSender``.
    """

    channel = "wechat"

    def __init__(self, sender: WeChatSender) -> None:
        self.sender = sender

    @classmethod
    def from_config(cls, config: WeChatConfig, db: Database, settings: Settings
                    ) -> WeChatOutboundSender:
        return cls(WeChatSender.from_config(config, db, settings))

    def started(self, idempotency_key: str, session: Session | None = None) -> bool:
        """Whether the send of a scheduler job began (``OutboundRouter.started``)."""
        return self.sender.started(idempotency_key, session)

    def send(self, message: OutboundMessage) -> SendResult:
        result = self.sender.send(message.external_id, message.text, message.kind,
                                  template_data=dict(message.template_data) or None,
                                  language=message.language,
                                  idempotency_key=getattr(message, "idempotency_key", None))
        if result.status == "sent":
            return SendResult(channel_message_id=f"wechat_outbox:{result.delivery_id}",
                              via=result.method)
        error = result.error or result.status
        raise OutboundError(f"wechat send {result.status}: {error}",
                            retryable=result.retryable)


def outbound_sender(settings: Settings, db: Database) -> WeChatOutboundSender:
    """Factory for ``MEDBOT_OUTBOUND_SENDERS`` (``module:factory(settings, db)``)."""
    return WeChatOutboundSender.from_config(load_wechat_config(settings), db, settings)
