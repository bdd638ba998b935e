"""Level rules below emergency: each with a zh and an en case, and a near miss.

The phrasings are the team's own (not taken from any evaluation set).
"""

from __future__ import annotations

import pytest

from bot.triage import TriageCase


def fired(assessment):
    return {r.rule.removeprefix("rule:") for r in assessment.result.reasons}


# (message, level, rule that must fire)
POSITIVE = [
    # upper UTI / pyelonephritis
    ("我35岁，这三天小便又急又疼，昨天开始烧到38.5度，左边腰眼也疼", "urgent", "kidney_infection_signs"),
    ("I'm 35, peeing all the time and it stings, now a temperature of 38.5 and my left side of my back aches",
     "urgent", "kidney_infection_signs"),
    # cellulitis
    ("我52岁，脚上有个小伤口，周围又红又热，这两天红的范围越来越大", "urgent", "spreading_skin_infection"),
    ("I'm 52 and there's a red patch on my arm around a bite that's spreading, it's hot and swollen",
     "urgent", "spreading_skin_infection"),
    # worsening asthma
    ("我28岁，有哮喘，这几天哮喘犯了，晚上总被憋醒，万托林只能管两个小时", "urgent", "asthma_worsening"),
    ("I'm 28 with asthma and it's been getting worse this week, using my blue inhaler more often than usual",
     "urgent", "asthma_worsening"),
    # DVT after immobility
    ("我60岁，上周做完手术以后一直卧床，今天发现右腿肿了", "urgent", "swollen_leg_after_immobility"),
    ("I'm 60, got off a 12-hour flight yesterday and now my left leg is swollen", "urgent",
     "swollen_leg_after_immobility"),
    # Ottawa ankle rules
    ("我25岁，下楼梯崴了脚，脚踝肿了，能自己走，骨头按着不疼", "self_care", "ottawa_low_risk_injury"),
    ("I'm 25, twisted my ankle at football, it's swollen but I can walk on it and there's no bony tenderness",
     "self_care", "ottawa_low_risk_injury"),
    ("我25岁，下楼梯崴了脚，脚踝肿了，骨头按着疼", "urgent", "injury_bone_tenderness"),
    ("I'm 25, twisted my ankle and the bone hurts when I press it", "urgent", "injury_bone_tenderness"),
    # tension-type headache
    ("我30岁，这两天开会多，头像被箍住一样发紧，两边太阳穴胀，以前也有过", "self_care", "tension_type_headache"),
    ("I'm 30, after a stressful week my head feels like it's in a vice, like a tight band, had these before",
     "self_care", "tension_type_headache"),
    # mild gastroenteritis
    ("我40岁，今天拉肚子拉了三次，肚子有点绞痛，能喝水，是个男的", "self_care", "mild_gastroenteritis"),
    ("I'm a 40 year old man with diarrhoea since this morning and mild tummy cramps, drinking fine",
     "self_care", "mild_gastroenteritis"),
    # hypertension: a marked headache is urgent
    ("我55岁，血压165/100，头痛得厉害", "urgent", "hypertension_with_headache"),
    ("I'm 55, my blood pressure is 165/100 and I have a really bad headache", "urgent",
     "hypertension_with_headache"),
    # child with fever for five days (read from 烧了N天 and 最高)
    ("孩子3岁，烧了五天了，最高39，还能玩", "urgent", "fever_five_days"),
    ("my 3 year old has had a fever for 5 days, up to 39", "urgent", "fever_five_days"),
    # sudden floaters (retinal tear)
    ("我48岁，今天早上突然右眼前好多黑影飘来飘去", "urgent", "sudden_floaters"),
    ("I'm 48 and suddenly this morning I've got loads of floaters in my right eye", "urgent",
     "sudden_floaters"),
    # the youngest babies
    ("宝宝4个月大，有点鼻塞", "routine", "infant_needs_doctor"),
    ("my 4 month old has a blocked nose", "routine", "infant_needs_doctor"),
    # pain that moved from the navel to the lower right (appendicitis)
    ("肚子疼 昨晚是肚脐周围 现在跑到右下边了", "urgent", "right_lower_abdominal_pain"),
    ("tummy pain started round my belly button and has moved down to the bottom right", "urgent",
     "right_lower_abdominal_pain"),
    # a mild sprain you can walk on
    ("我30岁，崴了一下脚 有点肿 走路没问题", "self_care", "mild_sprain_walking"),
    ("I'm 30, rolled my ankle, a bit swollen but I can walk on it fine", "self_care",
     "mild_sprain_walking"),
    # a tight band on both sides after a day of meetings
    ("我40岁，开了一天会 头两边发紧", "self_care", "tension_type_headache"),
    # a painful red eye in a contact lens wearer (possible keratitis)
    ("我30岁 戴隐形眼镜的 右眼从早上开始红 疼 见光就疼", "urgent", "contact_lens_painful_eye"),
    ("I'm 30, I fell asleep with my lenses in and now my right eye is red and painful", "urgent",
     "contact_lens_painful_eye"),
    # upper UTI and cellulitis in lay English, a toddler's few wet nappies
    ("I'm 34, burning when I wee for a few days, temp 38.7 and shaking chills", "urgent",
     "kidney_infection_signs"),
    ("my dad is 70, red patch on his shin bigger than my palm, hot to touch, the edge is creeping up his leg",
     "urgent", "spreading_skin_infection"),
    ("my 18 month old has vomiting and diarrhoea, only one wet nappy since this morning", "urgent",
     "child_dehydration"),
    # after blind r13 (the team's own phrasings): an atypical heart attack, a diabetic
    # foot, shingles near the eye, and reassurance that makes a worrying message minor
    ("我爸62岁 这两天老说烧心 刚才一直冒冷汗", "emergency", "heartburn_with_sweating_over_40"),
    ("My mum is 58, says it's just indigestion but she's clammy and sweating a lot", "emergency",
     "heartburn_with_sweating_over_40"),
    ("我妈70岁 有糖尿病 脚趾上有个口子 这几天开始流脓", "urgent", "diabetic_foot_infection"),
    ("I'm 66 and diabetic, there's a cut on my heel that's oozing pus", "urgent",
     "diabetic_foot_infection"),
    ("我60岁 左边额头起了一串水泡 疼得厉害", "urgent", "shingles_near_eye"),
    ("I'm 70 with painful blisters spreading across my left forehead", "urgent", "shingles_near_eye"),
    ("孩子3岁 刚才摔了一跤磕到额头 鼓了个包 没吐 现在又在玩积木了 跟平时一样", "self_care",
     "minor_head_injury_behaving_normally"),
    ("my 4 year old bumped his head on the table, small lump, he's back playing like normal",
     "self_care", "minor_head_injury_behaving_normally"),
    ("我50岁，这几个月眼前一直有飞蚊，上个月眼科医生散瞳查过了，说没事", "self_care",
     "floaters_already_checked"),
    ("I'm 50 with floaters, my optician examined my eyes last month and said everything was fine",
     "self_care", "floaters_already_checked"),
    ("我25岁 感冒咳了好几天 左边胸口一咳就疼 用手按着也疼", "self_care", "chest_wall_pain_young"),
    ("I'm 24, my chest hurts when I cough and it's sore when I press on the ribs", "self_care",
     "chest_wall_pain_young"),
    ("儿子3岁 发烧38.6 身上起了红疹 用玻璃杯压了会褪色 现在在看电视", "self_care",
     "well_child_blanching_rash"),
    ("my 2 year old has a fever of 38.4 and a rash, I did the glass test and it fades, she's playing normally",
     "self_care", "well_child_blanching_rash"),
]

