"""Rasa's REST channel with medbot's channel boundary (transcripts)."""

from __future__ import annotations

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.settings import Settings
from channels.boundary import ChannelBoundary, OnNewMessage


class RestChannel(RestInput):
    """POST ``/webhooks/rest/webhook`` with ``{"sender", "message", "metadata"}``."""

    def __init__(self, boundary: ChannelBoundary) -> None:
        self.boundary = boundary

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestChannel:
        return cls(ChannelBoundary.from_settings(cls.name(), Settings.from_env()))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return self.boundary.attach(super().blueprint(self.boundary.wrap(on_new_message)))
