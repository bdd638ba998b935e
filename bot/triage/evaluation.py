"""Evaluate the triage pipeline on labelled vignettes and red-flag probes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ValidationError
from bot.triage.kb import LEVELS
from bot.triage.pipeline import Triage


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read JSON lines, skipping blanks; a bad line names its number."""
    if not path.is_file():
        raise ValidationError(f"no such file: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{path}:{number}: invalid JSON: {exc}") from exc
    return rows


@dataclass
class TriageReport:
    """Vignette accuracy and red-flag probe results."""

    total: int = 0
    correct: int = 0
    by_level: dict[str, list[int]] = field(default_factory=dict)  # gold -> [correct, total]
    confusion: Counter = field(default_factory=Counter)  # (gold, predicted) -> n
    emergencies: int = 0
    under_triaged_emergencies: list[str] = field(default_factory=list)
    under_triage: int = 0  # predicted below gold
    over_triage: int = 0  # predicted above gold
    department_hits: int = 0
    department_total: int = 0
    probes: int = 0
    probe_misses: list[str] = field(default_factory=list)  # expected flag not raised
    positives_by_lang: dict[str, list[int]] = field(default_factory=dict)  # lang -> [hit, total]
    controls_by_lang: dict[str, list[int]] = field(default_factory=dict)  # lang -> [false, total]
    controls: int = 0
    false_emergencies: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def emergency_under_triage_rate(self) -> float:
        return len(self.under_triaged_emergencies) / self.emergencies if self.emergencies else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "vignettes": self.total,
            "accuracy": round(self.accuracy, 4),
            "accuracy_by_level": {k: round(c / n, 4) if n else None for k, (c, n) in self.by_level.items()},
            "emergency_under_triage_rate": round(self.emergency_under_triage_rate, 4),
            "emergencies_missed": self.under_triaged_emergencies,
            "under_triage_rate": round(self.under_triage / self.total, 4) if self.total else 0.0,
            "over_triage_rate": round(self.over_triage / self.total, 4) if self.total else 0.0,
            "department_top3_accuracy": round(self.department_hits / self.department_total, 4)
            if self.department_total else None,
            "red_flag_probes": self.probes,
            "red_flag_probe_misses": self.probe_misses,
            "emergencies_recognised": _rate(self.positives_by_lang),
            "emergencies_recognised_by_lang": {k: _rate({k: v})
                                               for k, v in sorted(self.positives_by_lang.items())},
            "false_emergency_rate": _rate(self.controls_by_lang),
            "false_emergency_rate_by_lang": {k: _rate({k: v})
                                             for k, v in sorted(self.controls_by_lang.items())},
            "controls": self.controls,
            "false_emergencies": self.false_emergencies,
            "errors": self.errors,
        }


def _rate(counts: dict[str, list[int]]) -> float | None:
    hits = sum(a for a, _ in counts.values())
    total = sum(b for _, b in counts.values())
    return round(hits / total, 4) if total else None


def evaluate(triage: Triage, vignettes: list[dict[str, Any]],
             probes: list[dict[str, Any]]) -> TriageReport:
    report = TriageReport(by_level={level: [0, 0] for level in reversed(LEVELS)})
    for case in vignettes:
        _vignette(triage, case, report)
    for probe in probes:
        _probe(triage, probe, report)
    return report


def _vignette(triage: Triage, case: dict[str, Any], report: TriageReport) -> None:
    gold = case["level"]
    if gold not in LEVELS:
        raise ValidationError(f"vignette {case.get('id')}: unknown level {gold!r}")
    result = triage.assess_text(case["message"]).result
    predicted = result.level
    report.total += 1
    report.by_level[gold][1] += 1
    report.confusion[(gold, predicted)] += 1
    rank_gold, rank_pred = LEVELS.index(gold), LEVELS.index(predicted)
    if predicted == gold:
        report.correct += 1
        report.by_level[gold][0] += 1
    else:
        report.errors.append({"id": case.get("id"), "gold": gold, "predicted": predicted,
                              "reasons": [r.rule for r in result.reasons]})
    report.under_triage += rank_pred < rank_gold
    report.over_triage += rank_pred > rank_gold
    if gold == "emergency":
        report.emergencies += 1
        if predicted != "emergency":
            report.under_triaged_emergencies.append(str(case.get("id")))
    wanted = set(case.get("departments") or ())
    if wanted:
        report.department_total += 1
        report.department_hits += bool(wanted & set(result.departments))


def _probe(triage: Triage, probe: dict[str, Any], report: TriageReport) -> None:
    scan = triage.screen.scan(probe["message"])
    fired = {hit.category for hit in triage.screen.hits(scan)}
    report.probes += 1
    expected = probe.get("expect")
    lang = str(probe.get("lang") or "zh")
    if expected:
        counts = report.positives_by_lang.setdefault(lang, [0, 0])
        counts[1] += 1
        # recognised: the screen raised an emergency (the category is reported separately)
        counts[0] += bool(fired)
        if expected not in fired:
            report.probe_misses.append(str(probe.get("id")))
    else:
        report.controls += 1
        counts = report.controls_by_lang.setdefault(lang, [0, 0])
        counts[1] += 1
        counts[0] += bool(fired)
        if fired:
            report.false_emergencies.append(f"{probe.get('id')}:{','.join(sorted(fired))}")
