"""What one message says about a medication reminder, and how it changes the draft.

A reminder's drug, dose and schedule come only from the message that states them
(or from the answer to the form's question). A message that names another drug
than the draft being filled is a new request: nothing of the old draft is carried
over, so "remind me to take valsartan 80mg every morning at 7" after an abandoned
"amlodipine 5mg" draft never becomes "valsartan 5 mg". The patient is never read
from a message at all (it is the conversation's sender).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.errors import ValidationError
from bot.kb.drugs import DrugCatalog
from bot.reminders import sig

FIELDS = ("drug", "dose", "schedule")


@dataclass(frozen=True)
class Stated:
    """The reminder values one message states; None where it states none.

    Attributes:
        drug: the drug id named.
        dose: the message, when it states a dose ("80mg", "1片", "按医嘱").
        schedule: the message, when it states a readable daily schedule (the course,
            "吃14天", is read from the same text).
    """

    drug: str | None = None
    dose: str | None = None
    schedule: str | None = None


def read_message(text: str, drugs: DrugCatalog, drug_names: Iterable[str] = ()) -> Stated:
    """What ``text`` states (``drug_names``: the NLU's drug entities, tried first).

    A schedule the message names but that cannot be kept (e.g. "every week") is not
    stated: the form asks for it and explains.
    """
    drug = next((d for d in (drugs.resolve(str(n)) for n in drug_names) if d), None)
    drug = drug or drugs.find(text)
    try:
        schedule = text if sig.parse_schedule(text) else None
    except ValidationError:
        schedule = None
    return Stated(drug.id if drug else None, text if sig.parse_dose(text) else None, schedule)


def apply(draft: dict[str, str | None], stated: Stated) -> dict[str, str | None]:
    """The draft after this message: ``draft`` maps "drug", "dose", "schedule".

    A message naming a drug other than the draft's starts over: only what it states
    is kept. Otherwise what it states replaces the draft's value (the newest word
    wins, "不对，是80mg") and the rest of the draft stays.
    """
    new_request = stated.drug is not None and draft.get("drug") not in (None, stated.drug)
    values = {name: getattr(stated, name) for name in FIELDS}
    if new_request:
        return values
    return {name: values[name] if values[name] is not None else draft.get(name)
            for name in FIELDS}


# -- what a message about existing reminders asks for --------------------------------
# The NLU names the intent; these readings settle what the intent alone does not:
# "set a reminder" that was "pause my valsartan reminder" or "my reminders", a
# cancellation that is a pause or a resume, a list request that wants the health
# summary, the measurement a follow-up is about.

_SUMMARY = re.compile(r"最近|记录|小结|总结|依从|summary|history|recent|how have i")
_PAUSE = re.compile(r"暂停|先停|pause|hold")
_RESUME = re.compile(r"恢复|继续提醒|resume|restart|turn .* back on")
_FOLLOWUP = re.compile(r"测血压|量血压|测血糖|量血糖|随访|监测|follow[- ]?up|check my (?:blood )?"
                       r"(?:pressure|sugar|glucose)|(?:blood pressure|bp|glucose|sugar) (?:check|"
                       r"reading|monitoring)")
_ABOUT_REMINDERS = re.compile(r"提醒|(?<![a-z])reminders?(?![a-z])")
_PAUSE_OR_RESUME = re.compile(r"暂停|先停|恢复|(?<![a-z])(?:pause|resume)(?![a-z])|turn .* back on")
# "my reminders", "我的提醒": a request to see them, naming no medicine, dose or time
_LISTS_REMINDERS = re.compile(
    r"^\s*(?:(?:show|list|see|view|check)(?: me)?\s+)?(?:all\s+)?(?:my\s+)?(?:medication\s+|medicine\s+|"
    r"pill\s+|meds?\s+)?reminders(?:\s+(?:please|pls|plz))?\s*[?？!.。]*\s*$"
    r"|^\s*(?:查看|看看|看一下)?(?:我的|我有哪些|有哪些)(?:用药)?提醒(?:吧|呢)?\s*[?？]?\s*$")
_MEASURES = (("bp", re.compile(r"血压|blood pressure|\bbp\b|pressure")),
             ("glucose", re.compile(r"血糖|glucose|sugar")))


def lists_reminders(text: str) -> bool:
    """"my reminders", "show me my reminders", "我的提醒": the list, not a new reminder."""
    return bool(_LISTS_REMINDERS.search((text or "").lower()))


def pauses_a_reminder(text: str) -> bool:
    """"pause my valsartan reminder", "恢复提醒": about an existing reminder (no dose named)."""
    low = (text or "").lower()
    return bool(_ABOUT_REMINDERS.search(low) and _PAUSE_OR_RESUME.search(low)
                and not sig.parse_dose(text))


def wants_summary(text: str) -> bool:
    """"最近血压怎么样", "show my history": the health summary, not the reminder list."""
    return bool(_SUMMARY.search((text or "").lower()))


def wants_followup(text: str) -> bool:
    """"提醒我每周测血压": a measurement follow-up, not a medicine."""
    return bool(_FOLLOWUP.search((text or "").lower()))


def status_change(text: str) -> str:
    """The reminder status a change request asks for: ``paused`` ("暂停", "pause"),
    ``active`` ("恢复", "resume") or ``cancelled`` (anything else)."""
    low = (text or "").lower()
    return "paused" if _PAUSE.search(low) else "active" if _RESUME.search(low) else "cancelled"


def measures(text: str) -> list[str]:
    """The measurements a message names: ``bp``, ``glucose``."""
    low = (text or "").lower()
    return [measure for measure, pattern in _MEASURES if pattern.search(low)]
