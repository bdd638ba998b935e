"""Fingerprint: what changes the model changes the fingerprint; nothing else does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, Settings
from bot.training import current_model, fingerprint, model_path_for, train


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for rel in ("config.yml", "bot/domain", "nlu_data/rules", "knowledge_base", "nlu_data/nlu",
                "nlu_data/generated"):
        src = PROJECT_ROOT / rel
        dst = root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    return root


def test_fingerprint_is_stable_and_tracks_inputs(project: Path) -> None:
    first = fingerprint(project)
    assert fingerprint(project) == first
    (project / "README.md").write_text("docs do not change the model")
    assert fingerprint(project) == first
    rules = project / "nlu_data" / "rules" / "core.yml"
    rules.write_text(rules.read_text() + "\n# changed\n")
    assert fingerprint(project) != first


def test_train_skips_when_a_model_for_the_fingerprint_exists(project: Path) -> None:
    settings = Settings.from_env({"MEDBOT_PROJECT_ROOT": str(project)})
    target = model_path_for(settings, fingerprint(project))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"model")
    assert current_model(settings) == target
    result = train(settings)  # would need rasa otherwise; must not run it
    assert result.trained is False and result.model_path == target
