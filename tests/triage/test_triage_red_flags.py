"""The red-flag screen: every probe, the brief's examples and API shape (speed is
measured by bench/triage_screen.py, not asserted here)."""

from __future__ import annotations

import logging

import pytest

from bot.triage import RedFlagHit, RedFlagScreen, screen

from triage_testdata import jsonl

PROBES = (jsonl("red_flag_probes.jsonl") + jsonl("red_flag_probes_holdout.jsonl")
          + jsonl("red_flag_probes_holdout2.jsonl") + jsonl("red_flag_probes_holdout3.jsonl"))


def test_learned_false_alarms_on_dev_controls_are_bounded(triage):
    controls = [p for p in PROBES if not p["expect"]]
    false = [p["id"] for p in controls if triage.screen.hits(triage.screen.scan(p["message"]))]
    assert len(false) <= 0.05 * len(controls), false


@pytest.mark.parametrize("probe", PROBES, ids=[p["id"] for p in PROBES])
def test_probe(triage, probe):
    """Positives: the screen (rules or learned) raises the expected category.
    Controls: the rules stay silent (the learned layer's false alarms on
    controls are bounded in aggregate above: it is a statistical model)."""
    fired = {hit.category for hit in triage.screen.hits(triage.screen.scan(probe["message"]))}
    if probe["expect"]:
        assert probe["expect"] in fired
        return
    rules = RedFlagScreen(triage.knowledge)
    fired = {hit.category for hit in rules.hits(rules.scan(probe["message"]))}
    assert fired == set(), probe["kind"]


def test_probe_set_covers_every_kind():
    kinds = {p["kind"] for p in PROBES}
    assert {"positive", "negation", "history", "question", "control"} <= kinds
    assert len(PROBES) >= 60
    assert {p["lang"] for p in PROBES} >= {"zh", "en", "mixed"}


@pytest.mark.parametrize("text", [
    "没有胸痛，就是咳嗽",
    "my dad had a stroke years ago, I want his follow-up",
    "心梗有什么症状",
])
def test_brief_controls_are_not_emergencies(text):
    assert screen(text) is None


@pytest.mark.parametrize("text", [
    "I want to withdraw my consent", "I want to withdraw consent",
    "I want to delete all my data", "please delete all my data", "我要撤回同意",
    "把提醒都删了", "把药的提醒都删了", "delete all my reminders",
])
def test_consent_and_data_requests_are_not_emergencies(text):
    """Issue 15 conversations: the learned layer read "I want to withdraw my consent"
    as suicidal intent and "把提醒都删了" as an overdose, so the patient got crisis
    advice instead of the confirmation."""
    assert screen(text) is None


@pytest.mark.parametrize("text", [
    "I want to delete my data and kill myself", "I want to withdraw from everything and die",
    "I want to kill myself", "我不想活了",
])
def test_only_a_bare_data_request_is_vetoed(text):
    hit = screen(text)
    assert hit is not None and hit.category == "suicidal_intent"


@pytest.mark.parametrize("text", ["把药都吃了", "我一次把一瓶药都吃了"])
def test_pills_all_taken_is_still_an_overdose(text):
    hit = screen(text)
    assert hit is not None and hit.category == "poisoning_overdose"


def test_brief_positive_is_cardiac():
    hit = screen("我想挂下周的心内科，刚才胸口压着疼还一直出汗", "zh")
    assert isinstance(hit, RedFlagHit)
    assert hit.category == "cardiac_chest_pain"
    assert hit.action == "call_120"
    assert "120" in hit.message("zh") and "120" in hit.message("en")
    assert hit.message("en").isascii() is False or "heart" in hit.message("en")


def test_code_mixed_text_fires():
    assert screen("my mom 突然嘴歪了 and can't talk properly").category == "stroke_fast"
    assert screen("我胸口好痛 and I'm sweating a lot").category == "cardiac_chest_pain"


