"""NLU training data and held-out set: the intent contract, counts, no overlap.

Pure Python (no rasa): files are read with bot.nlp.nludata.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bot.kb.lexicon import ENTITY_SOURCES, Lexicon
from bot.nlp.nludata import Example, detect_script, normalise_text, read_nlu
from bot.nlp.segment import MixedSegmenter
from bot.settings import PROJECT_ROOT

TRAIN_DIR = PROJECT_ROOT / "nlu_data" / "nlu"
HELDOUT = PROJECT_ROOT / "nlu_data" / "tests" / "nlu_heldout.yml"
# Every held-out file (nlu_heldout.yml and the later nlu_heldout_fresh.yml).
HELDOUT_FILES = sorted((PROJECT_ROOT / "nlu_data" / "tests").glob("nlu_heldout*.yml"))

CONTRACT = (
    "greet", "goodbye", "affirm", "deny", "thank", "ask_capabilities",
    "book_appointment", "cancel_appointment", "reschedule_appointment", "list_appointments",
    "report_symptoms", "request_revisit", "set_medication_reminder",
    "list_medication_reminders", "cancel_medication_reminder", "dose_taken", "dose_skipped",
    "snooze_reminder", "report_reading", "request_human", "withdraw_consent",
    "delete_my_data", "ask_hospital_info", "switch_language",
)
FALLBACK = "nlu_fallback"
MIN_TRAIN = {"zh": 40, "en": 25, "mixed": 5}
MIN_HELDOUT = {"zh": 12, "en": 8, "mixed": 2}


@pytest.fixture(scope="module")
def train() -> list[Example]:
    return read_nlu([TRAIN_DIR])


@pytest.fixture(scope="module")
def heldout() -> list[Example]:
    return read_nlu([HELDOUT])


@pytest.fixture(scope="module")
def all_heldout() -> list[Example]:
    return read_nlu(HELDOUT_FILES)


def test_heldout_is_outside_the_training_directory() -> None:
    assert HELDOUT in HELDOUT_FILES and len(HELDOUT_FILES) >= 2
    assert all(TRAIN_DIR not in f.parents for f in HELDOUT_FILES)


def test_intents_are_exactly_the_contract(train: list[Example], heldout: list[Example]) -> None:
    expected = set(CONTRACT) | {FALLBACK}
    assert {e.intent for e in train} == expected
    assert {e.intent for e in heldout} == expected


@pytest.mark.parametrize("intent", CONTRACT)
def test_training_counts_per_language(train: list[Example], intent: str) -> None:
    counts = Counter(e.lang for e in train if e.intent == intent)
    for lang, minimum in MIN_TRAIN.items():
        assert counts[lang] >= minimum, f"{intent}: {counts[lang]} {lang} examples < {minimum}"


@pytest.mark.parametrize("intent", (*CONTRACT, FALLBACK))
def test_heldout_counts_per_language(heldout: list[Example], intent: str) -> None:
    counts = Counter(e.lang for e in heldout if e.intent == intent)
    for lang, minimum in MIN_HELDOUT.items():
        assert counts[lang] >= minimum, f"{intent}: {counts[lang]} {lang} held-out < {minimum}"


def test_heldout_does_not_overlap_training(train: list[Example], all_heldout: list[Example]) -> None:
    seen = {normalise_text(e.text) for e in train}
    overlap = [e.text for e in all_heldout if normalise_text(e.text) in seen]
    assert overlap == []


def test_no_duplicates_or_contradictions(train: list[Example], all_heldout: list[Example]) -> None:
    for examples in (train, all_heldout):
        keys = Counter(normalise_text(e.text) for e in examples)
        assert [k for k, n in keys.items() if n > 1] == []


def test_heldout_language_tags_match_the_text(all_heldout: list[Example]) -> None:
    # Only text with Han characters or Latin letters tells its language.
    wrong = [(e.lang, e.text) for e in all_heldout
             if detect_script(e.text) != e.lang and any(c.isalpha() for c in e.text)]
    assert wrong == []


def test_entity_types_are_the_contract(train: list[Example], heldout: list[Example]) -> None:
    types = {ent.entity for e in train + heldout for ent in e.entities}
    assert types <= set(ENTITY_SOURCES)
    assert {"symptom", "department", "drug", "condition"} <= types


def test_every_entity_resolves_to_a_knowledge_base_id(
        train: list[Example], all_heldout: list[Example], lexicon: Lexicon) -> None:
    unknown = [(ent.entity, ent.text, e.text) for e in train + all_heldout for ent in e.entities
               if lexicon.resolve(ent.entity, ent.value or ent.text) is None]
    assert unknown == []


def test_entity_annotations_align_with_tokens(
        train: list[Example], all_heldout: list[Example], segmenter: MixedSegmenter) -> None:
    misaligned = []
    for example in train + all_heldout:
        tokens = segmenter.segment(example.text)
        starts, ends = {t.start for t in tokens}, {t.end for t in tokens}
        misaligned += [(ent.text, example.text) for ent in example.entities
                       if ent.start not in starts or ent.end not in ends]
    assert misaligned == []


def test_heldout_has_entities_of_every_type(heldout: list[Example]) -> None:
    counts = Counter(ent.entity for e in heldout for ent in e.entities)
    assert all(counts[t] >= 5 for t in ENTITY_SOURCES), counts
