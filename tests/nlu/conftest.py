"""Shared fixtures for the NLU data and segmentation tests (no TensorFlow)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest

from bot.kb.lexicon import JIEBA_FILE, Lexicon, build_lexicon
from bot.nlp.segment import MixedSegmenter
from bot.settings import PROJECT_ROOT


@contextlib.contextmanager
def tensorflow_hidden() -> Iterator[None]:
    """Import spaCy without TensorFlow.

    thinc (under spaCy) imports TensorFlow only to find out whether it is
    installed; hiding it keeps these unit tests TensorFlow-free and fast. When
    TensorFlow is already loaded (integration tests ran first) nothing changes.
    """
    if "tensorflow" in sys.modules or "thinc" in sys.modules:
        yield
        return
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        del sys.modules["tensorflow"]


@pytest.fixture(scope="session")
def segmenter() -> MixedSegmenter:
    with tensorflow_hidden():
        import spacy  # noqa: F401
    return MixedSegmenter.from_dictionary_file(PROJECT_ROOT / JIEBA_FILE)


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return build_lexicon()
