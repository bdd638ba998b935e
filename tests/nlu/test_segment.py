"""bot.nlp.segment: zh / en / code-mixed tokens, offsets, lemmas."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.nlp.segment import MixedSegmenter, Segment, is_punctuation
from bot.settings import PROJECT_ROOT
from bot.text.normalise import normalise as normalise_lemma


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


def assert_offsets(text: str, segments: list[Segment]) -> None:
    for seg in segments:
        assert text[seg.start:seg.end] == seg.text
        assert seg.text.strip() == seg.text and seg.text
    starts = [s.start for s in segments]
    assert starts == sorted(starts)
    for a, b in zip(segments, segments[1:]):
        assert a.end <= b.start


@pytest.mark.parametrize("text", [
    "帮我book明天cardiology的号",
    "I have 头疼 since yesterday",
    "血压150/95，有点头疼。",
    "  我妈  血压高  想续药  ",
    "my sugar was 11 this morning!!",
    "ＯＫ，吃了👍",
    "心内科 的号\t还有吗？\n",
])
def test_offsets_are_exact_and_no_whitespace_tokens(segmenter: MixedSegmenter, text: str) -> None:
    segments = segmenter.segment(text)
    assert segments
    assert_offsets(text, segments)
    assert not any(ch.isspace() for s in segments for ch in s.text)


def test_code_mixed_text_splits_at_script_changes(segmenter: MixedSegmenter) -> None:
    assert texts(segmenter.segment("帮我book明天cardiology的号")) == [
        "帮", "我", "book", "明天", "cardiology", "的", "号"]


def test_knowledge_base_terms_stay_whole(segmenter: MixedSegmenter) -> None:
    # From the generated jieba dictionary: symptoms, departments, drugs, conditions.
    tokens = texts(segmenter.segment("我妈头疼，想挂心内科，吃的氨氯地平，有高血压"))
    for term in ("头疼", "心内科", "氨氯地平", "高血压"):
        assert term in tokens


def test_english_lemmas_are_lower_case(segmenter: MixedSegmenter) -> None:
    by_text = {s.text: s.lemma for s in segmenter.segment("My head HURTS, I took 2 pills")}
    assert by_text["HURTS"] == "hurt"
    assert by_text["took"] == "take"
    assert by_text["pills"] == "pill"
    assert by_text["My"] == "my"


def test_han_tokens_are_their_own_lemma(segmenter: MixedSegmenter) -> None:
    assert all(s.lemma == s.text for s in segmenter.segment("我头疼得厉害"))


def test_readings_stay_one_token(segmenter: MixedSegmenter) -> None:
    tokens = texts(segmenter.segment("血压150/95，空腹血糖7.8"))
    assert "150/95" in tokens
    assert "7.8" in tokens


def test_punctuation_is_dropped_unless_alone(segmenter: MixedSegmenter) -> None:
    assert texts(segmenter.segment("谢谢！！医生。")) == ["谢谢", "医生"]
    assert texts(segmenter.segment("？？")) == ["？", "？"]
    assert texts(segmenter.segment("ok, thanks.")) == ["ok", "thanks"]


def test_emoji_are_kept(segmenter: MixedSegmenter) -> None:
    assert "👍" in texts(segmenter.segment("好的👍"))


def test_full_width_latin_has_ascii_lemma(segmenter: MixedSegmenter) -> None:
    [seg] = segmenter.segment("ＯＫ")
    assert seg.text == "ＯＫ" and seg.lemma == "ok"


def test_empty_and_blank_text(segmenter: MixedSegmenter) -> None:
    assert segmenter.segment("") == []
    assert segmenter.segment("   ") == []


def test_helpers() -> None:
    assert is_punctuation("，。！")
    assert not is_punctuation("👍")
    assert not is_punctuation("")
    assert normalise_lemma("ＡＢＣ") == "abc"


def test_private_jieba_does_not_touch_the_global_dictionary() -> None:
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "import jieba\n"
        "from bot.nlp.segment import MixedSegmenter\n"
        "MixedSegmenter(['吖吖吖病'])\n"
        "print('吖吖吖病' in jieba.dt.FREQ)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True)
    assert out.stdout.strip() == "False"
    assert "Building prefix dict" not in out.stderr  # jieba's init chatter is silenced


def test_segmenter_works_without_tensorflow() -> None:
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None\n"
        "from bot.nlp.segment import MixedSegmenter\n"
        "MixedSegmenter().segment('hello 你好')\n"
        "del sys.modules['tensorflow']\n"
        "print(any(m.split('.')[0] == 'tensorflow' for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True)
    assert out.stdout.strip() == "False"
