"""Building, caching and loading the learned understanding layer.

The corpus is ``nlu_data/triage/*.jsonl`` (see its README): messages written for
the project in several voices, plus each blind holdout after its first run.
The model is built by ``medbot train`` (and ``medbot run`` / ``medbot eval
triage`` when missing) into ``models/understanding-<fingerprint>.pkl``; the
fingerprint covers the corpus, this code and the knowledge base ids, so a
change to any of them builds a new model. Nothing is downloaded.

The pickle is written and read only by this module, inside the models
directory of the deployment (the same trust as the code, like Rasa's own
model files).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import time
from dataclasses import replace
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.errors import ValidationError
from bot.settings import PROJECT_ROOT, Settings
from bot.triage import facts
from bot.triage.matcher import Scan
from bot.triage.pinyin import PinyinReader
from bot.triage.text import normalise, split_clauses
from bot.triage.understanding import FORMAT, SUBJECTS, Cues, Example, Understanding

log = logging.getLogger(__name__)

CORPUS_DIR = Path("nlu_data/triage")
PREFIX = "understanding-"
# what the build reads: its own code, the scope reader and phrase matcher that turn each
# message into model text and cues, and the knowledge they match against (a change to
# any of them would leave a model built from other readings)
_CODE = ("bot/triage/understanding.py", "bot/triage/learned.py", "bot/triage/pinyin.py",
         "bot/triage/text.py", "bot/triage/matcher.py", "bot/triage/red_flags.py",
         "bot/text/normalise.py", "knowledge_base/red_flags.yml", "knowledge_base/symptoms.yml",
         "knowledge_base/triage_rules.yml")


def light_scan(text: str) -> Scan:
    """A scan without phrase matching: enough for the numeric fact readers."""
    norm = normalise(text)
    return Scan(norm, split_clauses(norm), [])


def model_text(scan: Scan) -> str:
    """The message as the learned layer reads it, in training and in use: the
    whole normalised message. Scope (negation, past, questions) is the rules'
    call, applied afterwards as vetoes (``red_flags._contradicted``). Feeding
    the layer the rules' scope reading was measured worse (out-of-fold, same
    97.5 % recall): masking the lexicon's negated phrases 9.6 % false alarms,
    leaving out question/past clauses 10.0 %, the whole message 7.6 %; the
    rules' own scope mistakes then hide real emergencies ("会不会是中风？")."""
    return scan.text


def cues(scan: Scan) -> Cues:
    return Cues(temperature_c=facts.present_temperature(scan), age_years=facts.age_years(scan))


