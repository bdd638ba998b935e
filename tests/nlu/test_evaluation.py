"""bot.nlp.evaluation: intent, per-language, entity and fallback scores."""

from __future__ import annotations

import pytest

from bot.nlp.evaluation import (
    Prediction, build_report, check_targets, confusion, entity_scores, format_table,
    intent_scores, macro_f1,
)
from bot.nlp.nludata import parse_annotated, read_nlu_file


def p(gold: str, pred: str, lang: str = "zh", gold_e=(), pred_e=()) -> Prediction:
    return Prediction("t", lang, gold, pred, 0.9, tuple(gold_e), tuple(pred_e))


def test_intent_scores_and_macro_f1() -> None:
    preds = [p("greet", "greet"), p("greet", "thank"), p("thank", "thank"), p("thank", "thank")]
    scores = intent_scores(preds)
    assert scores["greet"].precision == 1.0 and scores["greet"].recall == 0.5
    assert scores["thank"].precision == pytest.approx(2 / 3) and scores["thank"].recall == 1.0
    assert macro_f1(preds) == pytest.approx((2 / 3 + 0.8) / 2)
    assert confusion(preds)["greet"] == {"greet": 1, "thank": 1}


def test_entity_scores_compare_canonical_values_per_message() -> None:
    gold = [("symptom", 1, 3, "headache")]
    preds = [
        p("report_symptoms", "report_symptoms", gold_e=gold, pred_e=[("symptom", 0, 3, "headache")]),
        p("report_symptoms", "report_symptoms", gold_e=gold, pred_e=[("symptom", 1, 3, "fever")]),
    ]
    value = entity_scores(preds)
    assert (value.precision, value.recall) == (0.5, 0.5)
    span = entity_scores(preds, key=lambda i, e: (i, e[0], e[1], e[2]))
    assert (span.precision, span.recall) == (0.5, 0.5)


def test_report_per_language_and_fallback() -> None:
    preds = [
        p("greet", "greet", "zh"), p("greet", "greet", "en"),
        p("nlu_fallback", "nlu_fallback", "en"), p("nlu_fallback", "book_appointment", "zh"),
        p("thank", "nlu_fallback", "mixed"),
    ]
    report = build_report(preds)
    assert set(report.languages) == {"zh", "en", "mixed"}
    assert report.fallback["precision"] == 0.5
    assert report.fallback["recall"] == 0.5
    assert report.fallback["out_of_scope_to_transactional"] == 1
    failures = check_targets(report, min_intent_f1=0.95, min_mixed_f1=0.9,
                             min_entity_f1=0.9, min_fallback_precision=0.95)
    assert any("fallback precision" in f for f in failures)
    assert any("transactional" in f for f in failures)
    assert any(f.startswith("mixed") for f in failures)
    assert "fallback: precision=0.500" in format_table(report)


def test_all_targets_met() -> None:
    preds = [p("greet", "greet", lang) for lang in ("zh", "en", "mixed")]
    report = build_report(preds)
    assert report.fallback["precision"] == 1.0  # nothing refused
    assert check_targets(report, min_intent_f1=0.95, min_mixed_f1=0.9,
                         min_entity_f1=0.0, min_fallback_precision=0.95) == []


def test_prediction_from_dict() -> None:
    pred = Prediction.from_dict({
        "text": "我头疼", "lang": "zh", "gold_intent": "report_symptoms", "pred_intent": None,
        "gold_entities": [{"entity": "symptom", "start": 1, "end": 3, "value": "headache"}],
    })
    assert pred.pred_intent == "nlu_fallback"
    assert pred.gold_entities == (("symptom", 1, 3, "headache"),)


def test_parse_annotated_offsets() -> None:
    text, entities = parse_annotated('帮我book明天[cardiology](department)的号，[头疼]{"entity": "symptom", "value": "headache"}')
    assert text == "帮我book明天cardiology的号，头疼"
    dep, sym = entities
    assert text[dep.start:dep.end] == "cardiology" and dep.entity == "department"
    assert text[sym.start:sym.end] == "头疼" and sym.value == "headache"


def test_read_nlu_file_language_from_metadata_or_name(tmp_path) -> None:
    f = tmp_path / "x_en.yml"
    f.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n'
                 '- intent: greet\n  metadata: {lang: mixed}\n  examples: |\n    - hi 你好\n'
                 '- synonym: a\n  examples: |\n    - b\n', encoding="utf-8")
    examples = read_nlu_file(f)
    assert [(e.text, e.lang) for e in examples] == [("hi", "en"), ("hi 你好", "mixed")]
