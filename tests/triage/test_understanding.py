"""The learned understanding layer: corpus, fitting, the screen's rules-or-learned
decision and its vetoes, and the model the checkout builds."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from bot.errors import ValidationError
from bot.triage import learned
from bot.triage.learned import Cues, read_corpus
from bot.triage.red_flags import RedFlagScreen, default_screen
from bot.triage.understanding import Example, Reading, Understanding


def _write(root, name, rows):
    folder = root / learned.CORPUS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                               encoding="utf-8")


def test_corpus_formats_and_errors(tmp_path):
    _write(tmp_path, "voice_x.jsonl", [
        {"text": "胸口压着疼", "lang": "zh", "kind": "emergency", "red_flag": "cardiac_chest_pain",
         "symptoms": ["chest_pain"], "subject": "self", "voice": "X"}])
    _write(tmp_path, "holdout_r9_probes.jsonl", [
        {"id": "p1", "lang": "en", "kind": "control", "message": "no chest pain", "expect": None}])
    _write(tmp_path, "holdout_r9_vignettes.jsonl", [
        {"id": "v1", "lang": "en", "message": "he collapsed", "level": "emergency"}])
    rows = read_corpus(tmp_path, {"cardiac_chest_pain"}, {"chest_pain"})
    by_text = {e.text: e for e in rows}
    assert by_text["胸口压着疼"].category == "cardiac_chest_pain"
    assert by_text["胸口压着疼"].symptoms == ("chest_pain",) and by_text["胸口压着疼"].group == "X"
    assert not by_text["no chest pain"].emergency and by_text["no chest pain"].symptoms is None
    assert by_text["he collapsed"].emergency and by_text["he collapsed"].category is None

    _write(tmp_path, "voice_y.jsonl", [{"text": "x", "red_flag": "not_a_category"}])
    with pytest.raises(ValidationError, match=r"voice_y.jsonl:1: .*not_a_category"):
        read_corpus(tmp_path, {"cardiac_chest_pain"}, {"chest_pain"})


def _toy_examples() -> list[Example]:
    emergencies = [("胸口压着疼出冷汗", "cardiac_chest_pain"), ("chest crushing and sweaty", "cardiac_chest_pain"),
                   ("心口像被攥住喘不上气", "cardiac_chest_pain"), ("band round my chest, sweating", "cardiac_chest_pain"),
                   ("嘴歪了说话不清", "stroke_fast"), ("face drooping and slurred words", "stroke_fast"),
                   ("一边手脚没劲嘴歪", "stroke_fast"), ("arm went weak, speech slurred", "stroke_fast")]
    controls = ["想挂个号", "book a dentist please", "感冒流鼻涕", "mild cold and cough",
                "药吃了", "took my pills", "停车场在哪", "where is parking"]
    out = [Example(t, "zh", True, c, ("chest_pain",) if "chest" in c else (), "self", f"w{i % 2}")
           for i, (t, c) in enumerate(emergencies)]
    out += [Example(t, "zh", False, None, (), None, f"w{i % 2}") for i, t in enumerate(controls)]
    return out


def test_fit_and_read_on_a_toy_corpus():
    examples = _toy_examples() * 2  # min_df=2
    model = Understanding().fit(examples, [Cues() for _ in examples])
    assert 0 < model.threshold <= 0.5  # chosen out of fold, never above 0.5 (recall first)
    assert model.report["out_of_fold"]["writers"] == ["w0", "w1"]
    hit = model.read("胸口压着疼出冷汗", Cues())
    assert hit.fired and hit.category == "cardiac_chest_pain"
    assert not model.read("book a dentist please", Cues()).fired


@dataclass
class _Fixed:
    """Stands in for a fitted model: always reads the same thing."""

    reading: Reading

    def read(self, text, cues, full=True):
        return self.reading


def _screen(triage, category: str) -> RedFlagScreen:
    return RedFlagScreen(triage.knowledge, _Fixed(Reading(0.9, True, category, 0.9)))


@pytest.mark.parametrize("text", ["我胸口有点不舒服", "something feels wrong in my chest"])
def test_learned_hit_fires_when_rules_do_not(triage, text):
    rules_only = RedFlagScreen(triage.knowledge)
    assert rules_only.hits(rules_only.scan(text)) == []
    screen = _screen(triage, "cardiac_chest_pain")
    hits = screen.hits(screen.scan(text))
    assert [h.category for h in hits] == ["cardiac_chest_pain"]


@pytest.mark.parametrize(("category", "text"), [
    ("cardiac_chest_pain", "my dad had chest pain years ago"),  # history
    ("stroke_fast", "中风有什么前兆"),                         # information question
    ("infant_fever", "宝宝5个月，烧到38.5"),                  # not under 3 months
    ("infant_fever", "宝宝6周，体温37.6"),                    # under 38
    ("testicular_torsion", "my daughter has sudden pain down there"),  # the other sex
    # fever with a rash, but no rash or other sign: a doctor today, not 120
    ("sepsis_meningitis_rash", "I've had a fever of 39 for six days and it's not going down"),
    ("sepsis_meningitis_rash", "孩子烧39度了"),
    # the glass test done: the rash fades
    ("sepsis_meningitis_rash", "女儿发烧 身上出了红疹 用杯子按一下就褪色了"),
    ("sepsis_meningitis_rash", "fever and a red rash, but it fades when I press a glass on it"),
])
def test_facts_veto_a_learned_hit(triage, category, text):
    screen = _screen(triage, category)
    assert screen.hits(screen.scan(text)) == []


def test_negation_alone_is_left_to_the_layer(triage):
    """No veto just because the category's words are negated (measured: the
    lexicon's scope mistakes cost more emergencies than it saved)."""
    screen = _screen(triage, "stroke_fast")
    assert [h.category for h in screen.hits(screen.scan("外婆嘴角歪了，左手也抬不起来"))] == ["stroke_fast"]


