"""Versioned knowledge-base files (``knowledge_base/*.yml``).

Every file is a YAML mapping with a ``version`` string. Loaders elsewhere in
``bot`` build typed objects on top of :func:`load_kb_file`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KnowledgeBaseError
from bot.settings import PROJECT_ROOT

DEFAULT_KB_DIR = PROJECT_ROOT / "knowledge_base"


def load_kb_file(name: str, kb_dir: Path | None = None) -> dict[str, Any]:
    """Load ``knowledge_base/<name>.yml`` and check it has a version.

    Args:
        name: file stem, e.g. ``"hospital"``.
        kb_dir: directory to read from (defaults to the project's).

    Raises:
        KnowledgeBaseError: the file is missing, not a mapping, or unversioned.
    """
    return dict(_load(str((kb_dir or DEFAULT_KB_DIR) / f"{name}.yml")))


@lru_cache(maxsize=64)
def _load(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise KnowledgeBaseError(f"knowledge-base file not found: {file}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{file}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{file}: top level must be a mapping")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise KnowledgeBaseError(f"{file}: missing 'version' string")
    return data
