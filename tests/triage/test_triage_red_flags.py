"""The red-flag screen: every probe, the brief's examples, API shape and speed."""

from __future__ import annotations

import time

import pytest

from bot.triage import RedFlagHit, screen

from triage_testdata import jsonl

PROBES = (jsonl("red_flag_probes.jsonl") + jsonl("red_flag_probes_holdout.jsonl")
          + jsonl("red_flag_probes_holdout2.jsonl") + jsonl("red_flag_probes_holdout3.jsonl"))


@pytest.mark.parametrize("probe", PROBES, ids=[p["id"] for p in PROBES])
def test_probe(triage, probe):
    fired = {hit.category for hit in triage.screen.hits(triage.screen.scan(probe["message"]))}
    if probe["expect"]:
        assert probe["expect"] in fired
    else:
        assert fired == set(), probe["kind"]


def test_probe_set_covers_every_kind():
    kinds = {p["kind"] for p in PROBES}
    assert {"positive", "negation", "history", "question", "control"} <= kinds
    assert len(PROBES) >= 60
    assert {p["lang"] for p in PROBES} >= {"zh", "en", "mixed"}


@pytest.mark.parametrize("text", [
    "没有胸痛，就是咳嗽",
    "my dad had a stroke years ago, I want his follow-up",
    "心梗有什么症状",
])
def test_brief_controls_are_not_emergencies(text):
    assert screen(text) is None


def test_brief_positive_is_cardiac():
    hit = screen("我想挂下周的心内科，刚才胸口压着疼还一直出汗", "zh")
    assert isinstance(hit, RedFlagHit)
    assert hit.category == "cardiac_chest_pain"
    assert hit.action == "call_120"
    assert "120" in hit.message("zh") and "120" in hit.message("en")
    assert hit.message("en").isascii() is False or "heart" in hit.message("en")


def test_code_mixed_text_fires():
    assert screen("my mom 突然嘴歪了 and can't talk properly").category == "stroke_fast"
    assert screen("我胸口好痛 and I'm sweating a lot").category == "cardiac_chest_pain"


def test_advice_is_bilingual():
    hit = screen("I want to kill myself", "en")
    assert hit.category == "suicidal_intent"
    assert "12356" in hit.advice.en and "12356" in hit.advice.zh
    assert hit.to_dict("en")["advice"] == hit.advice.en


def test_screen_is_fast(triage):
    triage.screen.screen("warm up")
    texts = [p["message"] for p in PROBES]
    start = time.perf_counter()
    for _ in range(10):
        for text in texts:
            triage.screen.screen(text)
    per_call = (time.perf_counter() - start) / (10 * len(texts))
    assert per_call < 0.005, per_call
