"""Proactive (bot-initiated) messages: one interface, one implementation per channel.

Reminders, follow-up prompts, doctor replies and delayed WeChat replies all go
out through an :class:`OutboundRouter`, which picks the patient's channel's
:class:`OutboundSender`. Senders raise :class:`OutboundError` on failure; the
caller records it (nothing is dropped silently).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.errors import ConfigError, MedbotError

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store.db import Database


class OutboundError(MedbotError):
    """A proactive message could not be delivered.

    Attributes:
        retryable: whether trying again later may succeed.
    """

    def __init__(self, detail: str = "", *, retryable: bool = True, **params: object) -> None:
        super().__init__(detail, **params)
        self.retryable = retryable


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one patient.

    Attributes:
        channel: the patient's channel ("wechat", "rest", ...).
        external_id: the patient's id on that channel (e.g. a WeChat openid).
        text: the message, already rendered in the patient's language.
        kind: "reply" (answer to the patient's own message), "reminder",
            "followup", "doctor" or "notice"; channels use it to pick the right
            message type (e.g. a WeChat template message outside the 48 h window).
        template_data: values for a template message, when the channel needs one.
    """

    channel: str
    external_id: str
    text: str
    kind: str = "notice"
    language: str = "zh"
    template_data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    channel_message_id: str | None = None
    via: str = "direct"  # e.g. "custom", "template" for WeChat


class OutboundSender(Protocol):
    """Delivers messages on one channel. Implementations must be thread-safe."""

    channel: str

    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver ``message`` or raise :class:`OutboundError`."""
        ...


class OutboundRouter:
    """Sends each message through the sender registered for its channel."""

    def __init__(self, senders: Mapping[str, OutboundSender] | None = None) -> None:
        self._senders: dict[str, OutboundSender] = dict(senders or {})

    def register(self, sender: OutboundSender) -> None:
        self._senders[sender.channel] = sender

    def channels(self) -> list[str]:
        return sorted(self._senders)

    def started(self, channel: str, key: str, session: object = None) -> bool | None:
        """Whether ``channel``'s sender began sending the message of ``key`` (it records
        the key before calling its API): False means it certainly never reached the
        channel; None when the sender cannot tell (it keeps no such record).
        ``session``: the caller's transaction on the same database (SQLite has one writer)."""
        started = getattr(self._senders.get(channel), "started", None)
        return None if started is None else bool(started(key, session))

    def send(self, message: OutboundMessage) -> SendResult:
        sender = self._senders.get(message.channel)
        if sender is None:
            raise OutboundError(f"no outbound sender for channel {message.channel!r}",
                                retryable=False)
        return sender.send(message)


WECHAT_SENDER = "bot.wechat.outbound:outbound_sender"


def build_router(settings: Settings, db: Database, rest: OutboundSender) -> OutboundRouter:
    """The senders of ``settings``: ``rest`` (the REST outbox) always, then each
    ``module:factory`` of ``MEDBOT_OUTBOUND_SENDERS`` (``factory(settings, db)`` returns
    an ``OutboundSender``), and WeChat's whenever WeChat is configured. Imported by
    name so that the core never imports a channel's code it does not need."""
    router = OutboundRouter({"rest": rest})
    specs = list(settings.outbound_senders)
    if WECHAT_SENDER not in specs and settings.wechat_configured:
        specs.append(WECHAT_SENDER)  # WeChat is configured: reminders go out over it too
    for spec in specs:
        module, _, factory = spec.partition(":")
        try:
            sender = getattr(importlib.import_module(module), factory)(settings, db)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"MEDBOT_OUTBOUND_SENDERS: cannot load {spec!r}: {exc}") from exc
        router.register(sender)
    return router
