"""Read the response catalogue from the domain files and render entries."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KnowledgeBaseError
from bot.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

DOMAIN_DIR = PROJECT_ROOT / "bot" / "domain"
# Texts that are not bot turns (the doctor console's pages): same format, kept
# out of the Rasa domain so that editing them does not retrain the model.
UI_DIR = PROJECT_ROOT / "bot" / "i18n" / "ui"
TEXT_DIRS = (DOMAIN_DIR, UI_DIR)


def _variation_language(variation: Mapping[str, Any]) -> str | None:
    for cond in variation.get("condition") or []:
        if cond.get("type") == "slot" and cond.get("name") == "language":
            return cond.get("value")
    return None


class Catalog:
    """Responses by key and language, loaded from domain YAML files."""

    def __init__(self, responses: Mapping[str, list[Mapping[str, Any]]]) -> None:
        self._texts: dict[str, dict[str, str]] = {}
        for key, variations in responses.items():
            by_lang: dict[str, str] = {}
            for variation in variations:
                lang = _variation_language(variation)
                if lang and "text" in variation and lang not in by_lang:
                    by_lang[lang] = variation["text"]
            self._texts[key] = by_lang

    @classmethod
    def from_dir(cls, *directories: Path) -> Catalog:
        """The responses of every ``*.yml`` in ``directories`` (default: ``TEXT_DIRS``)."""
        return cls(load_responses(f for d in (directories or TEXT_DIRS) for f in d.glob("*.yml")))

    def keys(self) -> list[str]:
        return sorted(self._texts)

    def languages(self, key: str) -> set[str]:
        return set(self._texts.get(key, {}))

    def render(self, key: str, lang: str, **params: object) -> str:
        """Render ``key`` in ``lang``; unknown languages fall back to zh.

        Raises:
            KnowledgeBaseError: the key does not exist.
        """
        texts = self._texts.get(key)
        if not texts:
            raise KnowledgeBaseError(f"no response named {key!r}")
        lang = lang if lang in SUPPORTED_LANGUAGES else SUPPORTED_LANGUAGES[0]
        template = texts.get(lang) or next(iter(texts.values()))
        return _SafeFormatter().format(template, **params)


class _SafeFormatter(string.Formatter):
    """``str.format`` that leaves unknown ``{placeholders}`` as they are."""

    def get_value(self, key, args, kwargs):  # type: ignore[override]
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"
        return super().get_value(key, args, kwargs)


def load_responses(files: Iterable[Path]) -> dict[str, list[Mapping[str, Any]]]:
    """Merge the ``responses`` sections of several domain files."""
    merged: dict[str, list[Mapping[str, Any]]] = {}
    for file in sorted(files):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for key, variations in (data.get("responses") or {}).items():
            if key in merged:
                raise KnowledgeBaseError(f"response {key!r} defined twice ({file})")
            merged[key] = variations
    return merged


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.from_dir()


def t(key: str, lang: str, **params: object) -> str:
    """Render the response ``key`` in ``lang`` ("zh" or "en")."""
    return default_catalog().render(key, lang, **params)


def bilingual(key: str, params: Callable[[str], Mapping[str, object]] | None = None,
              **common: object) -> str:
    """The text in Chinese, then English: for answers given before the patient's
    language is known (protocol errors, events, failures).

    Args:
        params: per-language parameters (e.g. ``HospitalInfo.params``).
    """
    return "\n\n".join(t(key, lang, **{**(params(lang) if params else {}), **common})
                       for lang in SUPPORTED_LANGUAGES)
