"""``medbot eval nlu``: train the NLU model, score it on the held-out set.

Steps, each in a child process so that ``bot`` never imports rasa:

1. check the generated lexicon is up to date with the knowledge base;
2. ``rasa train nlu`` on ``nlu_data/nlu`` (skipped when a model for the
   same inputs exists, unless ``--retrain``; ``--model`` evaluates a given one);
3. ``python -m components.nlu_predict`` parses ``nlu_data/tests/nlu_heldout.yml``;
4. :mod:`bot.nlp.evaluation` scores the predictions, prints the tables and
   writes ``reports/nlu/report.json`` and ``confusion_matrix.json``/``.txt``.

Exits 1 when a target given by the ``--min-*`` options is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from bot.cli import command_app
from bot.errors import ConfigError, TrainingError
from bot.kb.lexicon import stale_files
from bot.nlp.evaluation import Prediction, build_report, check_targets, format_table
from bot.training import quiet_env, rasa_command

HELDOUT = Path("nlu_data/tests/nlu_heldout.yml")
TRAINING = Path("nlu_data/nlu")
REPORT_DIR = Path("reports/nlu")


def register_eval(eval_sub: argparse._SubParsersAction) -> None:
    p = eval_sub.add_parser("nlu", help="train NLU and score it on the held-out set")
    p.add_argument("--model", type=Path, help="evaluate this model instead of training one")
    p.add_argument("--retrain", action="store_true", help="train even if a model for these inputs exists")
    p.add_argument("--config", type=Path, default=Path("config.yml"), help="pipeline to train")
    p.add_argument("--data", type=Path, default=HELDOUT, help="held-out NLU file")
    p.add_argument("--out", type=Path, default=REPORT_DIR, help="report directory")
    p.add_argument("--min-intent-f1", type=float, default=0.95, help="zh and en intent macro-F1")
    p.add_argument("--min-mixed-f1", type=float, default=0.90, help="code-mixed intent macro-F1")
    p.add_argument("--min-entity-f1", type=float, default=0.90, help="entity F1 (type + KB id)")
    p.add_argument("--min-fallback-precision", type=float, default=0.95,
                   help="precision of nlu_fallback; also fails if out-of-scope text "
                        "is taken for a transactional intent")
    p.set_defaults(func=_eval_nlu)


def _eval_nlu(args: argparse.Namespace) -> int:
    settings = command_app(args).settings
    root = settings.project_root
    stale = stale_files(root)
    if stale:
        names = ", ".join(str(p.relative_to(root)) for p in stale)
        raise ConfigError(f"generated lexicon is stale ({names}): run `python -m bot.kb.lexicon`")
    out = args.out if args.out.is_absolute() else root / args.out
    out.mkdir(parents=True, exist_ok=True)

    train_seconds = None
    model = args.model
    if model is None:
        model, train_seconds = _train(root, settings.models_dir, _abs(root, args.config), args.retrain)
    predictions_file = out / "predictions.json"
    _run([sys.executable, "-m", "components.nlu_predict", "--model", str(model),
          "--data", str(_abs(root, args.data)), "--out", str(predictions_file)], root, "prediction")
    raw = json.loads(predictions_file.read_text(encoding="utf-8"))
    report = build_report([Prediction.from_dict(r) for r in raw["predictions"]])

    table = format_table(report)
    print(table)
    timing = {"model": str(model), "train_seconds": train_seconds,
              "load_seconds": raw.get("load_seconds")}
    print(f"model {model.name}: train {_fmt(train_seconds)}, load {_fmt(raw.get('load_seconds'))}")
    (out / "report.json").write_text(
        json.dumps({**report.as_dict(), "timing": timing}, ensure_ascii=False, indent=1),
        encoding="utf-8")
    (out / "confusion_matrix.json").write_text(
        json.dumps(report.confusion, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "confusion_matrix.txt").write_text(_confusion_text(report.confusion), encoding="utf-8")
    (out / "table.txt").write_text(table + "\n", encoding="utf-8")

    failures = check_targets(
        report, min_intent_f1=args.min_intent_f1, min_mixed_f1=args.min_mixed_f1,
        min_entity_f1=args.min_entity_f1, min_fallback_precision=args.min_fallback_precision)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    print(f"reports written to {out}")
    return 1 if failures else 0


# What an NLU model depends on (the project fingerprint of bot.training also
# covers the domain, rules and stories, which do not change NLU).
NLU_INPUTS = ("nlu_data/nlu", "nlu_data/generated", "knowledge_base", "components", "bot/nlp")
KEEP_MODELS = 2


def model_name(root: Path, config: Path) -> str:
    """Name of the evaluation model: changes with any NLU training input."""
    digest = hashlib.sha256()
    try:
        digest.update(metadata.version("rasa").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - rasa is a dependency
        pass
    files = [config]
    for rel in NLU_INPUTS:
        files += sorted(p for p in (root / rel).rglob("*")
                        if p.is_file() and p.suffix in {".yml", ".yaml", ".py", ".txt"}
                        and "__pycache__" not in p.parts)
    for file in files:
        name = file.relative_to(root).as_posix() if file.is_relative_to(root) else file.name
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return f"nlu-eval-{digest.hexdigest()[:16]}"


def _prune(models_dir: Path, keep: int = KEEP_MODELS) -> None:
    models = sorted(models_dir.glob("nlu-eval-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-keep]:
        old.unlink(missing_ok=True)


def _train(root: Path, models_dir: Path, config: Path, retrain: bool) -> tuple[Path, float | None]:
    name = model_name(root, config)
    target = models_dir / f"{name}.tar.gz"
    if target.is_file() and not retrain:
        print(f"reusing {target.name} (same inputs); --retrain to train again")
        return target, None
    models_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _run(rasa_command("train", "nlu", "--config", str(config), "--nlu", str(root / TRAINING),
                      "--out", str(models_dir), "--fixed-model-name", name), root, "training")
    seconds = time.monotonic() - started
    if not target.is_file():
        raise TrainingError(f"rasa train nlu did not write {target}")
    _prune(models_dir)
    return target, seconds


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=quiet_env())
    if proc.returncode != 0:
        raise TrainingError(f"{what} failed (exit {proc.returncode}); see the output above")


def _abs(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def _fmt(seconds: float | None) -> str:
    return "skipped" if seconds is None else f"{seconds:.1f}s"


def _confusion_text(matrix: dict[str, dict[str, int]]) -> str:
    lines = []
    for gold, row in matrix.items():
        wrong = {k: v for k, v in row.items() if k != gold}
        cells = ", ".join(f"{k}={v}" for k, v in sorted(wrong.items(), key=lambda kv: -kv[1]))
        lines.append(f"{gold}: correct={row.get(gold, 0)}" + (f"; confused with {cells}" if cells else ""))
    return "\n".join(lines) + "\n"
