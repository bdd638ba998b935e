"""The eligibility gate: each rule, and the exact reasons."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.i18n import t
from bot.revisits.eligibility import Evidence
from tests.revisits.conftest import TODAY, good_draft


def _keys(policy, draft) -> list[str]:
    return [r.key for r in policy.check(draft, TODAY).reasons]


def test_a_good_request_is_eligible(policy) -> None:
    result = policy.check(good_draft(), TODAY)
    assert result.eligible and result.condition.id == "hypertension"


def test_synonyms_in_the_diagnosis_count(policy) -> None:
    draft = good_draft(condition_id="type2_diabetes",
                       evidence=Evidence("Demo Hospital", TODAY, "T2DM, stable", None))
    assert policy.check(draft, TODAY).eligible


@pytest.mark.parametrize(("changes", "keys"), [
    ({"condition_id": "no_such"}, ["utter_revisit_reason_unknown_condition"]),
    ({"condition_id": None}, ["utter_revisit_reason_unknown_condition"]),
    ({"condition_id": "heart_failure",
      "evidence": Evidence("医院", date(2026, 9, 1), "慢性心力衰竭 心衰")},
     ["utter_revisit_reason_condition_not_eligible"]),
    ({"evidence": None}, ["utter_revisit_reason_no_evidence"]),
    ({"evidence": Evidence(" ", date(2026, 9, 1), "高血压")}, ["utter_revisit_reason_no_evidence"]),
    ({"evidence": Evidence("医院", None, "高血压")}, ["utter_revisit_reason_no_evidence"]),
    ({"evidence": Evidence("医院", date(2026, 9, 1), "胃炎")},
     ["utter_revisit_reason_diagnosis_mismatch"]),
    ({"evidence": Evidence("医院", TODAY - timedelta(days=181), "高血压")},
     ["utter_revisit_reason_evidence_too_old"]),
    ({"evidence": Evidence("医院", TODAY + timedelta(days=1), "高血压")},
     ["utter_revisit_reason_evidence_in_future"]),
    ({"red_flags_negative": False}, ["utter_revisit_reason_red_flag"]),
    ({"red_flags_negative": None}, ["utter_revisit_reason_red_flag"]),
    ({"new_or_worse_symptoms": True}, ["utter_revisit_reason_new_symptoms"]),
    ({"new_or_worse_symptoms": None}, ["utter_revisit_reason_new_symptoms"]),
    ({"new_or_worse_symptoms": True, "red_flags_negative": False},
     ["utter_revisit_reason_red_flag", "utter_revisit_reason_new_symptoms"]),
])
def test_each_rule_says_why(policy, changes, keys) -> None:
    assert _keys(policy, good_draft(**changes)) == keys


def test_validity_window_is_configurable(conditions) -> None:
    from bot.revisits.eligibility import EligibilityPolicy

    draft = good_draft(evidence=Evidence("医院", TODAY - timedelta(days=100), "高血压"))
    assert EligibilityPolicy(conditions, validity_days=180).check(draft, TODAY).eligible
    assert not EligibilityPolicy(conditions, validity_days=90).check(draft, TODAY).eligible
    edge = good_draft(evidence=Evidence("医院", TODAY - timedelta(days=180), "高血压"))
    assert EligibilityPolicy(conditions).check(edge, TODAY).eligible


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_reason_renders_in_both_languages(policy, lang) -> None:
    drafts = [good_draft(condition_id="no_such"),
              good_draft(condition_id="heart_failure", evidence=None, red_flags_negative=False,
                         new_or_worse_symptoms=True),
              good_draft(evidence=Evidence("医院", TODAY - timedelta(days=400), "胃炎")),
              good_draft(evidence=Evidence("医院", TODAY + timedelta(days=4), "高血压"))]
    for draft in drafts:
        for reason in policy.check(draft, TODAY).reasons:
            text = t(reason.key, lang, **reason.params_in(lang))
            assert text and "{" not in text, (reason.key, text)
