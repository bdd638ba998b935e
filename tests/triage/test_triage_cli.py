"""``medbot triage`` and ``medbot eval triage`` through ``bot.cli.main``."""

from __future__ import annotations

import json

from bot.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_triage_json(capsys):
    code, out, _ = run(capsys, "triage", "--json", "我想挂下周的心内科，刚才胸口压着疼还一直出汗")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == {"level", "departments", "red_flags", "reasons", "ruleset"}
    assert data["level"] == "emergency"
    assert data["departments"][0] == "emergency"
    assert data["red_flags"][0]["id"] == "cardiac_chest_pain"


def test_cli_and_pipeline_agree(capsys, triage):
    text = "I've had a cough for four weeks now, no fever"
    _, out, _ = run(capsys, "triage", "--json", text)
    assert json.loads(out)["level"] == triage.assess_text(text).result.level == "routine"


def test_batch(capsys, tmp_path):
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "a", "message": "没有胸痛，就是咳嗽"},
        {"id": 7, "message": "my 6 week old baby has a fever of 38.2"},
    ]) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "triage", "--batch", str(batch))
    assert code == 0
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["id"] for r in rows] == ["a", 7]
    assert [r["level"] for r in rows] == ["self_care", "emergency"]


def test_bad_input_exits_2(capsys, tmp_path):
    assert run(capsys, "triage")[0] == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n", encoding="utf-8")
    assert run(capsys, "triage", "--batch", str(bad))[0] == 2


def test_store_needs_and_uses_the_database(capsys, tmp_path, monkeypatch):
    from bot.cli.triage import _service

    monkeypatch.setenv("MEDBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    assert run(capsys, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, "triage", "--store", "--json", "流鼻涕")
    assert code == 0 and json.loads(out)["level"] == "self_care"
    from sqlalchemy import text

    from bot.settings import Settings
    from bot.store.db import Database

    db = Database.from_settings(Settings.from_env())
    with db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from triage_records")).scalar() == 1
    db.dispose()
    assert _service is not None


def test_eval_prints_every_set(capsys):
    code, out, err = run(capsys, "eval", "triage")
    assert code == 0, err  # no targets unless asked for
    assert "== dev" in out and "== blind r1" in out
    assert "emergency messages recognised" in out and "single-message vignettes" in out


def test_eval_fails_below_targets(capsys, tmp_path):
    code, _, err = run(capsys, "eval", "triage", "--min-accuracy", "1.01")
    assert code == 1 and "accuracy" in err
    vignettes = tmp_path / "v.jsonl"
    vignettes.write_text(json.dumps({"id": "x", "message": "流鼻涕", "level": "emergency"}) + "\n",
                         encoding="utf-8")
    probes = tmp_path / "p.jsonl"
    probes.write_text(json.dumps({"id": "c", "message": "我胸口压着疼还出冷汗", "expect": None})
                      + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "eval", "triage", "--json", "--vignettes", str(vignettes),
                       "--probes", str(probes), "--min-accuracy", "0",
                       "--max-under-triage", "0", "--max-false-emergencies", "0")
    data = json.loads(out)
    assert code == 1
    assert data["emergencies_missed"] == ["x"] and data["false_emergencies"]
