"""Consent under PIPL: versioned texts, decisions, withdrawal and erasure requests."""

from bot.consent.service import ConsentService, ConsentStatus
from bot.consent.texts import ConsentTexts, ShownText, parse_decision

__all__ = ["ConsentService", "ConsentStatus", "ConsentTexts", "ShownText", "parse_decision"]
