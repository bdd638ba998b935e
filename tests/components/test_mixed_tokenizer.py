"""components.mixed_tokenizer: the Rasa adapter (imports rasa, hence TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tokenizer():
    from components.mixed_tokenizer import MixedTokenizer

    return MixedTokenizer({**MixedTokenizer.get_default_config()})


def test_tokens_have_offsets_lemmas_and_no_whitespace(tokenizer) -> None:
    from rasa.shared.nlu.training_data.message import Message

    text = "帮我book明天 cardiology的号, my head HURTS"
    tokens = tokenizer.tokenize(Message(data={"text": text}), "text")
    assert [t.text for t in tokens] == [
        "帮", "我", "book", "明天", "cardiology", "的", "号", "my", "head", "HURTS"]
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert tokens[-1].lemma == "hurt"


def test_training_data_entities_align(tokenizer) -> None:
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    message = Message(data={"text": "我想挂心内科", "intent": "book_appointment",
                            "entities": [{"entity": "department", "start": 3, "end": 6,
                                          "value": "心内科"}]})
    tokenizer.process_training_data(TrainingData([message]))
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert any(t.start == 3 and t.end == 6 for t in tokens)


def test_registered_as_a_tokenizer() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    from components.mixed_tokenizer import MixedTokenizer

    registered = DefaultV1Recipe._registered_components[MixedTokenizer.__name__]
    assert DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER in registered.types
    assert registered.is_trainable is False
    assert MixedTokenizer.supported_languages() == ["zh", "en"]


def test_fingerprint_follows_the_dictionary(tmp_path: Path) -> None:
    from components.mixed_tokenizer import MixedTokenizer

    dictionary = tmp_path / "dict.txt"
    dictionary.write_text("头疼\n", encoding="utf-8")
    before = MixedTokenizer.fingerprint_addon({"dictionary_path": str(dictionary)})
    dictionary.write_text("头疼\n心内科\n", encoding="utf-8")
    assert MixedTokenizer.fingerprint_addon({"dictionary_path": str(dictionary)}) != before


def test_missing_dictionary_fails_at_start(tmp_path: Path) -> None:
    from components.mixed_tokenizer import MixedTokenizer

    with pytest.raises(ConfigError):
        MixedTokenizer({**MixedTokenizer.get_default_config(),
                        "dictionary_path": str(tmp_path / "missing.txt")})
