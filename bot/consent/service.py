"""Consent decisions: ask, record, withdraw; erasure requests.

Every decision is a new ``ConsentRecord`` (append-only): the latest record per
purpose is the patient's current status. Functions taking a ``Session`` join
the caller's transaction (the conversation gate records a decision and starts
a handoff atomically).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.consent.texts import PURPOSES, ConsentTexts, ShownText
from bot.errors import ValidationError
from bot.store.consent_models import ConsentPrompt, ConsentRecord
from bot.store.models import Patient


@dataclass(frozen=True)
class ConsentStatus:
    purpose: str
    decision: str | None  # None: never asked/answered
    version: str | None
    decided_at: datetime | None

    @property
    def granted(self) -> bool:
        return self.decision == "granted"


class ConsentService:
    """Use cases around consent records and pending consent questions."""

    def __init__(self, texts: ConsentTexts) -> None:
        self.texts = texts

    # -- status ---------------------------------------------------------------------
    def status(self, session: Session, patient_id: int, purpose: str) -> ConsentStatus:
        _check_purpose(purpose)
        row = session.execute(
            select(ConsentRecord).where(ConsentRecord.patient_id == patient_id,
                                        ConsentRecord.purpose == purpose)
            .order_by(ConsentRecord.id.desc()).limit(1)).scalar_one_or_none()
        if row is None:
            return ConsentStatus(purpose, None, None, None)
        return ConsentStatus(purpose, row.decision, row.text_version, row.created_at)

    def history(self, session: Session, patient_id: int) -> list[ConsentRecord]:
        return list(session.execute(
            select(ConsentRecord).where(ConsentRecord.patient_id == patient_id)
            .order_by(ConsentRecord.id)).scalars())

    # -- questions ------------------------------------------------------------------
    def ask(self, session: Session, patient: Patient, conversation_id: str, purpose: str,
            lang: str, context: dict[str, Any] | None = None) -> ShownText:
        """Record that the consent question for ``purpose`` is shown; return its text.

        A pending question for the same purpose is refreshed (one per patient and
        purpose, enforced by a partial unique index).
        """
        shown = self.texts.consent(purpose, lang)
        prompt = self.pending(session, patient.id, purpose)
        if prompt is None:
            prompt = ConsentPrompt(patient_id=patient.id, conversation_id=conversation_id,
                                   purpose=purpose, status="pending", asked=0)
            session.add(prompt)
        prompt.text_version, prompt.text_sha256 = shown.version, shown.sha256
        prompt.language, prompt.conversation_id = lang, conversation_id
        prompt.context_json = json.dumps(context or {}, ensure_ascii=False)
        prompt.asked = (prompt.asked or 0) + 1
        session.flush()
        return shown

    def pending(self, session: Session, patient_id: int, purpose: str) -> ConsentPrompt | None:
        return session.execute(
            select(ConsentPrompt).where(ConsentPrompt.patient_id == patient_id,
                                        ConsentPrompt.purpose == purpose,
                                        ConsentPrompt.status == "pending")
        ).scalar_one_or_none()

    def drop(self, session: Session, prompt: ConsentPrompt) -> None:
        prompt.status, prompt.answered_at = "dropped", utcnow()

    def answer(self, session: Session, prompt: ConsentPrompt, decision: str,
               message_id: int | None, handoff_id: int | None = None) -> ConsentRecord:
        """Record the patient's decision on the text the prompt showed."""
        if decision not in ("granted", "declined"):
            raise ValidationError(f"not a consent answer: {decision!r}")
        prompt.status, prompt.answered_at = "answered", utcnow()
        record = ConsentRecord(
            patient_id=prompt.patient_id, purpose=prompt.purpose,
            text_version=prompt.text_version, text_sha256=prompt.text_sha256,
            language=prompt.language, decision=decision, message_id=message_id,
            handoff_id=handoff_id, created_at=utcnow())
        session.add(record)
        session.flush()
        return record

    # -- withdrawal -----------------------------------------------------------------
    def withdraw(self, session: Session, patient: Patient, lang: str,
                 message_id: int | None) -> list[str]:
        """Withdraw every granted consent; returns the purposes withdrawn.

        The withdrawal record points at the version the patient had agreed to.
        Pending questions are dropped.
        """
        withdrawn = []
        for purpose in PURPOSES:
            latest = session.execute(
                select(ConsentRecord).where(ConsentRecord.patient_id == patient.id,
                                            ConsentRecord.purpose == purpose)
                .order_by(ConsentRecord.id.desc()).limit(1)).scalar_one_or_none()
            if latest is None or latest.decision != "granted":
                continue
            session.add(ConsentRecord(
                patient_id=patient.id, purpose=purpose, text_version=latest.text_version,
                text_sha256=latest.text_sha256, language=lang, decision="withdrawn",
                message_id=message_id, created_at=utcnow()))
            withdrawn.append(purpose)
        session.execute(update(ConsentPrompt).where(
            ConsentPrompt.patient_id == patient.id, ConsentPrompt.status == "pending"
        ).values(status="dropped", answered_at=utcnow()))
        session.flush()
        return withdrawn


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValidationError(f"unknown consent purpose {purpose!r}")
