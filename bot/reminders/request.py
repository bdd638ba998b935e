"""What one message says about a medication reminder, and how it changes the draft.

A reminder's drug, dose and schedule come only from the message that states them
(or from the answer to the form's question). A message that names another drug
than the draft being filled is a new request: nothing of the old draft is carried
over, so "remind me to take valsartan 80mg every morning at 7" after an abandoned
"amlodipine 5mg" draft never becomes "valsartan 5 mg". The patient is never read
from a message at all (it is the conversation's sender).
"""

from __future__ import annotations

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