def test_advice_is_bilingual():
    hit = screen("I want to kill myself", "en")
    assert hit.category == "suicidal_intent"
    assert "12356" in hit.advice.en and "12356" in hit.advice.zh
    assert hit.to_dict("en")["advice"] == hit.advice.en


@pytest.mark.parametrize("text", [
    "dreamt i had a heart attack and woke up sweaty, feel fine now",
    "我做梦梦见自己中风了 吓醒了 现在没事",
    "看新闻说有人在家触电了 家里插座要注意点啥",
    "蹲久了站起来眼前一黑 一下就好了",
    "看到体检报告我差点晕过去 胆固醇这么高",
    "我表哥去年出车祸 现在已经康复了 想问问复查挂哪个科",
    "说话有点大舌头 从小就这样",
    "my mum's face has been droopy on one side since her Bell's palsy 3 years ago",
    "shortness of breath? no. chest pain? no. I just want my cholesterol results",
    "昨天手指被门夹了 指甲发紫 现在不太疼了",
    "grandpa's seizure meds need a refill",
    "can you explain what a thunderclap headache is?",
    "my grandad had a heart attack in the 90s, does that mean i'm at risk?",
    "fainted once at a concert when it was really hot, fine since",
    "if my baby ever gets a fever before 3 months old what should I do?",
    "twisted my knee on site, a bit swollen, can still walk, need a fit note",
    "这学期作业多到我喘不过气 想问学校体检在哪做",
    "I'm drowning in emails today, can I get a telehealth slot after 6pm?",
    "大学的时候确实有过想死的念头 现在已经走出来很多年了 想找个心理医生",
    # an animal is the patient (a vet's question), a play, a figure of speech
    "我家狗刚才抽风了 口吐白沫 附近有宠物医院吗",
    "my dog just had a seizure, which vet is open on a Sunday?",
    "我们家金毛被车撞了 腿流血 哪里有24小时宠物医院",
    "my character in the play has a seizure on stage, how do I make it look realistic?",
    "笑得我喘不上气 谢谢帮我改好了时间",
    "my teenager says homework gives him the worst headache of his life, any tips",
    # idioms, an app that does not respond, a novel, a bleed that stopped with pressure
    "今天被老板气得吐血 想约个周末的中医推拿放松一下",
    "你们这个挂号系统真是气死我了 点了半天没反应",
    "having a heart attack over these parking prices 😂",
    "I'm writing a crime novel, what happens in hospital after someone is brought in with an overdose?",
    "儿子早上流鼻血 枕头上全是血 流了好多 按了十分钟停了",
    "刷视频里有个人突然倒地抽搐 好吓人",
])
def test_dreams_films_the_past_and_explained_signs_are_no_emergency(rules_triage, text):
    """What the rules read as no emergency: a dream or the news, the past ("in the
    90s", "since ... 3 years ago", "从小"), a symptom asked about and denied at once,
    a moment of dark vision on standing up, almost fainting, a nail bruised by a door,
    a medicine named after its condition."""
    assert rules_triage.screen.screen(text) is None


@pytest.mark.parametrize("text, category", [
    ("做噩梦惊醒后胸口剧痛 出冷汗 喘不上气", "cardiac_chest_pain"),  # woke up: real
    ("had a bad dream, woke up and now my chest is crushing and I'm sweating", "cardiac_chest_pain"),
    ("站起来眼前一黑就晕倒了 叫不醒", "unconscious_or_seizure"),  # not just dark vision
    ("chest pain? yes, crushing, and I'm sweating", "cardiac_chest_pain"),
    ("I think mum took a whole week of her heart pills at once, she's confused", "poisoning_overdose"),
    ("他嘴唇和指甲都发紫了 喘不上气", "breathing_difficulty"),
    ("he's having a fit and won't stop shaking", "unconscious_or_seizure"),
    ("my son fell in the pool and nearly drowned, he's coughing and not himself",
     "major_trauma_or_burns"),
    ("工作压力大 现在突然喘不上气", "breathing_difficulty"),
    # a pet that bit or knocked someone over, a person walking the dog: the person is the patient
    ("被狗咬了 血流不止", "severe_bleeding"),
    ("my dog bit my son and he is bleeding a lot, it won't stop", "severe_bleeding"),
    ("遛狗的时候突然胸口剧痛 出冷汗", "cardiac_chest_pain"),
    ("walking the dog and suddenly crushing chest pain, sweating", "cardiac_chest_pain"),
    ("我爸喂猫的时候突然嘴歪了 说话不清楚", "stroke_fast"),
    ("我对猫过敏 刚去朋友家撸猫 现在喘不上气 嘴唇肿", "breathing_difficulty"),
    ("我爸突然倒了 叫他没反应", "unconscious_or_seizure"),
    ("割到手了 血止不住 按了十分钟还在流", "severe_bleeding"),
    ("I think he took an overdose, what happens now?", "poisoning_overdose"),
])

