"""The trained model understands zh, en and code-mixed text (issue 3 smoke test).

The full score on the held-out set is ``medbot eval nlu`` (docs/benchmarks.md);
this only checks that the session's model parses the brief's examples, with
entities mapped to knowledge-base ids, through the same child-process
predictor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

EXAMPLES = """\
version: "3.1"
nlu:
- intent: book_appointment
  metadata: {lang: mixed}
  examples: |
    - 帮我book明天[cardiology](department)的号
- intent: request_revisit
  metadata: {lang: zh}
  examples: |
    - 我妈[血压高](symptom)想续药
- intent: report_reading
  metadata: {lang: en}
  examples: |
    - my sugar was 11 this morning
- intent: report_symptoms
  metadata: {lang: zh}
  examples: |
    - 我[头疼](symptom)
"""


def test_model_parses_the_brief_examples(trained_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "examples.yml"
    data.write_text(EXAMPLES, encoding="utf-8")
    out = tmp_path / "predictions.json"
    subprocess.run([sys.executable, "-m", "components.nlu_predict", "--model", str(trained_model),
                    "--data", str(data), "--out", str(out)], cwd=PROJECT_ROOT, check=True)
    rows = json.loads(out.read_text(encoding="utf-8"))["predictions"]
    assert [r["pred_intent"] for r in rows] == [r["gold_intent"] for r in rows]
    entities = {(e["entity"], e["value"]) for r in rows for e in r["pred_entities"]}
    assert {("department", "cardiology"), ("symptom", "headache")} <= entities


def test_eval_nlu_meets_the_targets_on_the_held_out_set(trained_model: Path, tmp_path: Path
                                                         ) -> None:
    """`medbot eval nlu` with the issue's targets, on the session's model (no second training)."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "eval", "nlu", "--model", str(trained_model),
         "--out", str(tmp_path), "--min-intent-f1", "0.95", "--min-mixed-f1", "0.90",
         "--min-entity-f1", "0.90", "--min-fallback-precision", "0.95"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report