# (message, level, rule that must not fire): the near miss of each rule
NEAR_MISS = [
    ("我30岁 戴隐形眼镜 想问问护理液怎么选", "routine", "contact_lens_painful_eye"),
    ("我35岁，这三天小便有点疼，没有发烧", "routine", "kidney_infection_signs"),
    ("I'm 35, bit of burning when I pee for a couple of days, no fever, no back pain", "routine",
     "kidney_infection_signs"),
    ("我32岁，脸上起了几个红疹子，有点痒", "routine", "spreading_skin_infection"),
    ("I'm 32 and have a few itchy red spots on my arm, not hot or swollen", "routine",
     "spreading_skin_infection"),
    ("我28岁，有哮喘，平时控制得挺好，想开点吸入药", "routine", "asthma_worsening"),
    ("I'm 28, my asthma is well controlled, just need a repeat prescription for my inhaler", "routine",
     "asthma_worsening"),
    ("我60岁，天热两只脚踝有点肿，下午明显，早上就消了", "routine", "swollen_leg_after_immobility"),
    ("I'm 60 and my legs are swollen at the end of the day", "routine", "swollen_leg_after_immobility"),
    ("我25岁，下楼梯崴了脚，脚踝肿了，不能走路", "urgent", "ottawa_low_risk_injury"),
    ("I'm 25, twisted my ankle, it's swollen and I can't walk on it", "urgent", "ottawa_low_risk_injury"),
    ("我30岁，头像被箍住一样，突然开始的，越来越疼", "routine", "tension_type_headache"),
    ("I'm 30, suddenly my head feels like a tight band and it's getting worse and worse", "routine",
     "tension_type_headache"),
    ("我40岁男的，拉肚子，肚子疼得受不了", "urgent", "mild_gastroenteritis"),
    ("I'm a 40 year old man with diarrhoea and severe stomach pain", "urgent", "mild_gastroenteritis"),
    ("我55岁，高血压吃着药，最近在家量血压145/92，偶尔有点头晕，想复诊调药", "routine", "hypertension_with_headache"),
    ("I'm 55 on blood pressure tablets, home readings about 150/95, a slight headache now and then",
     "routine", "hypertension_with_headache"),
    ("孩子3岁，昨天开始发烧，最高38.5，精神挺好", "self_care", "fever_five_days"),
    ("my 3 year old has had a fever since last night, up to 38.5, playing happily", "self_care",
     "fever_five_days"),
    ("我48岁，眼前有飞蚊症好多年了，没什么变化", "routine", "sudden_floaters"),
    ("I'm 48 and have had a few floaters for years, no change", "routine", "sudden_floaters"),
    ("宝宝10个月，鼻塞流清鼻涕，吃奶睡觉都正常", "self_care", "infant_needs_doctor"),
    ("my 10 month old has a runny nose, feeding and sleeping normally", "self_care",
     "infant_needs_doctor"),
    ("我30岁，崴了脚 有点肿 骨头按着疼 能走", "urgent", "mild_sprain_walking"),
    ("I'm 30, rolled my ankle, a bit swollen and I can't walk on it", "urgent", "mild_sprain_walking"),
    ("我爸62岁 这两天老说烧心 嗓子眼往下有点难受", "self_care", "heartburn_with_sweating_over_40"),
    ("I'm 66, diabetic, a small cut on my finger that is healing fine", "routine",
     "diabetic_foot_infection"),
    ("孩子3岁 磕到头了 吐了两次 有点蔫", "emergency", "minor_head_injury_behaving_normally"),
    ("我55岁 眼前突然出现好多黑影 还有闪光", "urgent", "floaters_already_checked"),
    ("I'm 55 and my chest hurts when I press on it", "emergency", "chest_wall_pain_young"),
    ("儿子3岁 发烧39度 身上起了红疹 用杯子压了不褪色", "emergency", "well_child_blanching_rash"),
]


