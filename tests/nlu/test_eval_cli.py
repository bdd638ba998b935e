"""bot.cli.eval_nlu: options, model naming, reports (no rasa, no training)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli import build_parser, eval_nlu
from bot.errors import ConfigError


def test_eval_nlu_is_registered_with_target_options() -> None:
    args = build_parser().parse_args(["eval", "nlu", "--min-intent-f1", "0.9", "--retrain"])
    assert args.func is eval_nlu._eval_nlu
    assert args.min_intent_f1 == 0.9 and args.retrain
    assert (args.min_mixed_f1, args.min_entity_f1, args.min_fallback_precision) == (0.9, 0.9, 0.95)


def _project(tmp_path: Path) -> Path:
    for rel in eval_nlu.NLU_INPUTS:
        (tmp_path / rel).mkdir(parents=True)
    (tmp_path / "nlu_data/nlu/a_zh.yml").write_text("x", encoding="utf-8")
    (tmp_path / "config.yml").write_text("pipeline: []", encoding="utf-8")
    return tmp_path


def test_model_name_follows_data_and_config(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = eval_nlu.model_name(root, root / "config.yml")
    assert first == eval_nlu.model_name(root, root / "config.yml")
    (root / "nlu_data/nlu/a_zh.yml").write_text("y", encoding="utf-8")
    second = eval_nlu.model_name(root, root / "config.yml")
    assert second != first
    (root / "config.yml").write_text("pipeline: [x]", encoding="utf-8")
    assert eval_nlu.model_name(root, root / "config.yml") != second


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for i in range(4):
        path = tmp_path / f"nlu-eval-{i}.tar.gz"
        path.write_bytes(b"")
        os.utime(path, (i, i))
    eval_nlu._prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nlu-eval-2.tar.gz", "nlu-eval-3.tar.gz"]


def test_stale_lexicon_stops_the_evaluation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(eval_nlu, "stale_files", lambda root: [root / "nlu_data/generated/x.txt"])
    args = build_parser().parse_args(["eval", "nlu", "--out", str(tmp_path)])
    with pytest.raises(ConfigError):
        eval_nlu._eval_nlu(args)


def test_reports_from_existing_predictions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"text": "你好", "lang": lang, "gold_intent": "greet", "pred_intent": "greet",
             "confidence": 0.99, "gold_entities": [], "pred_entities": []}
            for lang in ("zh", "en", "mixed")]

    def fake_run(cmd: list[str], cwd: Path, what: str) -> None:
        out = Path(cmd[cmd.index("--out") + 1])
        out.write_text(json.dumps({"load_seconds": 1.0, "predictions": rows}), encoding="utf-8")

    monkeypatch.setattr(eval_nlu, "stale_files", lambda root: [])
    monkeypatch.setattr(eval_nlu, "_run", fake_run)
    model = tmp_path / "m.tar.gz"
    args = build_parser().parse_args(["eval", "nlu", "--model", str(model), "--out", str(tmp_path),
                                      "--min-entity-f1", "0"])
    assert eval_nlu._eval_nlu(args) == 0
    assert "greet" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["languages"]["mixed"]["macro_f1"] == 1.0
    assert (tmp_path / "confusion_matrix.txt").read_text(encoding="utf-8").startswith("greet")
