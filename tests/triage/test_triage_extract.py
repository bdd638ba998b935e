"""Free-text extraction: symptoms with negation, age, sex, pregnancy, duration, severity."""

from __future__ import annotations

import pytest


def case(triage, text):
    return triage.extract(text).case


def test_symptoms_longest_match_and_negation(triage):
    c = case(triage, "没有胸痛，就是咳嗽，嗓子疼")
    assert c.symptoms == ("cough", "sore_throat")
    assert "chest_pain" not in c.symptoms
    assert case(triage, "I don't have a fever, but I have a headache").symptoms == ("headache",)


def test_adverbs_inside_phrases(triage):
    assert "eye_pain" in case(triage, "眼睛也疼").symptoms
    assert "chest_pain" in case(triage, "胸口好痛").symptoms
    assert "chest_pain" not in case(triage, "胸口不疼").symptoms


def test_english_possessives(triage):
    assert "testicular_pain" in case(triage, "pain in his testicle").symptoms


@pytest.mark.parametrize("text, years", [
    ("我女儿2个月大发烧", 2 * 30 / 365),
    ("宝宝才6周大", 6 * 7 / 365),
    ("我今年45岁，这两天大便发黑", 45),
    ("my 4 month old has a fever", 4 * 30 / 365),
    ("I'm 58", 58),
    ("新生儿黄疸", 0),
])
def test_age(triage, text, years):
    assert case(triage, text).age_years == pytest.approx(years, abs=0.01)


def test_sex_and_pregnancy(triage):
    c = case(triage, "孕28周，肚子疼")
    assert c.pregnant is True and c.pregnancy_weeks == 28 and c.sex == "female"
    assert c.duration_days is None  # "28周" is a gestation, not a duration
    assert case(triage, "没怀孕，月经推迟了").pregnant is False
    assert case(triage, "I'm 12 weeks pregnant").pregnancy_weeks == 12
    assert case(triage, "我儿子肚子疼").sex == "male"
    assert case(triage, "my daughter has a rash").sex == "female"
    assert case(triage, "来月经的时候肚子疼").pregnant is False


@pytest.mark.parametrize("text, days", [
    ("咳嗽3天了", 3), ("发烧两周", 14), ("头疼半个月", 15), ("for 3 days", 3),
    ("a couple of weeks", 14), ("since yesterday", 1), ("咳嗽一个多月", 30),
])
def test_duration(triage, text, days):
    assert case(triage, text).duration_days == pytest.approx(days)


@pytest.mark.parametrize("text, age, days", [
    ("宝宝九个月 鼻子塞 有点清鼻涕", 0.75, None), ("baby is 9 months, blocked nose", 0.75, None),
    ("宝宝九个月 发烧两天了", 0.75, 2), ("my 9 month old has had a cough for 3 days", 0.75, 3),
])
def test_an_age_is_not_also_a_duration(triage, text, age, days):
    c = case(triage, text)
    assert c.age_years == pytest.approx(age, abs=0.01)
    assert c.duration_days == (None if days is None else pytest.approx(days))


@pytest.mark.parametrize("text, symptom", [
    ("昨天搬箱子闪了腰 下背疼 能贴膏药吗", "back_pain"),
    ("孩子拉肚子 一天三次 要不要吃药", "diarrhea"),
])
def test_a_practical_question_after_the_symptoms_keeps_them(triage, text, symptom):
    assert symptom in case(triage, text).symptoms


@pytest.mark.parametrize("text", ["中风 有什么症状", "心梗 前兆是什么"])
def test_an_information_question_stays_a_question(triage, text):
    assert not case(triage, text).symptoms


@pytest.mark.parametrize("text, severity", [
    ("疼得厉害", "severe"), ("unbearable pain", "severe"), ("有点头疼", "mild"),
    ("a bit of a headache", "mild"), ("头疼", None),
])
def test_severity(triage, text, severity):
    assert case(triage, text).severity == severity


def test_measurements_become_findings(triage):
    c = case(triage, "血压量了190/120，头胀")
    assert c.vitals.systolic_bp == 190 and "high_blood_pressure" in c.symptoms
    c = case(triage, "刚测血糖2.1，出冷汗")
    assert c.vitals.glucose_mmol == 2.1 and "low_blood_sugar" in c.symptoms
    c = case(triage, "the thermometer says 38.4")
    assert c.vitals.temperature_c == 38.4 and "fever" in c.symptoms


def test_self_report(triage):
    assert case(triage, "我头疼").self_report is True
    assert case(triage, "我儿子头疼").self_report is False


# -- security review: everyday spellings, and impossible values are not stated ------------

