"""Train the Rasa model, skipping when nothing changed (fingerprint).

The fingerprint covers every input that changes the model: config.yml, the
domain, the training data, the knowledge base (it feeds lexicons), our custom
graph components, and the Rasa version. Models are named
``medbot-<fingerprint>.tar.gz`` so a model for the current inputs is found
without unpacking anything. Training runs ``rasa train`` in a subprocess, so
``bot`` never imports rasa.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bot.errors import TrainingError
from bot.kb.lexicon import write_generated
from bot.settings import Settings

log = logging.getLogger(__name__)

MODEL_PREFIX = "medbot-"
# Inputs, relative to the project root: files or directories (recursively).
TRAINING_INPUTS = (
    "config.yml",
    "bot/domain",
    "nlu_data/nlu",
    "nlu_data/rules",
    "nlu_data/stories",
    # not knowledge_base/: what of it the NLU learns is in the generated files below
    # (regenerated before the fingerprint is taken); triage rules never retrain Rasa
    # the graph components config.yml names (not the server launchers beside them)
    "components/__init__.py",
    "components/mixed_tokenizer.py",
    "components/intent_guard.py",
    "bot/nlp",
    "nlu_data/generated",
)
TRAINING_DATA = ("nlu_data/nlu", "nlu_data/rules", "nlu_data/stories")
# The same inputs train the same model: with the pipeline's random_seed alone, TensorFlow's
# thread scheduling still changed the result between two runs on one machine (out-of-scope
# precision on the held-out set 0.903 and 0.929 for one fingerprint).
DETERMINISTIC = {"TF_DETERMINISTIC_OPS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}
_SUFFIXES = {".yml", ".yaml", ".py", ".txt", ".json"}


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    fingerprint: str
    trained: bool
    seconds: float


def _input_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for rel in TRAINING_INPUTS:
        path = root / rel
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix in _SUFFIXES and "__pycache__" not in p.parts
            )
    return sorted(files)


def fingerprint(root: Path) -> str:
    """A short hash of everything that changes the trained model."""
    digest = hashlib.sha256()
    try:
        digest.update(metadata.version("rasa").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - rasa is a dependency
        digest.update(b"rasa-missing")
    for file in _input_files(root):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path_for(settings: Settings, fp: str) -> Path:
    return settings.models_dir / f"{MODEL_PREFIX}{fp}.tar.gz"


def current_model(settings: Settings) -> Path | None:
    """The model trained from the current inputs, if it exists."""
    path = model_path_for(settings, fingerprint(settings.project_root))
    return path if path.is_file() else None


def latest_model(settings: Settings) -> Path | None:
    """The newest medbot model in the models directory, whatever its inputs."""
    models = sorted(settings.models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"),
                    key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def rasa_command(*args: str) -> list[str]:
    """Run Rasa with the interpreter of this environment."""
    return [sys.executable, "-m", "rasa", *args]


def quiet_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Rasa children: no telemetry, less TensorFlow noise."""
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.update(extra or {})
    return env


def train(settings: Settings, *, force: bool = False, keep: int = 3) -> TrainResult:
    """Train a model unless one for the current fingerprint exists.

    Args:
        settings: project paths.
        force: train even when the fingerprint is unchanged.
        keep: how many older medbot models to keep in ``models/``.

    Raises:
        TrainingError: ``rasa train`` failed.
    """
    root = settings.project_root
    written = write_generated(root, settings.knowledge_base_dir)
    if written:  # the KB changed: lookups, synonyms and jieba dictionary follow it
        log.info("training.lexicon_regenerated files=%s", [str(p) for p in written])
    fp = fingerprint(root)
    target = model_path_for(settings, fp)
    if target.is_file() and not force:
        log.info("training.skipped fingerprint=%s model=%s", fp, target)
        return TrainResult(target, fp, trained=False, seconds=0.0)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    cmd = rasa_command(
        "train",
        "--config", str(root / "config.yml"),
        "--domain", str(root / "bot" / "domain"),
        "--data", *(str(root / d) for d in TRAINING_DATA if (root / d).exists()),
        "--out", str(settings.models_dir),
        "--fixed-model-name", f"{MODEL_PREFIX}{fp}",
    )
    log.info("training.started fingerprint=%s", fp)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=root, env=quiet_env(DETERMINISTIC))
    seconds = time.monotonic() - started
    if proc.returncode != 0 or not target.is_file():
        raise TrainingError(f"rasa train failed (exit {proc.returncode}); see the output above")
    _prune(settings.models_dir, keep=keep, current=target)
    log.info("training.finished fingerprint=%s seconds=%.1f", fp, seconds)
    return TrainResult(target, fp, trained=True, seconds=seconds)


def _prune(models_dir: Path, keep: int, current: Path) -> None:
    models = sorted(models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in models[:-keep] if keep > 0 else []:
        if old != current:
            old.unlink(missing_ok=True)
