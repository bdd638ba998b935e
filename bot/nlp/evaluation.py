"""NLU metrics from predictions on the held-out set (plain Python).

The predictions come from ``components/nlu_predict.py`` (a child process that
loads the Rasa model); this module only counts. Scores:

* intent precision / recall / F1 per intent, and macro-F1 per language
  (``zh``, ``en``, ``mixed``) over the intents present in that language;
* entity F1, micro, on canonical values: a predicted ``(entity, id)`` counts
  when the gold annotation of the same message resolves to the same
  knowledge-base id (what the actions receive); span-exact F1 is reported too;
* fallback: precision and recall of ``nlu_fallback`` and how many
  out-of-scope messages were taken for a transactional intent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

FALLBACK = "nlu_fallback"
# Intents that change something for the patient: out-of-scope text must never land here.
TRANSACTIONAL = frozenset({
    "book_appointment", "cancel_appointment", "reschedule_appointment",
    "request_revisit", "set_medication_reminder", "cancel_medication_reminder",
    "withdraw_consent", "delete_my_data",
})


@dataclass(frozen=True)
class Prediction:
    """One held-out message with its gold labels and the model's output."""

    text: str
    lang: str
    gold_intent: str
    pred_intent: str
    confidence: float = 0.0
    gold_entities: tuple[tuple[str, int, int, str], ...] = ()  # (entity, start, end, value)
    pred_entities: tuple[tuple[str, int, int, str], ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        def ents(items: Iterable[dict[str, Any]]) -> tuple[tuple[str, int, int, str], ...]:
            return tuple((e["entity"], int(e["start"]), int(e["end"]), str(e["value"]))
                         for e in items)
        return cls(data["text"], data["lang"], data["gold_intent"], data["pred_intent"] or FALLBACK,
                   float(data.get("confidence") or 0.0), ents(data.get("gold_entities", [])),
                   ents(data.get("pred_entities", [])))


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "support": self.support}


def _prf(tp: int, fp: int, fn: int) -> Scores:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp + fn)


