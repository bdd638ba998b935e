"""The knowledge base: versions, sizes, schema the NLU generator relies on."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from bot.errors import KnowledgeBaseError
from bot.kb import DEFAULT_KB_DIR, load_kb_file
from bot.triage.kb import LEVELS, load_knowledge


def test_every_kb_file_has_a_version():
    files = sorted(DEFAULT_KB_DIR.glob("*.yml"))
    assert files
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert isinstance(data.get("version"), str) and data["version"].strip(), file


def test_symptoms_schema_and_size():
    symptoms = load_kb_file("symptoms")["symptoms"]
    assert len(symptoms) >= 80
    for item in symptoms:
        assert set(item) == {"id", "zh", "en", "synonyms"}, item["id"]
        assert re.fullmatch(r"[a-z][a-z0-9_]*", item["id"])
        assert set(item["synonyms"]) == {"zh", "en"}
        assert all(isinstance(w, str) and w for lang in ("zh", "en") for w in item["synonyms"][lang])


def test_no_phrase_names_two_symptoms():
    counts = Counter()
    for item in load_kb_file("symptoms")["symptoms"]:
        for word in {item["zh"], item["en"].lower(), *item["synonyms"]["zh"],
                     *(w.lower() for w in item["synonyms"]["en"])}:
            counts[word] += 1
    assert [w for w, n in counts.items() if n > 1] == []


def test_departments_schema_and_size():
    departments = load_kb_file("departments")["departments"]
    assert len(departments) >= 20
    names = {d["zh"] for d in departments}
    for required in ("心内科", "神经内科", "呼吸内科", "消化内科", "儿科", "妇产科", "眼科", "耳鼻喉科",
                     "口腔科", "皮肤科", "骨科", "神经外科", "普外科", "泌尿外科", "内分泌科", "急诊科",
                     "精神心理科", "感染科", "肾内科", "风湿免疫科", "全科医学科"):
        assert required in names
    for item in departments:
        assert set(item) == {"id", "zh", "en", "synonyms"}
        assert set(item["synonyms"]) == {"zh", "en"}


def test_red_flags_bilingual_and_required_categories():
    knowledge = load_knowledge()
    ids = {c.id for c in knowledge.red_flags}
    assert len(ids) >= 12
    assert {"cardiac_chest_pain", "stroke_fast", "breathing_difficulty", "severe_bleeding",
            "unconscious_or_seizure", "anaphylaxis", "infant_fever", "suicidal_intent",
            "major_trauma_or_burns", "thunderclap_headache", "poisoning_overdose"} <= ids
    for category in knowledge.red_flags:
        for text in (category.name, category.advice, category.question, category.safety_net):
            assert text.zh and text.en
        assert category.triggers or category.combos
        assert set(category.if_unknown.values()) <= set(LEVELS)


def test_every_symptom_has_a_rule_and_every_rule_is_bilingual():
    knowledge = load_knowledge()
    assert set(knowledge.rules["symptoms"]) == set(knowledge.symptoms)
    for rule in knowledge.rules["rules"]:
        assert rule["reason"]["zh"] and rule["reason"]["en"]


def test_a_dangling_id_fails_at_load(tmp_path):
    for name in ("symptoms", "departments", "red_flags", "triage_rules"):
        (tmp_path / f"{name}.yml").write_text(
            (DEFAULT_KB_DIR / f"{name}.yml").read_text(encoding="utf-8"), encoding="utf-8")
    rules = tmp_path / "triage_rules.yml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "prefer: [ophthalmology]", "prefer: [no_such_department]"), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        load_knowledge(tmp_path)


def test_a_key_given_twice_fails_at_load(tmp_path):
    """YAML keeps the last of two equal keys: a second ``painful_urination:`` under
    ``patterns:`` would drop the first one's patterns without a word."""
    (tmp_path / "twice.yml").write_text(
        'version: "1"\npatterns:\n  painful_urination:\n    - a\n  painful_urination:\n    - b\n',
        encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="given twice"):
        load_kb_file("twice", tmp_path)


def test_no_kb_file_gives_a_key_twice():
    for file in sorted(DEFAULT_KB_DIR.glob("*.yml")):
        load_kb_file(file.stem)  # raises on a repeated key
