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


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping: plain YAML keeps
    the last one and silently drops the first (a second ``painful_urination:`` under
    ``patterns:`` once dropped every pattern of the first)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode,
                    deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice in one mapping", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


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
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{file}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{file}: top level must be a mapping")
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise KnowledgeBaseError(f"{file}: missing 'version' string")
    return data