def read_corpus(root: Path = PROJECT_ROOT, categories: set[str] | None = None,
                symptoms: set[str] | None = None) -> list[Example]:
    """Every labelled message of the corpus; a bad line names its file and number."""
    out: list[Example] = []
    for path in sorted((root / CORPUS_DIR).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(_example(json.loads(line), path.stem, categories, symptoms))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValidationError(f"{path}:{number}: {exc}") from exc
    return out


def _example(row: dict[str, Any], stem: str, categories: set[str] | None,
             symptoms: set[str] | None) -> Example:
    text = str(row.get("text") or row["message"])
    lang = str(row.get("lang") or "zh")
    # one writer per voice; a blind round's probes and vignettes share a writer
    group = str(row.get("voice") or stem.removesuffix("_probes").removesuffix("_vignettes"))
    if "level" in row:  # a vignette: emergency or not, no category
        return Example(text, lang, row["level"] == "emergency", group=group)
    category = row.get("red_flag") if "red_flag" in row else row.get("expect")
    if category is not None and categories is not None and category not in categories:
        raise ValueError(f"unknown red-flag category {category!r}")
    labelled = row.get("symptoms")
    if labelled is not None:
        unknown = set(labelled) - symptoms if symptoms is not None else set()
        if unknown:
            raise ValueError(f"unknown symptom ids {sorted(unknown)}")
        labelled = tuple(labelled)
    subject = row.get("subject") if row.get("subject") in SUBJECTS else None
    return Example(text, lang, category is not None, category, labelled, subject, group)


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for package in ("scikit-learn", "numpy", "scipy"):
        try:
            digest.update(metadata.version(package).encode())
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
    files = sorted((root / CORPUS_DIR).glob("*.jsonl")) + [root / rel for rel in _CODE]
    for file in files:
        if file.is_file():
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def model_path(models_dir: Path, root: Path = PROJECT_ROOT) -> Path:
    return models_dir / f"{PREFIX}{fingerprint(root)}.pkl"


def build(root: Path = PROJECT_ROOT, **options: Any) -> Understanding:
    """Fit the layer on the corpus (a few minutes on two cores)."""
    from bot.triage.kb import load_knowledge
    from bot.triage.red_flags import RedFlagScreen

    knowledge = load_knowledge(root / "knowledge_base")
    examples = read_corpus(root, {c.id for c in knowledge.red_flags}, set(knowledge.symptoms))
    if not examples:
        raise ValidationError(f"no training messages in {root / CORPUS_DIR}")
    started = time.monotonic()
    # toneless pinyin is read in characters, in training as in use
    reader = PinyinReader.from_knowledge(knowledge, [e.text for e in examples])
    rules = RedFlagScreen(knowledge, pinyin=reader)  # the same scope reading as in use
    scans = [rules.scan(e.text) for e in examples]
    examples = [replace(e, text=model_text(scan)) for e, scan in zip(examples, scans)]
    model = Understanding(**options).fit(examples, [cues(scan) for scan in scans])
    model.pinyin = reader
    model.report["build_seconds"] = round(time.monotonic() - started, 1)
    return model


def save(model: Understanding, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)  # never a half-written model


def load(path: Path) -> Understanding:
    with path.open("rb") as handle:
        model = pickle.load(handle)  # noqa: S301 - our own file in our models dir
    if not isinstance(model, Understanding) or getattr(model, "format", None) != FORMAT:
        raise ValidationError(f"{path} is not a medbot understanding model of format {FORMAT}")
    return model


def ensure_model(models_dir: Path, root: Path = PROJECT_ROOT, keep: int = 2) -> Path:
    """Build the model for the current corpus and code unless it exists."""
    path = model_path(models_dir, root)
    if path.is_file():
        return path
    log.info("triage.understanding.build start path=%s", path.name)
    model = build(root)
    save(model, path)
    log.info("triage.understanding.build done seconds=%s", model.report.get("build_seconds"))
    old = sorted(models_dir.glob(f"{PREFIX}*.pkl"), key=lambda p: p.stat().st_mtime)
    for stale in old[:-keep]:
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def load_for(models_dir: Path, root: Path = PROJECT_ROOT) -> Understanding | None:
    """The model for the checkout at ``root`` in ``models_dir``, or ``None`` (rules
    only, logged) when it has not been built or cannot be read."""
    path = model_path(models_dir, root)
    if not path.is_file():
        log.warning("triage.understanding.missing path=%s (run `medbot train`); rules only",
                    path.name)
        return None
    try:
        return load(path)
    except (OSError, pickle.UnpicklingError, ValidationError, AttributeError, EOFError) as exc:
        log.error("triage.understanding.unreadable path=%s error=%s; rules only",
                  path.name, type(exc).__name__)
        return None


@lru_cache(maxsize=1)
def default_model() -> Understanding | None:
    """The model for library use outside an ``App`` (tests, benchmarks, notebooks),
    from the environment's settings, loaded once; the servers load theirs through
    their app (``App.triage``)."""
    settings = Settings.from_env()
    return load_for(settings.models_dir, settings.project_root)


__all__ = ["read_corpus", "fingerprint", "build", "save", "load", "ensure_model",
           "default_model", "load_for", "cues", "light_scan", "model_text", "CORPUS_DIR"]
