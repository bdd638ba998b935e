"""Free text to :class:`~bot.triage.case.TriageCase`.

Symptoms come from the KB synonyms (zh + en, longest match, negation scope);
age, sex, pregnancy, duration, severity and temperature from
:mod:`bot.triage.facts`; red-flag answers from the red-flag screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n.detect import detect_language
from bot.triage import facts
from bot.triage.case import RedFlagHit, TriageCase, Vitals
from bot.triage.matcher import Scan
from bot.triage.red_flags import RedFlagScreen
from bot.triage.text import HISTORY, few_words
from bot.triage.understanding import Reading

_IMPLIES_PREGNANCY = {"reduced_fetal_movement", "water_breaking"}
# features that are by nature about the past and count when told so
_TOLD_IN_THE_PAST = frozenset({"doctor_checked"})


@dataclass(frozen=True)
class Extraction:
    """What one message says: the case, the red flags it raised, the scan."""

    case: TriageCase
    hits: tuple[RedFlagHit, ...]
    scan: Scan


def extract(text: str, screen: RedFlagScreen, lang: str | None = None,
            not_learned: frozenset[str] = frozenset()) -> Extraction:
    """Read a free-text description into a case; unstated facts stay ``None``.

    Args:
        not_learned: symptom ids the learned layer may not add on its own (those
            that make a case an emergency by themselves: only the screen, with its
            vetoes, decides an emergency).
    """
    scan = screen.scan(text)
    symptom_ids = screen.knowledge.symptoms
    present = scan.present_ids()
    order = [m.id for m in scan.mentions if m.present]
    symptoms = tuple(dict.fromkeys(s for s in order if s in symptom_ids))
    reading = screen.reading(scan)
    temperature = facts.temperature_c(scan)
    symptoms += _learned_symptoms(reading, scan, not_learned, temperature)
    subsumes = screen.knowledge.rules.get("subsumes") or {}
    covered = {g for s in symptoms for g in subsumes.get(s, ())}
    symptoms = tuple(s for s in symptoms if s not in covered)
    # a feature the patient denies ("骨头按着不疼", "no leg numbness") is recorded as no_<id>
    # a check-up is told in the past ("the optician looked last week and said it's fine")
    present = present | {m.id for m in scan.mentions if m.id in _TOLD_IN_THE_PAST
                         and m.status == HISTORY}
    features = tuple(sorted(f for f in present if f in screen.knowledge.features)) + tuple(
        sorted("no_" + f for f in scan.negated_ids() if f in screen.knowledge.features))
    pregnant, weeks = facts.pregnancy(scan)
    if pregnant is None and present & _IMPLIES_PREGNANCY:
        pregnant = True
    bp, glucose = facts.blood_pressure(scan), facts.glucose_mmol(scan)
    measured = _measured_symptoms(bp, glucose, temperature)
    symptoms += tuple(s for s in measured if s not in symptoms)
    hits = screen.hits(scan, extra=set(measured))
    case = TriageCase(
        symptoms=symptoms,
        duration_days=facts.duration_days(scan),
        severity=facts.severity(scan),
        age_years=facts.age_years(scan),
        sex=facts.sex(scan) or ("female" if pregnant else None),
        pregnant=pregnant,
        pregnancy_weeks=weeks,
        vitals=Vitals(temperature_c=temperature,
                      systolic_bp=bp[0] if bp else None, glucose_mmol=glucose),
        red_flag_answers=screen.answers(scan, hits),
        features=features,
        self_report=facts.self_report(scan),
        subject=_subject(reading, scan),
        language=lang or detect_language(text, "zh"),
    )
    return Extraction(case, tuple(hits), scan)


def _learned_symptoms(reading: Reading | None, scan: Scan, not_learned: frozenset[str],
                      temperature: float | None) -> tuple[str, ...]:
    """Symptoms the learned layer reads that the lexicon did not mention at all
    (a negated or past mention is the lexicon's call); fever is decided by a
    written temperature when there is one."""
    if reading is None:
        return ()
    mentioned = {m.id for m in scan.mentions}
    if mentioned and few_words(scan.text, han=6, latin=4):
        # "肚子疼", "我眼睛痛": the lexicon read the whole complaint; what the heads
        # add to a few words is their neighbours in the corpus (diarrhoea, red eye)
        return ()
    out = []
    for symptom, _ in sorted(reading.symptoms.items(), key=lambda kv: -kv[1]):
        if symptom in mentioned or symptom in not_learned:
            continue
        if symptom == "fever" and temperature is not None:
            continue
        out.append(symptom)
    return tuple(out)


def _subject(reading: Reading | None, scan: Scan) -> str | None:
    """Who the patient is: self, child, parent, spouse or other; a relative the writer
    names as their own ("我爸…") wins over the learned layer's guess."""
    if (named := facts.kin_subject(scan)) is not None:
        return named
    if reading is not None and reading.subject is not None:
        return reading.subject
    return "self" if facts.self_report(scan) else None


def _measured_symptoms(bp: tuple[int, int] | None, glucose: float | None,
                       temperature: float | None) -> tuple[str, ...]:
    """Symptoms implied by measurements (T >= 38, BP >= 140/90, glucose < 3.9 or >= 11.1)."""
    out = ["fever"] if temperature is not None and temperature >= 38.0 else []
    if bp and (bp[0] >= 140 or bp[1] >= 90):
        out.append("high_blood_pressure")
    if glucose is not None and glucose < 3.9:
        out.append("low_blood_sugar")
    elif glucose is not None and glucose >= 11.1:
        out.append("high_blood_sugar")
    return tuple(out)