def intent_scores(preds: Sequence[Prediction]) -> dict[str, Scores]:
    """Per gold intent; a label predicted but never gold gets support 0."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for p in preds:
        if p.pred_intent == p.gold_intent:
            tp[p.gold_intent] += 1
        else:
            fp[p.pred_intent] += 1
            fn[p.gold_intent] += 1
    labels = sorted({p.gold_intent for p in preds} | set(fp))
    return {label: _prf(tp[label], fp[label], fn[label]) for label in labels}


def macro_f1(preds: Sequence[Prediction]) -> float:
    """Mean F1 over the gold intents of ``preds`` (0.0 when empty)."""
    scores = intent_scores(preds)
    gold = {p.gold_intent for p in preds}
    return sum(scores[g].f1 for g in gold) / len(gold) if gold else 0.0


def entity_scores(preds: Sequence[Prediction],
                  key: Callable[[int, tuple[str, int, int, str]], tuple] | None = None) -> Scores:
    """Micro P/R/F1 of entities; ``key`` picks what must match (default: type + value)."""
    key = key or (lambda i, e: (i, e[0], e[3].lower()))
    gold = Counter(key(i, e) for i, p in enumerate(preds) for e in p.gold_entities)
    pred = Counter(key(i, e) for i, p in enumerate(preds) for e in p.pred_entities)
    tp = sum((gold & pred).values())
    return _prf(tp, sum(pred.values()) - tp, sum(gold.values()) - tp)


def confusion(preds: Sequence[Prediction]) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = defaultdict(dict)
    for p in preds:
        row = matrix[p.gold_intent]
        row[p.pred_intent] = row.get(p.pred_intent, 0) + 1
    return {g: dict(sorted(r.items())) for g, r in sorted(matrix.items())}


@dataclass
class Report:
    intents: dict[str, Scores]
    languages: dict[str, dict[str, float | int]]
    entity_value: Scores
    entity_span: Scores
    entity_by_type: dict[str, Scores]
    fallback: dict[str, float | int]
    confusion: dict[str, dict[str, int]]
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "intents": {k: v.as_dict() for k, v in self.intents.items()},
            "languages": self.languages,
            "entities": {"value": self.entity_value.as_dict(), "span": self.entity_span.as_dict(),
                         "by_type": {k: v.as_dict() for k, v in self.entity_by_type.items()}},
            "fallback": self.fallback,
            "confusion": self.confusion,
            "errors": self.errors,
        }


def build_report(preds: Sequence[Prediction]) -> Report:
    languages = {}
    for lang in sorted({p.lang for p in preds}):
        subset = [p for p in preds if p.lang == lang]
        languages[lang] = {
            "macro_f1": round(macro_f1(subset), 4),
            "accuracy": round(sum(p.pred_intent == p.gold_intent for p in subset) / len(subset), 4),
            "examples": len(subset),
            "entity_f1": round(entity_scores(subset).f1, 4),
        }
    fb = intent_scores(preds).get(FALLBACK, Scores(0.0, 0.0, 0.0, 0))
    predicted_fb = sum(p.pred_intent == FALLBACK for p in preds)
    oos = [p for p in preds if p.gold_intent == FALLBACK]
    types = sorted({e[0] for p in preds for e in p.gold_entities + p.pred_entities})
    by_type = {
        t: entity_scores([Prediction(p.text, p.lang, p.gold_intent, p.pred_intent, p.confidence,
                                     tuple(e for e in p.gold_entities if e[0] == t),
                                     tuple(e for e in p.pred_entities if e[0] == t)) for p in preds])
        for t in types
    }
    errors = [
        {"text": p.text, "lang": p.lang, "gold": p.gold_intent, "pred": p.pred_intent,
         "confidence": round(p.confidence, 3)}
        for p in preds if p.pred_intent != p.gold_intent
    ]
    return Report(
        intents=intent_scores(preds),
        languages=languages,
        entity_value=entity_scores(preds),
        entity_span=entity_scores(preds, key=lambda i, e: (i, e[0], e[1], e[2])),
        entity_by_type=by_type,
        fallback={
            # No fallback predicted at all: nothing was wrongly refused.
            "precision": round(fb.precision if predicted_fb else 1.0, 4),
            "recall": round(fb.recall, 4),
            "predicted": predicted_fb,
            "out_of_scope": len(oos),
            "out_of_scope_to_transactional": sum(p.pred_intent in TRANSACTIONAL for p in oos),
        },
        confusion=confusion(preds),
        errors=errors,
    )


def format_table(report: Report) -> str:
    """Plain-text tables for the terminal and docs/benchmarks.md."""
    lines = [f"{'intent':28s} {'prec':>6s} {'recall':>6s} {'f1':>6s} {'n':>4s}"]
    for name, s in report.intents.items():
        lines.append(f"{name:28s} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:4d}")
    lines.append("")
    lines.append(f"{'language':10s} {'macro-F1':>8s} {'accuracy':>8s} {'entity F1':>9s} {'n':>4s}")
    for lang, v in report.languages.items():
        lines.append(f"{lang:10s} {v['macro_f1']:8.3f} {v['accuracy']:8.3f} "
                     f"{v['entity_f1']:9.3f} {v['examples']:4d}")
    lines.append("")
    ev, es = report.entity_value, report.entity_span
    lines.append(f"entities (type+canonical id): P={ev.precision:.3f} R={ev.recall:.3f} "
                 f"F1={ev.f1:.3f} n={ev.support}; span-exact F1={es.f1:.3f}")
    for t, s in report.entity_by_type.items():
        lines.append(f"  {t:12s} P={s.precision:.3f} R={s.recall:.3f} F1={s.f1:.3f} n={s.support}")
    fb = report.fallback
    lines.append(f"fallback: precision={fb['precision']:.3f} recall={fb['recall']:.3f} "
                 f"predicted={fb['predicted']} out-of-scope={fb['out_of_scope']} "
                 f"out-of-scope->transactional={fb['out_of_scope_to_transactional']}")
    return "\n".join(lines)


def check_targets(report: Report, *, min_intent_f1: float | None = None,
                  min_mixed_f1: float | None = None, min_entity_f1: float | None = None,
                  min_fallback_precision: float | None = None) -> list[str]:
    """Messages for every target missed (empty when all are met)."""
    failures = []
    if min_intent_f1 is not None:
        for lang in ("zh", "en"):
            got = report.languages.get(lang, {}).get("macro_f1", 0.0)
            if got < min_intent_f1:
                failures.append(f"{lang} intent macro-F1 {got:.3f} < {min_intent_f1}")
    if min_mixed_f1 is not None:
        got = report.languages.get("mixed", {}).get("macro_f1", 0.0)
        if got < min_mixed_f1:
            failures.append(f"mixed intent macro-F1 {got:.3f} < {min_mixed_f1}")
    if min_entity_f1 is not None and report.entity_value.f1 < min_entity_f1:
        failures.append(f"entity F1 {report.entity_value.f1:.3f} < {min_entity_f1}")
    if min_fallback_precision is not None:
        got = float(report.fallback["precision"])
        if got < min_fallback_precision:
            failures.append(f"fallback precision {got:.3f} < {min_fallback_precision}")
        if report.fallback["out_of_scope_to_transactional"]:
            failures.append("an out-of-scope message was taken for a transactional intent")
    return failures