@pytest.mark.parametrize(("message", "level", "rule"), POSITIVE)
def test_rule_fires(rules_triage, message, level, rule):
    assessment = rules_triage.assess_text(message)
    assert rule in fired(assessment)
    assert assessment.result.level == level


@pytest.mark.parametrize(("message", "level", "rule"), NEAR_MISS)
def test_near_miss(rules_triage, message, level, rule):
    assessment = rules_triage.assess_text(message)
    assert rule not in fired(assessment)
    assert assessment.result.level == level


def test_lowering_a_base_level_never_hides_a_red_flag(rules_triage):
    # a sprain you can walk on is self-care, but a deformed limb stays an emergency
    result = rules_triage.assess(TriageCase(symptoms=("limb_injury", "limb_deformity"), age_years=25,
                                      features=("bears_weight", "no_bone_tenderness")))
    assert result.level == "emergency"
    # a band-like headache with a stated thunderclap onset is still an emergency
    result = rules_triage.assess(TriageCase(symptoms=("headache",), age_years=30,
                                      features=("band_headache",),
                                      red_flag_answers={"thunderclap_headache": True}))
    assert result.level == "emergency"


def test_tension_headache_with_fever_is_not_self_care(rules_triage):
    result = rules_triage.assess(TriageCase(symptoms=("headache", "fever"), age_years=30,
                                      features=("band_headache",), duration_days=4))
    assert result.level != "self_care"


def test_sprain_still_present_after_a_week_needs_an_appointment(rules_triage):
    result = rules_triage.assess(TriageCase(symptoms=("limb_injury", "joint_swelling"), age_years=25,
                                      features=("bears_weight", "no_bone_tenderness"),
                                      duration_days=10))
    assert result.level == "routine"


def test_symptom_level_may_not_raise_or_touch_an_emergency(tmp_path):
    import shutil

    import yaml

    from bot.kb import DEFAULT_KB_DIR as KB_DIR
    from bot.triage.kb import KnowledgeBaseError, load_knowledge

    shutil.copytree(KB_DIR, tmp_path / "kb")
    path = tmp_path / "kb" / "triage_rules.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"].append({"id": "bad", "when": {"all": ["seizure"]},
                          "symptom_level": {"seizure": "routine"},
                          "reason": {"zh": "x", "en": "x"}})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        load_knowledge(tmp_path / "kb")
