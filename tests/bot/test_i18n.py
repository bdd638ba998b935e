"""Bilingual text: every response in zh and en, selected by the language slot."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.errors import KnowledgeBaseError
from bot.i18n import default_catalog, detect_language, requested_language, t
from bot.i18n.catalog import TEXT_DIRS, Catalog, load_responses

LANG = [{"type": "slot", "name": "language", "value": "zh"}]


def _responses() -> dict:
    return load_responses(f for d in TEXT_DIRS for f in d.glob("*.yml"))


def test_every_response_has_exactly_one_zh_and_one_en_variation() -> None:
    problems = []
    for key, variations in _responses().items():
        langs = []
        for variation in variations:
            conds = [c for c in variation.get("condition") or []
                     if c.get("type") == "slot" and c.get("name") == "language"]
            if len(conds) != 1:
                problems.append(f"{key}: a variation has no language condition")
                continue
            langs.append(conds[0]["value"])
            if not (variation.get("text") or variation.get("custom")):
                problems.append(f"{key}/{conds[0]['value']}: empty")
        if sorted(langs) != ["en", "zh"]:
            problems.append(f"{key}: languages {sorted(langs)} (want exactly en and zh)")
    assert not problems, "\n".join(problems)


def test_no_channel_variation_without_language_condition() -> None:
    # Rasa prefers a channel-specific variation without a condition over every
    # condition-only variation, which would pin one language for that channel.
    bad = [key for key, variations in _responses().items() for v in variations
           if v.get("channel") and not v.get("condition")]
    assert not bad


def test_the_same_placeholders_in_both_languages() -> None:
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    cat = default_catalog()
    for key in cat.keys():
        zh = fields(cat._texts[key].get("zh", ""))
        en = fields(cat._texts[key].get("en", ""))
        assert zh == en, f"{key}: zh {zh} != en {en}"


def test_t_renders_each_language_and_params() -> None:
    assert "您好" in t("utter_greet", "zh")
    assert "Hello" in t("utter_greet", "en")
    assert t("utter_error_invalid_input", "en", detail="bad date").endswith("bad date")
    assert "您好" in t("utter_greet", "fr")  # unknown language falls back to zh
    with pytest.raises(KnowledgeBaseError):
        t("utter_does_not_exist", "zh")


def test_duplicate_response_keys_across_files_are_refused(tmp_path: Path) -> None:
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text(yaml.safe_dump({"responses": {"utter_x": [
            {"condition": LANG, "text": "x"}]}}), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        Catalog.from_dir(tmp_path)


@pytest.mark.parametrize(("text", "lang"), [
    ("你好", "zh"),
    ("hello", "en"),
    ("帮我book明天cardiology的号", "zh"),
    ("I have 头痛 since yesterday", "en"),
    # the grammar decides, not the number of English words
    ("我要withdraw consent", "zh"),
    ("帮我cancel明天的appointment", "zh"),
    ("我想 book an appointment", "zh"),
    ("can you 帮我 cancel", "en"),
    ("my son 发烧 since last night", "en"),
    ("血压150/95", "zh"),
    ("BP 150/95", "en"),
    ("150/95", None),
    ("👍", None),
    ("", None),
])
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(("text", "lang"), [
    ("English please", "en"),
    ("请说中文", "zh"),
    ("can you speak Chinese", "zh"),
    ("说英文吧", "en"),
    ("切换语言", None),
])
def test_requested_language(text: str, lang: str | None) -> None:
    assert requested_language(text) == lang