@pytest.mark.parametrize("text, years", [
    ("my 9 yr old has a fever and a rash", 9), ("9yo with a rash", 9), ("my 9 y/o son", 9),
    ("a 9-yr-old girl", 9), ("my 9 yrs old son", 9), ("18 mos old baby", 18 / 12),
    ("my 6 wks old baby", 42 / 365), ("my 2 m/o", 2 / 12), ("孩子两岁半", 2.5),
    ("宝宝1岁3个月", 1.25), ("我三十多岁", 30), ("孩子3个月大", 3 / 12),
])
def test_age_spellings(triage, text, years):
    assert case(triage, text).age_years == pytest.approx(years, abs=0.01)


@pytest.mark.parametrize("text", ["我150岁", "我-5岁", "-9yo", "我今年45岁3个月前开始咳嗽 999岁"])
def test_impossible_ages_are_not_stated(triage, text):
    age = case(triage, text).age_years
    assert age is None or 0 <= age <= 120
    if "45岁" in text:
        assert age == 45


@pytest.mark.parametrize("text, days", [
    ("咳嗽6 wks", 42), ("for 2 hrs", 2 / 24), ("3 mos of back pain", 90), ("咳嗽3-5天", 5),
    ("吃99999999999999天", None), ("咳嗽999999天", None), ("咳嗽-3天", None),
])
def test_duration_spellings_and_bounds(triage, text, days):
    found = case(triage, text).duration_days
    assert found == (pytest.approx(days, abs=0.01) if days is not None else None)


@pytest.mark.parametrize("text, temperature, systolic, glucose", [
    ("发烧1039度", None, None, None),  # was 39 (the tail of the number)
    ("体温-38度", None, None, None), ("体温 390", None, None, None),
    ("temp 102", 38.9, None, None), ("发烧100度", None, None, None),  # 度 is Celsius
    ("血压 120/800", None, None, None),  # was 120/80
    ("血压-120/80", None, None, None), ("血压 200/300", None, None, None),
    ("血糖 1234", None, None, None),  # was 12 (the head of the number)
    ("血糖 0.8，出冷汗", None, None, 0.8),  # very low is kept: it must raise the alarm
])
def test_impossible_measurements_are_not_stated(triage, text, temperature, systolic, glucose):
    vitals = case(triage, text).vitals
    assert (vitals.temperature_c, vitals.systolic_bp, vitals.glucose_mmol) == (
        temperature, systolic, glucose)


@pytest.mark.parametrize("text, celsius", [
    ("满月刚过几天 肛温38.0", 38.0), ("宝宝7个星期 耳温38.4", 38.4), ("腋温37.6", 37.6),
])
def test_where_the_temperature_was_taken(triage, text, celsius):
    assert case(triage, text).vitals.temperature_c == pytest.approx(celsius)


@pytest.mark.parametrize("text", [
    "正蹲厕所呢 头突然像炸开一样疼",        # 呢 inside a sentence: "while"
    "喉咙好像被什么堵住了 吞口水都难",      # 被什么: "by something"
])
def test_particles_that_ask_nothing(triage, text):
    scan = triage.screen.scan(text)
    assert all(not clause.interrogative for clause in scan.clauses), text


@pytest.mark.parametrize("text, age", [
    ("我家老二两个月零十天 体温三十八度二", 0.194),  # months and days; a child's rank is no numeral
    ("宝宝三个月", 0.25),  # three months is not under three months
    ("bubs is 6 wks, 38.4 on the thermometer", 0.115),
])
def test_ages_to_the_day_and_in_twelfths(triage, text, age):
    assert case(triage, text).age_years == pytest.approx(age, abs=0.002)


@pytest.mark.parametrize("text, celsius", [
    ("体温三十八度二", 38.2), ("烧到三十九度", 39.0), ("38.4 on the thermometer", 38.4),
    ("烧了三十九个小时", None),  # hours, not degrees
])
def test_temperatures_in_chinese_numerals_and_on_the_thermometer(triage, text, celsius):
    assert case(triage, text).vitals.temperature_c == celsius


@pytest.mark.parametrize("text, fires", [
    ("宝宝两个月 洗完澡量体温37.4 算发烧吗", False),  # under 38 °C: no infant fever
    ("我家老二两个月零十天 体温三十八度二 要不要等明天再看", True),
    ("bubs is 6 wks, 38.4 on the thermometer, my dad says just give her some calpol", True),
])
def test_a_babys_fever_needs_38_degrees(rules_triage, text, fires):
    hit = rules_triage.screen.screen(text)
    assert (hit is not None and hit.category == "infant_fever") == fires
