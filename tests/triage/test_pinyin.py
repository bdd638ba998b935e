"""Toneless pinyin read as characters before the screen (bot/triage/pinyin.py)."""

from __future__ import annotations

import pytest

from bot.triage.pinyin import PinyinReader

# a table from a few phrases: the knowledge base's and common words with frequencies
SMALL = PinyinReader.build(
    ["吐血", "血糖", "胸口疼", "出汗", "没力气"],
    [("学堂", 900), ("我", 5000), ("爸", 800), ("了", 9000), ("很", 4000), ("低", 600),
     ("突然", 700), ("手", 600), ("脚", 500), ("左边", 400), ("个", 3000), ("小时", 800),
     ("胸口", 300)])


def test_knowledge_base_phrases_win_over_common_words() -> None:
    assert SMALL.read("wo ba xue tang hen di le") == "我爸血糖很低了"


def test_every_reading_of_a_character_is_a_key() -> None:
    # pypinyin reads 吐血 as tu xie; people type tu xue
    assert SMALL.read("wo ba tu xue le") == "我爸吐血了"
    assert SMALL.read("wo ba tu xie le") == "我爸吐血了"


def test_joined_syllables_are_split() -> None:
    assert SMALL.split("zuobian") == ["zuo", "bian"]
    assert SMALL.read("zuobian shou jiao turan mei liqi le") == "左边手脚突然没力气了"


def test_punctuation_and_numbers_are_kept() -> None:
    assert SMALL.read("wo xiong kou teng, chu han, 3 ge xiao shi").startswith("我胸口疼, 出汗, 3")


@pytest.mark.parametrize("text", [
    "he has a fever and a bad cough", "my husband touched a live wire",
    "can I book a doctor", "ni hao",  # too short to tell
    "我妈 xue tang 很低 血糖 低", "blood sugar 2.1",
])
def test_english_short_and_chinese_messages_are_left_alone(text: str) -> None:
    assert SMALL.read(text) is None


def test_an_empty_table_reads_nothing() -> None:
    assert PinyinReader().read("wo ba tu xue le") is None


# The screen with the project's model (built from the corpus, the knowledge base and
# jieba's dictionary): pinyin emergencies written for this test, not from a holdout.
@pytest.mark.parametrize("text,category", [
    ("wo ye ye xiong kou xiang bei shi tou ya zhe, yi zhi chu leng han", "cardiac_chest_pain"),
    ("wo ma tu ran zui wai le, shuo hua han hu bu qing", "stroke_fast"),
    ("lao ban tu xue le hao duo, lian se fa bai", "gi_bleeding"),
    ("wo bu xiang huo le, yao dou zhun bei hao le", "suicidal_intent"),
])
def test_the_screen_reads_pinyin_emergencies(triage, text: str, category: str) -> None:
    hit = triage.screen.screen(text, "zh")
    assert hit is not None and hit.category == category, (text, hit)


@pytest.mark.parametrize("text", [
    "wo xiang yu yue ming tian de men zhen",  # a booking
    "xie xie yi sheng, wo hao duo le",  # thanks, better
    "wo ba qu nian zhong feng guo, xian zai hen hao",  # a past stroke, fine now
])
def test_the_screen_leaves_ordinary_pinyin_alone(triage, text: str) -> None:
    assert triage.screen.screen(text, "zh") is None
