"""Triage: red-flag screen, free-text extraction, and the rule engine.

Pure Python (no Rasa). Entry points:

* :func:`screen` - is this inbound message an emergency? (channel boundary)
* :class:`Triage` - text or case to :class:`TriageResult`, shared by chat and CLI
* :class:`bot.triage.service.TriageService` - the same, stored as a ``TriageRecord``
"""

from bot.triage.case import Reason, RedFlagHit, TriageCase, TriageResult, Vitals
from bot.triage.kb import LEVELS, Bilingual, TriageKnowledge, default_knowledge, load_knowledge
from bot.triage.pipeline import Triage, default_triage
from bot.triage.red_flags import RedFlagScreen, default_screen, screen

__all__ = [
    "LEVELS", "Bilingual", "Reason", "RedFlagHit", "RedFlagScreen", "Triage", "TriageCase",
    "TriageKnowledge", "TriageResult", "Vitals", "default_knowledge", "default_screen",
    "default_triage", "load_knowledge", "screen",
]