def test_the_same_cues_leave_real_emergencies_alone(triage, text, category):
    hit = triage.screen.screen(text)
    assert hit is not None and hit.category == category


def test_never_before_is_no_history(rules_triage):
    """"以前从来没有过" says the collapse is new, not that it happened in the past."""
    from bot.triage.text import PRESENT

    scan = rules_triage.screen.scan("儿子打游戏打到一半人就趴下了 喊他也不应 以前从来没有过")
    assert any(c.status(0, len(c.text)) == PRESENT for c in scan.clauses)


# -- security review: the screen never takes a turn down --------------------------------

@pytest.mark.parametrize("text, category", [
    ("my 9 yr old has a fever and a rash", None),  # raised KeyError('yr') -> REST 500
    ("my 9 yrs old son has a fever", None),
    ("9yo with a fever", None),
    ("my 18 mos old has a fever", None),
    ("my 3 wk old has a fever", "infant_fever"),  # "wk" was not read: no age, no alarm
    ("my 6 wks old baby has a fever", "infant_fever"),
    ("my 2 m/o has a fever", "infant_fever"),
    ("宝宝5个月大，发烧", None),
    ("宝宝2个月大，发烧", "infant_fever"),
    ("孩子两岁半，发烧", None),
])
def test_ages_in_everyday_spelling_are_read(rules_triage, text, category):
    hit = rules_triage.screen.screen(text)  # the rules' age reading (learned: in aggregate)
    assert (hit.category if hit else None) == category


class _BrokenScreen(RedFlagScreen):
    """A screen whose matching fails the way the 'yr' KeyError did."""

    def hits(self, scan, extra=None):
        raise KeyError(scan.text.split()[1])  # the exception carries a word of the message


def test_a_failing_screen_lets_the_message_through_and_logs_no_text(triage, caplog):
    broken = _BrokenScreen(triage.knowledge)
    with caplog.at_level(logging.DEBUG, logger="bot.triage.red_flags"):
        assert broken.screen("my daughter-secretname has chest pain") is None
    [record] = [r for r in caplog.records if r.name == "bot.triage.red_flags"]
    message = record.getMessage()
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert "triage.red_flag.screen_failed" in message and "error=KeyError" in message
    assert "length=37" in message
    assert "secretname" not in caplog.text and "chest" not in caplog.text


@pytest.mark.parametrize("text", [
    "in my nightmare I was drowning and couldn't breathe, woke up fine but can't get back to sleep",
    "our hamster is breathing fast and won't eat, is there anyone who treats small animals?",
    "尿频尿急好几天了 今天右边后腰疼 发烧38.7 身上一阵阵发冷打摆子",  # an adult's fever
])
def test_the_learned_layer_is_vetoed_by_a_dream_an_animal_or_no_baby(triage, text):
    """The learned layer reads the whole message; its hit is vetoed when every sign
    of its category is in a dream or about an animal, and an infant fever needs a
    baby or an age."""
    assert triage.screen.screen(text) is None


