"""Rasa tokenizer for Chinese, English and code-mixed messages.

A thin adapter over :class:`bot.nlp.segment.MixedSegmenter` (jieba for Han
runs, spaCy's English tokenizer and lookup lemmatizer for the rest). Unlike
Rasa's JiebaTokenizer it emits no whitespace tokens (RasaHQ/rasa#7910), works
with ``language: zh`` and ``en``, and uses a private jieba instance.

Config (``config.yml``)::

    - name: components.mixed_tokenizer.MixedTokenizer
      dictionary_path: nlu_data/generated/jieba_userdict.txt

``dictionary_path`` is the jieba user dictionary generated from the knowledge
base by ``python -m bot.kb.lexicon`` (``bot.kb.lexicon``); a relative path is
resolved against the working directory, then the project root. The component
is not trainable, so the dictionary is read from the checkout at load time;
its content is part of the component fingerprint, so editing it retrains.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.errors import ConfigError
from bot.nlp.segment import MixedSegmenter

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DICTIONARY = "nlu_data/generated/jieba_userdict.txt"


def resolve_dictionary(path: str | None) -> Path | None:
    """The dictionary file for a configured path, or None when not configured.

    Raises:
        ConfigError: a path is configured but the file does not exist.
    """
    if not path:
        return None
    candidate = Path(path)
    if candidate.is_absolute():
        options = [candidate]
    else:
        options = [Path.cwd() / candidate, PROJECT_ROOT / candidate]
    for option in options:
        if option.is_file():
            return option
    raise ConfigError(
        f"jieba dictionary {path!r} not found (run `python -m bot.kb.lexicon` to generate it)"
    )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class MixedTokenizer(Tokenizer):
    """Tokenizes zh / en / mixed text with correct offsets and lemmas."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "dictionary_path": DEFAULT_DICTIONARY,
            "hmm": True,
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["zh", "en"]

    @staticmethod
    def required_packages() -> list[str]:
        return ["jieba", "spacy"]

    def __init__(self, config: dict[str, Any], segmenter: MixedSegmenter | None = None) -> None:
        super().__init__(config)
        self._segmenter = segmenter or MixedSegmenter.from_dictionary_file(
            resolve_dictionary(config.get("dictionary_path")), hmm=bool(config.get("hmm", True))
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Hash of the dictionary, so a changed lexicon invalidates cached results."""
        try:
            path = resolve_dictionary(config.get("dictionary_path"))
        except ConfigError:
            return None  # create() reports the missing file
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else None

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute)
        tokens = [
            Token(seg.text, seg.start, seg.end, lemma=seg.lemma)
            for seg in self._segmenter.segment(text)
        ]
        return self._apply_token_pattern(tokens)
