"""Offering a doctor handoff: the explanation and the consent question.

Triggers (``request_human``, an urgent triage the patient may accept, an
abnormal follow-up reading, two fallbacks in a row) all end here. The offer
records a pending handoff consent question; the conversation gate handles
the patient's answer ("同意" queues the handoff, "不同意" offers the hospital
phone or an in-person visit).
"""

from __future__ import annotations

from typing import Any

from bot.consent.service import ConsentService
from bot.handoff.service import HandoffService
from bot.i18n import t
from bot.identity import conversation_id
from bot.store.repositories import PatientRepository

REASONS = ("request_human", "urgent_triage", "abnormal_reading", "fallbacks")
_LEAD = {"urgent_triage": "utter_handoff_offer_urgent",
         "abnormal_reading": "utter_handoff_offer_reading",
         "fallbacks": "utter_handoff_offer_fallbacks"}


class HandoffOffers:
    def __init__(self, consent: ConsentService, handoffs: HandoffService) -> None:
        self.consent = consent
        self.handoffs = handoffs
        self.db = handoffs.db
        self.patients = PatientRepository()

    def offer(self, channel: str, external_id: str, reason: str, lang: str,
              department: str | None = None, extra: dict[str, Any] | None = None) -> list[str]:
        """The texts to show; a pending handoff consent question is recorded."""
        if reason not in REASONS:
            raise ValueError(f"unknown handoff reason {reason!r}")
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            active = self.handoffs.active(session, patient.id)
            if active is not None:
                ahead = self.handoffs.position(session, active).ahead
                return [t("utter_handoff_already", lang, ahead=ahead)]
            context = {"reason": reason, "department": department, **(extra or {})}
            shown = self.consent.ask(session, patient, conversation_id(channel, external_id),
                                     "handoff", lang, context)
        lead = _LEAD.get(reason)
        return ([t(lead, lang)] if lead else []) + [shown.text]