def test_screen_without_a_model_is_the_rules(triage):
    screen = RedFlagScreen(triage.knowledge)
    assert screen.reading(screen.scan("胸口压着疼")) is None
    assert screen.screen("胸口压着疼出冷汗") is not None


def test_the_checkout_builds_and_loads_a_model(understanding_model):
    assert understanding_model.name.startswith(learned.PREFIX)
    model = learned.load(understanding_model)
    oof = model.report["out_of_fold"]
    assert len(oof["writers"]) >= 5 and model.report["examples"] >= 3000
    assert default_screen().model is not None


def test_an_unreadable_model_file_is_refused(tmp_path):
    bad = tmp_path / "understanding-x.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(Exception):  # noqa: B017 - any load error; the loader logs and falls back
        learned.load(bad)


@pytest.mark.parametrize("text", ["孩子发烧 身上出了红疹", "fever and a rash all over, he is very sleepy",
                                  "发烧39度 脖子硬 叫不太醒"])
def test_a_learned_fever_category_fires_with_a_sign_besides_the_fever(triage, text):
    screen = _screen(triage, "sepsis_meningitis_rash")
    assert "sepsis_meningitis_rash" in [h.category for h in screen.hits(screen.scan(text))]


@pytest.mark.parametrize("text", ["孩子发烧 身上出了红疹 按了不褪色", "fever and a rash that doesn't fade when pressed",
                                  "high fever and a rash that dont fade when I press a glass"])
def test_a_rash_that_does_not_fade_is_no_veto(triage, text):
    screen = _screen(triage, "sepsis_meningitis_rash")
    assert "sepsis_meningitis_rash" in [h.category for h in screen.hits(screen.scan(text))]


@pytest.mark.parametrize(("text", "vetoed"), [
    ("眼睛看东西模糊", True),  # blurred vision, nothing about a pregnancy
    ("my vision is blurry", True),
    ("怀孕32周 头很疼 眼睛看东西模糊", False),
    ("my wife is 34 weeks, bad headache and blurry vision", False),
])
def test_a_learned_pregnancy_emergency_needs_a_pregnancy(triage, text, vetoed):
    screen = _screen(triage, "pregnancy_emergency")
    hits = [h.category for h in screen.hits(screen.scan(text))]
    assert ("pregnancy_emergency" not in hits) is vetoed


@pytest.mark.parametrize(("category", "text", "vetoed"), [
    # a torsion is of a testicle
    ("testicular_torsion", "right eye suddenly really painful and red", True),
    ("testicular_torsion", "右眼突然胀得很疼", True),
    ("testicular_torsion", "my son woke up with sudden pain in his balls", False),
    ("testicular_torsion", "儿子蛋蛋突然很疼", False),
    ("testicular_torsion", "my right nut started hurting really bad out of nowhere", False),
    ("testicular_torsion", "小伙子 下边突然疼 一个蛋肿得好大", False),
    ("testicular_torsion", "儿子喊他gaowan突然好痛", False),
    ("testicular_torsion", "吃了个鸡蛋 突然胃很疼", True),
    # a headache the patient knows is no thunderclap, unless it is unlike the others
    ("thunderclap_headache", "my usual migraines, 3-4 a month lately, same as always", True),
    ("thunderclap_headache", "偏头痛老毛病又犯了 跟以前一样", True),
    ("thunderclap_headache", "I get migraines but this is the worst headache of my life", False),
    ("thunderclap_headache", "老毛病偏头痛 但这次不一样 一下子炸开一样疼", False),
    # black stools on iron
    ("gi_bleeding", "stools have been black since I started iron tablets, otherwise well", True),
    ("gi_bleeding", "吃了补铁的药 大便发黑", True),
    ("gi_bleeding", "on iron tablets but I vomited blood this morning", False),
])
def test_facts_veto_learned_look_alikes(triage, category, text, vetoed):
    screen = _screen(triage, category)
    hits = [h.category for h in screen.hits(screen.scan(text))]
    assert (category not in hits) is vetoed
