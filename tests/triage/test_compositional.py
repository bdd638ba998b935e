"""Compositional red-flag criteria (issue 14, item 2): each rule of red_flags.yml that
combines findings and facts fires on a stated case, and not when the case is denied,
past history or a question about it; in zh and en.

The messages were written for these unit tests; they are not an evaluation set.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.kb import load_kb_file
from bot.triage import facts

SOURCES = Path(__file__).resolve().parents[2] / "knowledge_base" / "SOURCES.md"

# rule -> (category, {lang: (positive, negated, history, question)})
RULES: dict[str, tuple[str, dict[str, tuple[str, str, str, str]]]] = {
    "infant_temperature": ("infant_fever", {
        "zh": ("宝宝才5周大，刚量体温38.4度",
               "宝宝七周大，体温没有到38度，36.9",
               "宝宝两个月大，以前烧到38.5度住过院，现在体温正常",
               "如果一个月大的宝宝体温38度，需要马上去医院吗？"),
        "en": ("my son is 9 weeks and the thermometer reads 38.2",
               "my 8-week-old does not have a temperature of 38 degrees, it was 37.2 degrees",
               "my baby had a temperature of 38.5 degrees in the past, she is 10 weeks now and well",
               "what should I do if a 6 week old baby has a temperature of 38?"),
    }),
    "chest_pressure": ("cardiac_chest_pain", {
        "zh": ("我爸胸口发闷，喘不上气，下巴也疼",
               "我胸口有点闷，但是不喘，也没有出汗，下巴不疼",
               "我妈三年前胸闷气短住过院，现在想开点降压药",
               "胸闷气短是心脏病的前兆吗？"),
        "en": ("tight chest and I'm short of breath, it's going into my jaw",
               "my chest feels a bit tight after the gym but I'm not short of breath and have no jaw pain",
               "my husband had chest tightness and breathlessness years ago before his bypass",
               "what are the warning signs of a heart attack, like chest pressure and shortness of breath?"),
    }),
    "one_sided_weakness": ("stroke_fast", {
        "zh": ("我爸右侧肢体麻木，刚才发现的",
               "我爸没有半边身子麻木，也没有嘴歪，只是头晕",
               "我爸五年前中风，右侧肢体麻木过，这次来复查",
               "中风有哪些表现？"),
        "en": ("my mum's arm went weak and the left side of her face is numb",
               "no numbness on one side, no face droop, just a headache",
               "my grandad had numbness down one side after his stroke in 2019, we need his follow-up",
               "what are the signs of a stroke - is numbness on one side one of them?"),
    }),
    "suicide_plan_means_goodbye": ("suicidal_intent", {
        "zh": ("我攒了一瓶安眠药，觉得活着没有希望",
               "我没有攒药，也没写遗书，就是最近睡不好",
               "十年前我写过遗书，后来治好了，现在想约心理科复诊",
               "如果朋友说他攒了安眠药、觉得撑不下去，我该怎么办？"),
        "en": ("I've been saving up my sleeping pills and I feel hopeless",
               "I haven't written any goodbye letter and I'm not hopeless, I just feel stressed",
               "years ago I wrote a suicide note, but I'm in recovery and doing well",
               "what should I do if a friend says she has a plan and feels hopeless?"),
    }),
    "burn_large_or_small_child": ("serious_burn", {
        "zh": ("两岁的儿子被开水烫到手背了",
               "宝宝没有被烫伤，只是吓哭了",
               "我儿子小时候被开水烫伤过，现在想看看疤痕",
               "小孩烫伤一大片应该怎么处理？"),
        "en": ("my toddler pulled a cup of tea over and scalded his chest",
               "my 3 year old wasn't burned, the kettle missed him",
               "my daughter was scalded years ago when she was 2, the scar needs checking",
               "what is the first aid for a large burn on a baby?"),
    }),
    "head_injury_then": ("major_trauma_or_burns", {
        "zh": ("儿子踢球时头被撞了，现在昏昏沉沉的，一直想睡",
               "老公下午磕到头了，没有呕吐，也不犯困，就是起了个包",
               "去年摔到头以后吐了好几次，现在偶尔头痛想挂号",
               "撞到头以后呕吐是不是脑震荡？"),
        "en": ("he banged his head on the shelf and now he's very sleepy",
               "I hit my head this morning, no vomiting, not drowsy, just a bruise",
               "I hit my head years ago and was sick afterwards, now I'd like a routine check-up",
               "what are the warning signs after a head injury, like vomiting or drowsiness?"),
    }),
    "carbon_monoxide": ("poisoning_overdose", {
        "zh": ("我们一家人早上起来都头痛头晕",
               "我们全家都没有头痛头晕，就是有点咳嗽",
               "前年冬天烧炭取暖，全家都头痛头晕过，现在想问问后遗症",
               "一氧化碳中毒有什么症状，是不是全家都会头痛头晕？"),
        "en": ("we all woke up with headaches and feel dizzy",
               "we both have no headache and no dizziness, just a cold",
               "last year we all had headaches and dizziness from a faulty boiler, it was fixed",
               "what should we do if the whole family gets a headache and dizziness at once?"),
    }),
    "gut_bleeding_dizzy": ("gi_bleeding", {
        "zh": ("今天拉了好几次血便，站起来头晕",
               "大便有点血丝，但是不头晕，也没有心慌",
               "前年胃出血黑便头晕住过院，现在来复查胃镜",
               "便血伴头晕是什么原因？"),
        "en": ("I've been passing blood from my bottom and feel faint when I stand up",
               "a little blood on the paper but no dizziness and no palpitations",
               "my father had black stools and dizziness years ago from an ulcer, he wants a follow-up",
               "what are the warning signs of a stomach bleed, like black stools with dizziness?"),
    }),
    "allergen_then_swelling": ("anaphylaxis", {
        "zh": ("被马蜂蛰了以后，嘴唇肿了",
               "刚被蜜蜂蛰了一下，手有点红，嘴唇没有肿，也不喘",
               "小时候吃了虾嘴唇肿过，现在想做个过敏原检测",
               "如果被蜜蜂蛰了以后嘴唇肿，要去医院吗？"),
        "en": ("my son ate some peanuts and now he's wheezing",
               "stung by a wasp on the arm, a bit red, but no swollen lips and no wheeze",
               "I was stung by a bee as a child and my lips swelled, I'd like an allergy test",
               "what should I do if my lips swell after eating prawns?"),
    }),
    "asthma_not_relieved": ("breathing_difficulty", {
        "zh": ("孩子哮喘犯了，喷了好几下万托林还是喘",
               "喷了药以后好多了，不喘了",
               "去年哮喘发作时喷药也没用，住了院，这次想开点吸入剂",
               "如果吸了沙丁胺醇还是喘，怎么办？"),
        "en": ("I've taken 10 puffs of my blue inhaler and it isn't helping",
               "used my inhaler and it helped, I'm not wheezy now",
               "years ago my inhaler didn't help during an attack and I ended up in hospital",
               "what should you do if a reliever inhaler is not helping?"),
    }),
    "bleeding_despite_pressure": ("severe_bleeding", {
        "zh": ("切菜切到手，用毛巾按了十五分钟，还在流血",
               "手指划了个口子，按了一会儿就不流血了",
               "前年拔牙，压了很久都止不住血，这次拔牙前想咨询一下",
               "如果伤口按压了还止不住血，该怎么办？"),
        "en": ("cut my hand on glass, I've been pressing on it for 10 minutes and it's still bleeding",
               "I cut my finger, pressed on it and it stopped bleeding",
               "years ago I pressed on a cut for ages and it was still bleeding, so I want my clotting checked",
               "what should I do if a cut is still bleeding after pressing on it?"),
    }),
    "fever_purple_spots": ("sepsis_meningitis_rash", {
        "zh": ("孩子发烧，身上出了好多紫红色的点",
               "孩子发烧，身上有红疹，没有紫色的点，按压会褪色",
               "女儿三年前发烧出过瘀点，住过院，现在来复查",
               "发烧加上紫色的点是什么病？"),
        "en": ("she has a fever and purple spots on her legs",
               "fever and a red rash, no purple spots, it fades when pressed",
               "he had meningitis years ago with a fever and purple spots, now he's well",
               "what are the warning signs of meningitis, like fever with purple spots?"),
    }),
    "testicle_severe": ("testicular_torsion", {
        "zh": ("儿子睾丸疼得厉害，还吐了",
               "睾丸不疼，就是大腿根有点痒",
               "我儿子两年前睾丸扭转做过手术，现在想复查",
               "睾丸突然剧痛是什么原因？"),
        "en": ("my 13 year old has severe pain in his testicle",
               "no testicle pain, just a rash in the groin",
               "he had severe testicle pain years ago and had surgery, now he's fine",
               "what causes sudden severe testicle pain in boys?"),
    }),
    "pregnancy_heavy_bleeding_or_vision": ("pregnancy_emergency", {
        "zh": ("怀孕十周，下面出血很多，还有血块",
               "怀孕八周，没有出血，也不头痛，想建档",
               "我现在怀孕20周，以前流产时出血很多，这次一切正常",
               "我怀孕了。头痛伴眼冒金星是子痫前期的前兆吗？"),
        "en": ("I'm 30 weeks pregnant with a bad headache and flashing lights in my eyes",
               "I'm 12 weeks pregnant, no bleeding, no headache, just tired",
               "I'm 20 weeks pregnant; years ago in my first pregnancy I had heavy bleeding",
               "I'm pregnant - what are the warning signs, e.g. heavy bleeding or a headache with flashing lights?"),
    }),
    "diabetic_low_sugar_confused": ("hypoglycaemia_confusion", {
        "zh": ("我爸有糖尿病，现在满头大汗，说胡话",
               "我妈有糖尿病，刚测血糖6.5，没有出汗，人也不糊涂",
               "我爸有糖尿病，去年低血糖昏迷过一次，现在来开药",
               "糖尿病人低血糖说胡话怎么处理？"),
        "en": ("my husband is diabetic on insulin, he's sweaty and confused",
               "I'm diabetic, my sugar is 7.2, I'm not confused and not sweaty",
               "my mum is diabetic and had a hypo with confusion years ago, she needs a repeat prescription",
               "what are the signs of a hypo in a diabetic - confusion and sweating?"),
    }),
    "small_child_ingestion": ("poisoning_overdose", {
        "zh": ("两岁的女儿趁我不注意吃了好几片降压药",
               "宝宝没有吃到药片，药瓶盖还拧着",
               "两年前宝宝误吃过奶奶的降压药，现在挺好的",
               "如果孩子误吃了大人的药，该怎么办？"),
        "en": ("my toddler got into grandma's pills and swallowed a few",
               "my 2 year old didn't swallow any of my pills, I counted them",
               "years ago my son, then a toddler, swallowed a button battery; he's 9 now and fine",
               "what should I do if a toddler swallows a button battery?"),
    }),
}

# second positive phrasings for rules with more than one path
MORE_POSITIVES = [
    ("infant_fever", "宝宝刚满月，烧到38度"),
    ("infant_fever", "my baby is 6 weeks and has a temp of 38.4"),
    ("cardiac_chest_pain", "heavy chest and I nearly passed out"),
    ("stroke_fast", "他左半边身子突然没劲了"),
    ("suicidal_intent", "遗书写好了，跟大家告别"),
    ("suicidal_intent", "I've made a plan and I feel like such a burden, I'm so depressed"),
    ("serious_burn", "油溅出来，大腿烫伤了一大片"),
    ("serious_burn", "I burned my arm on the oven and the skin is white and leathery"),
    ("major_trauma_or_burns", "早上摔了一跤，头痛得厉害，还吐了两次"),
    ("poisoning_overdose", "屋里烧着炭火，我和妈妈都头痛，头晕"),
    ("poisoning_overdose", "we have a gas heater in the bedroom and my kids are drowsy"),
    ("poisoning_overdose", "宝宝把一颗纽扣电池吞下去了"),
    ("anaphylaxis", "吃了海鲜以后喘不上气"),
    ("anaphylaxis", "after taking the antibiotic tablets my face is swelling"),
    ("breathing_difficulty", "吸了沙丁胺醇，还是喘"),
    ("severe_bleeding", "流鼻血，捏着鼻子二十分钟了血还在流"),
    ("severe_bleeding", "applied pressure for 15 minutes but the bleeding hasn't stopped"),
    ("sepsis_meningitis_rash", "体温39度，腿上有出血点"),
    ("testicular_torsion", "my son has testicle pain and keeps being sick"),
    ("pregnancy_emergency", "怀孕32周，头痛，眼前冒金星"),
    ("pregnancy_emergency", "I'm 9 weeks pregnant and soaking through a pad with bleeding"),
    ("hypoglycaemia_confusion", "血糖2.8，人迷迷糊糊的"),
    ("hypoglycaemia_confusion", "his blood sugar is 45 and he's drowsy"),
    ("breathing_difficulty", "喷了药也没用，喘得厉害"),
    ("poisoning_overdose", "we all woke up with headaches and feel dizzy"),
]

# near misses: the words of a rule without its meaning
NEAR_MISSES = [
    ("breathing_difficulty", "喷雾没用完，想再开一盒沙丁胺醇"),
    ("breathing_difficulty", "吸入剂还没用过，想问问怎么用"),
    ("poisoning_overdose", "我们全家都感冒了，头痛"),
    ("poisoning_overdose", "宝宝吃了退烧药还是发烧"),
    ("poisoning_overdose", "买了木炭烧烤，有点头痛"),
    ("serious_burn", "我儿子7岁，烫伤了手指"),
    ("severe_bleeding", "my blood pressure is fine, I'm still bleeding a little from my gums"),
    ("infant_fever", "孩子发烧38.5度，三岁"),
]

KINDS = ("positive", "negation", "history", "question")
CASES = [(rule, category, lang, kind, texts[i])
         for rule, (category, by_lang) in RULES.items()
         for lang, texts in by_lang.items()
         for i, kind in enumerate(KINDS)]


def _fired(triage, text: str) -> set[str]:
    return {hit.category for hit in triage.screen.hits(triage.screen.scan(text))}


@pytest.mark.parametrize("rule, category, lang, kind, text", CASES,
                         ids=[f"{r}-{lang}-{kind}" for r, _, lang, kind, _ in CASES])
def test_rule(rules_triage, rule, category, lang, kind, text):
    fired = _fired(rules_triage, text)
    if kind == "positive":
        assert category in fired, text
    else:
        assert category not in fired, (kind, text, fired)


@pytest.mark.parametrize("category, text", MORE_POSITIVES, ids=[t for _, t in MORE_POSITIVES])
def test_more_positives(rules_triage, category, text):
    assert category in _fired(rules_triage, text)


@pytest.mark.parametrize("category, text", NEAR_MISSES, ids=[t for _, t in NEAR_MISSES])
def test_near_misses(rules_triage, category, text):
    assert category not in _fired(rules_triage, text)


def test_every_rule_is_tested_in_both_languages_and_every_way():
    assert all(set(by_lang) == {"zh", "en"} for _, by_lang in RULES.values())
    assert len(CASES) == len(RULES) * 2 * len(KINDS)


def test_the_chat_path_agrees(triage):
    """The pipeline (chat and `medbot triage`) reaches emergency on a compositional hit."""
    assessment = triage.assess_text("my 6 week old feels hot, thermometer says 38.3", "en")
    assert assessment.result.level == "emergency"
    assert "infant_fever" in {hit.category for hit in assessment.result.red_flags}


def test_every_category_names_sources_listed_in_sources_md():
    sources = SOURCES.read_text(encoding="utf-8")
    for item in load_kb_file("red_flags")["categories"]:
        refs = [ref.strip() for ref in (item.get("source") or "").split(";") if ref.strip()]
        assert refs, item["id"]
        for ref in refs:
            assert ref in sources, (item["id"], ref)


def test_every_declared_fact_has_a_reader():
    assert set(load_kb_file("red_flags")["facts"]) == facts.FACT_IDS


@pytest.mark.parametrize("text, expected", [
    ("宝宝5周大，体温38.4度", {"temperature_38", "small_child"}),
    ("体温没有到38度", set()),
    ("以前烧到39度，现在好了", set()),
    ("my son is 7 and has a temperature of 38.5", {"temperature_38"}),
    ("my toddler has a rash", {"small_child"}),
    ("my 4 year old has a rash", {"small_child"}),
    ("血糖2.9", {"glucose_low"}),
    ("血糖没有低于3.5", set()),
    ("我爸糖尿病十年了", {"diabetic"}),
    ("我没有糖尿病", set()),
    ("pain is severe", {"severe_pain"}),
])
def test_fact_ids(triage, text, expected):
    assert facts.stated_ids(triage.screen.scan(text)) == expected


def test_ages_without_old(triage):
    scan = triage.screen.scan
    for text, days in (("my baby is 6 weeks", 42), ("she's only 10 days", 10), ("宝宝刚满月", 30)):
        assert facts.age_years(scan(text)) == round(days / 365, 3), text
    assert facts.age_years(scan("she's 3 months pregnant")) is None
    assert facts.age_years(scan("he was 2 days late")) is None


def test_no_source_invents_an_address():
    assert not re.search(r"https?://", SOURCES.read_text(encoding="utf-8").split("## Compositional")[-1])
