"""``TriageService``: assess and store every decision as a ``TriageRecord``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.store.db import Database
from bot.store.triage_models import TriageRecord
from bot.triage.case import TriageCase, TriageResult
from bot.triage.pipeline import Assessment, Triage, default_triage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredAssessment:
    case: TriageCase
    result: TriageResult
    record_id: int


class TriageService:
    """Use case: triage a patient's description and keep the decision.

    Args:
        db: the application database (one transaction per assessment).
        triage: the pipeline; the process-wide default when omitted.
    """

    def __init__(self, db: Database, triage: Triage | None = None) -> None:
        self.db = db
        self.triage = triage or default_triage()

    def assess_text(self, text: str, lang: str | None = None, *, channel: str = "cli",
                    conversation_id: str | None = None, patient_id: int | None = None,
                    **known: Any) -> StoredAssessment:
        """Assess free text (plus known facts, see ``Triage.assess_text``) and store it."""
        assessment = self.triage.assess_text(text, lang, **known)
        record_id = self.record(assessment, text=text, channel=channel,
                                conversation_id=conversation_id, patient_id=patient_id)
        return StoredAssessment(assessment.case, assessment.result, record_id)

    def record(self, assessment: Assessment, *, text: str | None, channel: str,
               conversation_id: str | None = None, patient_id: int | None = None) -> int:
        case, result = assessment.case, assessment.result
        lang = case.language
        row = TriageRecord(
            patient_id=patient_id,
            conversation_id=conversation_id,
            channel=channel,
            language=lang,
            input_text=text,
            case_json=json.dumps(case.to_dict(), ensure_ascii=False, sort_keys=True),
            level=result.level,
            departments_json=json.dumps(list(result.departments)),
            red_flags_json=json.dumps([h.to_dict(lang) for h in result.red_flags],
                                      ensure_ascii=False),
            reasons_json=json.dumps([{"rule": r.rule, "zh": r.text.zh, "en": r.text.en}
                                     for r in result.reasons], ensure_ascii=False),
            ruleset=result.ruleset,
        )
        with self.db.begin() as session:
            session.add(row)
            session.flush()
            record_id = int(row.id)
        log.info("triage.recorded", extra={"record_id": record_id, "level": result.level,
                                           "channel": channel})
        return record_id

    def records(self, conversation_id: str) -> list[TriageRecord]:
        """Decisions of one conversation, oldest first."""
        with self.db.begin() as session:
            stmt = select(TriageRecord).where(
                TriageRecord.conversation_id == conversation_id).order_by(TriageRecord.id)
            return list(session.execute(stmt).scalars().all())
