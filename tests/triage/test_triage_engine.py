"""The engine on structured cases: levels, departments, unknowns, reasons."""

from __future__ import annotations

from bot.triage import TriageCase, Vitals


def assess(triage, **facts):
    return triage.assess(TriageCase(**facts))


def rules(result):
    return [r.rule for r in result.reasons]


def test_levels_from_symptoms(triage):
    assert assess(triage, symptoms=("runny_nose",), age_years=30).level == "self_care"
    assert assess(triage, symptoms=("toothache",), age_years=30).level == "routine"
    assert assess(triage, symptoms=("eye_pain",), age_years=30).level == "urgent"
    assert assess(triage, symptoms=("seizure",), age_years=30).level == "emergency"


def test_red_flag_answer_yes_is_emergency_with_ed_first(triage):
    result = assess(triage, symptoms=("chest_pain",), age_years=30,
                    red_flag_answers={"cardiac_chest_pain": True})
    assert result.level == "emergency"
    assert result.departments[0] == "emergency"
    assert "red_flag:cardiac_chest_pain" in rules(result)
    assert [h.category for h in result.red_flags] == ["cardiac_chest_pain"]


def test_unknown_answers_count_conservatively(triage):
    unknown = assess(triage, symptoms=("wheezing",), age_years=30)
    denied = assess(triage, symptoms=("wheezing",), age_years=30,
                    red_flag_answers={"breathing_difficulty": False})
    assert unknown.level == "urgent" and "unknown:breathing_difficulty" in rules(unknown)
    assert "red_flag:breathing_difficulty" in unknown.missing
    assert denied.level == "routine"
    assert "red_flag:breathing_difficulty" not in denied.missing


def test_chest_pain_over_40_unless_cardiac_cause_denied(triage):
    assert assess(triage, symptoms=("chest_pain",), age_years=55).level == "emergency"
    assert assess(triage, symptoms=("chest_pain",), age_years=25).level == "urgent"
    denied = assess(triage, symptoms=("chest_pain",), age_years=55,
                    red_flag_answers={"cardiac_chest_pain": False})
    assert denied.level == "urgent"


def test_child_goes_to_paediatrics(triage):
    adult = assess(triage, symptoms=("cough", "fever"), age_years=35)
    child = assess(triage, symptoms=("cough", "fever"), age_years=6)
    assert adult.departments[0] == "respiratory" or "pediatrics" not in adult.departments
    assert child.departments[0] == "pediatrics"
    assert "rule:child_to_paediatrics" in rules(child)
    # surgical and specialty departments stay
    assert assess(triage, symptoms=("toothache",), age_years=6).departments[0] == "stomatology"


def test_infant_fever_by_age(triage):
    assert assess(triage, symptoms=("fever",), age_years=0.1).level == "emergency"
    assert assess(triage, symptoms=("fever",), age_years=0.4).level == "urgent"
    assert assess(triage, symptoms=("fever",), age_years=30).level == "self_care"


def test_pregnancy_and_sex_rules(triage):
    pregnant = assess(triage, symptoms=("abdominal_pain",), age_years=28, sex="female",
                      pregnant=True)
    assert pregnant.departments[0] == "obstetrics_gynecology"
    assert pregnant.level == "urgent"
    bleeding = assess(triage, symptoms=("abdominal_pain", "vaginal_bleeding"), age_years=28,
                      sex="female", pregnant=True, red_flag_answers={"pregnancy_emergency": True})
    assert bleeding.level == "emergency"
    man = assess(triage, symptoms=("pelvic_pain",), age_years=40, sex="male")
    woman = assess(triage, symptoms=("pelvic_pain",), age_years=40, sex="female", pregnant=False)
    assert man.departments[0] == "urology"
    assert woman.departments[0] == "obstetrics_gynecology"
    assert woman.level == "routine"


def test_combinations(triage):
    eye = assess(triage, symptoms=("headache", "eye_pain"), age_years=60)
    assert eye.departments[0] == "ophthalmology" and "rule:headache_with_eye_pain" in rules(eye)
    head = assess(triage, symptoms=("head_injury", "headache"), age_years=30,
                  red_flag_answers={"major_trauma_or_burns": False})
    assert head.departments[0] == "neurosurgery" and head.level == "urgent"
    dvt = assess(triage, symptoms=("leg_swelling", "calf_pain"), age_years=50)
    assert dvt.level == "urgent"


def test_duration_severity_and_vitals(triage):
    assert assess(triage, symptoms=("cough",), age_years=30, duration_days=30).level == "routine"
    assert assess(triage, symptoms=("cough",), age_years=30, duration_days=5).level == "self_care"
    assert assess(triage, symptoms=("fever",), age_years=30, duration_days=6).level == "urgent"
    assert assess(triage, symptoms=("back_pain",), age_years=30, severity="severe").level == "urgent"
    hot = assess(triage, symptoms=("fever",), age_years=30, vitals=Vitals(temperature_c=40.2))
    assert hot.level == "urgent"


def test_no_symptoms_is_routine_general_practice(triage):
    result = assess(triage)
    assert result.level == "routine" and result.departments == ("general_practice",)


def test_safety_net_and_ruleset(triage):
    result = assess(triage, symptoms=("headache",), age_years=30)
    assert result.safety_net and all(n.zh and n.en for n in result.safety_net)
    assert "120" in result.safety_net[-1].zh
    assert result.ruleset.startswith("symptoms=") and "triage_rules=" in result.ruleset
    assert all(r.text.zh and r.text.en for r in result.reasons)


def test_deterministic(triage):
    case = TriageCase(symptoms=("abdominal_pain", "fever", "vomiting"), age_years=9)
    assert triage.assess(case) == triage.assess(case)


def test_free_text_and_known_facts_merge(triage):
    a = triage.assess_text("我肚子疼", "zh", age_years=6.0)
    assert a.case.age_years == 6.0 and a.result.departments[0] == "pediatrics"
    b = triage.assess_text("胸口疼", "zh", red_flag_answers={"cardiac_chest_pain": True})
    assert b.result.level == "emergency"
