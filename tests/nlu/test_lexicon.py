"""bot.kb.lexicon: synonyms, lookups and the jieba dictionary come from the KB."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.kb.lexicon import (
    JIEBA_FILE, NLU_FILE, Lexicon, build_lexicon, render_jieba_dict, render_nlu_yaml,
    stale_files, write_generated,
)
from bot.settings import PROJECT_ROOT


def test_generated_files_are_up_to_date_with_the_knowledge_base() -> None:
    stale = stale_files(PROJECT_ROOT)
    assert stale == [], "run `python -m bot.kb.lexicon` and commit the result"


def test_lay_words_map_to_one_symptom_id(lexicon: Lexicon) -> None:
    synonyms = lexicon.synonyms()
    for text in ("头疼", "头痛", "headache", "my head hurts", "脑袋疼"):
        assert lexicon.resolve("symptom", text) == "headache"
    assert synonyms["头疼"] == synonyms["my head hurts"] == "headache"


def test_brand_and_generic_drug_names_share_an_id(lexicon: Lexicon) -> None:
    for text in ("氨氯地平", "amlodipine", "络活喜", "Norvasc"):
        assert lexicon.resolve("drug", text) == "amlodipine"
    for text in ("二甲双胍", "metformin", "格华止"):
        assert lexicon.resolve("drug", text) == "metformin"


def test_resolve_accepts_ids_and_is_type_aware(lexicon: Lexicon) -> None:
    assert lexicon.resolve("department", "cardiology") == "cardiology"
    assert lexicon.resolve("department", "心内科") == "cardiology"
    # 高血压 names a condition and a symptom synonym; each type resolves its own.
    assert lexicon.resolve("condition", "高血压") == "hypertension"
    assert lexicon.resolve("symptom", "高血压") == "high_blood_pressure"
    assert lexicon.resolve("drug", "头疼") is None


def test_cross_type_texts_go_to_the_priority_type(lexicon: Lexicon) -> None:
    assert lexicon.synonyms()["高血压"] == "hypertension"
    assert "高血压" in lexicon.ambiguous()


def test_generated_nlu_file_is_valid_rasa_yaml() -> None:
    data = yaml.safe_load((PROJECT_ROOT / NLU_FILE).read_text(encoding="utf-8"))
    kinds = {next(iter(item)) for item in data["nlu"]}
    assert kinds == {"synonym", "lookup", "regex"}
    assert data["version"] == "3.1"


def test_jieba_dictionary_holds_han_words_only(lexicon: Lexicon) -> None:
    words = render_jieba_dict(lexicon).splitlines()
    assert "头疼" in words and "心内科" in words and "氨氯地平" in words and "高血压" in words
    assert all(w and " " not in w and not any(c.isascii() for c in w) for w in words)


def test_kb_files_are_versioned_and_complete() -> None:
    drugs = load_kb_file("drugs")["drugs"]
    conditions = load_kb_file("conditions")["conditions"]
    departments = {d["id"] for d in load_kb_file("departments")["departments"]}
    assert len(drugs) >= 30
    for drug in drugs:
        assert drug["zh"] and drug["en"] and drug["forms"] and drug["synonyms"]
    for cond in conditions:
        assert cond["department"] in departments, cond["id"]
        assert isinstance(cond["revisit_eligible"], bool)
    ids = {c["id"] for c in conditions}
    assert {"hypertension", "type2_diabetes", "hyperlipidemia", "asthma", "gout",
            "hypothyroidism", "chronic_gastritis", "copd", "coronary_heart_disease"} <= ids


def _mini_kb(tmp_path: Path, symptoms: str) -> Path:
    kb = tmp_path / "knowledge_base"
    kb.mkdir()
    (kb / "symptoms.yml").write_text(symptoms, encoding="utf-8")
    for name in ("departments", "drugs", "conditions"):
        (kb / f"{name}.yml").write_text(f'version: "1"\n{name}: []\n', encoding="utf-8")
    return kb


def test_render_and_write_from_a_small_kb(tmp_path: Path) -> None:
    kb = _mini_kb(tmp_path, textwrap.dedent("""\
        version: "1"
        symptoms:
          - {id: cough, zh: 咳嗽, en: cough, synonyms: {zh: [干咳], en: [coughing]}}
        """))
    lexicon = build_lexicon(kb)
    nlu = render_nlu_yaml(lexicon)
    assert "- synonym: cough" in nlu and "    - 干咳" in nlu and "    - coughing" in nlu
    assert "- lookup: symptom_zh" in nlu and "- regex: symptom_en" in nlu
    changed = write_generated(tmp_path, kb)
    assert sorted(p.relative_to(tmp_path) for p in changed) == sorted([NLU_FILE, JIEBA_FILE])
    assert write_generated(tmp_path, kb) == []
    assert stale_files(tmp_path, kb) == []


def test_one_text_for_two_ids_of_a_type_is_an_error(tmp_path: Path) -> None:
    kb = _mini_kb(tmp_path, textwrap.dedent("""\
        version: "1"
        symptoms:
          - {id: a, zh: 头疼, en: a}
          - {id: b, zh: 头疼, en: b}
        """))
    with pytest.raises(KnowledgeBaseError):
        build_lexicon(kb)