def test_a_video_call_is_real(triage):
    hit = triage.screen.screen("视频里看我爸不太对 半边脸木了 说的话我听不懂 他自己还说没事")
    assert hit is not None and hit.category == "stroke_fast"


# -- after blind r13 (the team's own phrasings) -------------------------------------------

@pytest.mark.parametrize("text, category", [
    # a follow-up or a result asked about first, then what happens today
    ("复查能不能提前一点 我爸电话里说今天喘得厉害 话都说不成句", "breathing_difficulty"),
    ("想问下上周抽血的结果 另外我妈今天突然说话含糊 嘴也歪了", "stroke_fast"),
    # a question with 吗 and then the telling
    ("挂号的时候能顺便问吗 刚才突然头痛得要炸开 脖子也硬", "thunderclap_headache"),
    # a baby's age from its check-up or jabs
    ("宝宝预约了42天体检 这两天发烧 最高38.3", "infant_fever"),
    ("can we rebook her 6 week check? she has a temperature of 38.4 today", "infant_fever"),
    # "my waters went" in a pregnancy
    ("I'm 30 weeks and my waters went about an hour ago", "pregnancy_emergency"),
])
def test_emergencies_after_another_request_are_read(triage, text, category):
    hit = triage.screen.screen(text)
    assert hit is not None and hit.category == category, (text, hit)


def test_a_clause_speaks_of_now_at_any_now_cue():
    from bot.triage.text import split_clauses

    [clause] = split_clauses("上周复诊开了药 我妈这几天憋得慌 今天更厉害了")
    assert clause.status(0, len(clause.text)) != "present"  # the past comes first
    assert clause.speaks_of_now()  # but "今天" is now
    [past] = split_clauses("去年复诊的时候说心脏不太好")
    assert not past.speaks_of_now()


@pytest.mark.parametrize("text, pieces", [
    ("复查的时候能顺便说吗 昨晚突然剧烈头痛", ["复查的时候能顺便说吗", "昨晚突然剧烈头痛"]),
    ("是不是心脏出问题了 咳嗽一个星期了", ["是不是心脏出问题了", "咳嗽一个星期了"]),
    ("会不会 是中风", ["会不会 是中风"]),  # a space right after the question word goes on asking
    ("中风 有什么症状", ["中风 有什么症状"]),  # an information question stays whole
])
def test_a_question_then_the_telling_are_two_clauses(text, pieces):
    from bot.triage.text import split_clauses

    assert [c.text for c in split_clauses(text)] == pieces


def test_a_chinese_negation_ends_at_a_space():
    from bot.triage.text import NEGATED, PRESENT, split_clauses

    [clause] = split_clauses("他说不疼 有糖尿病")
    assert clause.status(clause.text.index("糖尿病"), len(clause.text)) == PRESENT
    [denied] = split_clauses("不疼也没有糖尿病")
    assert denied.status(denied.text.index("糖尿病"), len(denied.text)) == NEGATED


@pytest.mark.parametrize("text, fades", [
    ("I did the glass test and the spots fade", True),
    ("did the glass test, it goes away", True),
    ("did the glass test and the spots don't fade", False),
    ("用杯子压了会褪色", True),
])
def test_a_glass_test_that_fades(text, fades):
    from bot.triage.red_flags import _blanches

    assert _blanches(text) is fades


@pytest.mark.parametrize("text, years", [
    ("宝宝预约了42天体检", 0.115),
    ("宝宝6个月体检", 0.5),
    ("our 8-week check", 0.153),
    ("booking his 12 week jabs", 0.23),
])
def test_a_babys_age_from_its_check_up(rules_triage, text, years):
    from bot.triage import facts

    assert facts.age_years(rules_triage.screen.scan(text)) == pytest.approx(years, abs=0.001)


@pytest.mark.parametrize("text", ["I'm booked in for my 28 week check", "孕28周检查", "预约42天体检"])
def test_a_pregnancy_check_is_no_babys_age(rules_triage, text):
    from bot.triage import facts

    assert facts.age_years(rules_triage.screen.scan(text)) is None
