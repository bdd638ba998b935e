"""The re-visit eligibility gate: every rule, and exactly why a request fails.

Eligible only when all hold:

1. the condition is in ``conditions.yml`` and marked ``revisit_eligible``;
2. there is evidence of an in-person diagnosis of *that* condition
   (institution, date, diagnosis text naming the condition; record number optional);
3. the diagnosis date is not in the future and within the validity window
   (default 180 days, ``hospital_schedule.yml: revisits.evidence_validity_days``);
4. the red-flag screen was run and is negative;
5. the patient answered "no" to "any new or worse symptoms?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.kb.catalog import TermCatalog
from bot.revisits.catalog import Condition

DEFAULT_VALIDITY_DAYS = 180


@dataclass(frozen=True)
class Evidence:
    """A prior in-person diagnosis, as the patient reports it."""

    institution: str
    diagnosed_on: date | None
    diagnosis: str
    record_number: str | None = None


@dataclass(frozen=True)
class RevisitDraft:
    """Everything the gate looks at. ``None`` means "not asked/answered yet"."""

    condition_id: str | None
    evidence: Evidence | None
    red_flags_negative: bool | None
    new_or_worse_symptoms: bool | None
    drug_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """Why a request is not eligible: an ``utter_*`` key and its parameters."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def params_in(self, lang: str) -> dict[str, object]:
        """Parameters with bilingual values (``{"zh":..,"en":..}``) resolved to ``lang``."""
        return {k: (v.get(lang, "") if isinstance(v, dict) else v) for k, v in self.params.items()}


@dataclass(frozen=True)
class Eligibility:
    reasons: tuple[Reason, ...]
    condition: Condition | None = None

    @property
    def eligible(self) -> bool:
        return not self.reasons


class EligibilityPolicy:
    """Checks a draft against the rules; pure, no I/O."""

    def __init__(self, conditions: TermCatalog, validity_days: int = DEFAULT_VALIDITY_DAYS) -> None:
        self.conditions = conditions
        self.validity_days = validity_days

    def check(self, draft: RevisitDraft, today: date) -> Eligibility:
        """All reasons the draft fails (empty = eligible), in the order a patient fixes them."""
        reasons: list[Reason] = []
        condition = self.conditions.get(draft.condition_id)
        if not isinstance(condition, Condition):
            return Eligibility((Reason("utter_revisit_reason_unknown_condition"),))
        names = {"condition": dict(condition.names)}
        if not condition.revisit_eligible:
            reasons.append(Reason("utter_revisit_reason_condition_not_eligible", names))
        evidence = draft.evidence
        if (evidence is None or not evidence.institution.strip()
                or not evidence.diagnosis.strip() or evidence.diagnosed_on is None):
            reasons.append(Reason("utter_revisit_reason_no_evidence", names))
        else:
            if not self.conditions.mentions(evidence.diagnosis, condition.id):
                reasons.append(Reason("utter_revisit_reason_diagnosis_mismatch", names))
            age = (today - evidence.diagnosed_on).days
            if age < 0:
                reasons.append(Reason("utter_revisit_reason_evidence_in_future"))
            elif age > self.validity_days:
                reasons.append(Reason("utter_revisit_reason_evidence_too_old",
                                      {"days": age, "validity_days": self.validity_days}))
        if draft.red_flags_negative is not True:
            reasons.append(Reason("utter_revisit_reason_red_flag"))
        if draft.new_or_worse_symptoms is not False:
            reasons.append(Reason("utter_revisit_reason_new_symptoms"))
        return Eligibility(tuple(reasons), condition)
