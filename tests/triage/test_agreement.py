"""The chat and ``medbot triage`` agree on the same input: the red flags the CLI
reports are the ones the chat's screen (run on every inbound message, before the
bot) raises, and the CLI's level is the chat interview's level when no question
is answered."""

from __future__ import annotations

import json

from bot.cli import main
from bot.triage import interview
from bot.triage.red_flags import screen

from triage_testdata import DATA

BLIND = DATA / "triage_blind" / "r4"


def test_cli_and_chat_agree_on_a_blind_round(tmp_path, capsys, triage):
    rows = [json.loads(line) for path in ("probes.jsonl", "vignettes.jsonl")
            for line in (BLIND / path).read_text(encoding="utf-8").splitlines() if line.strip()]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps({"id": r["id"], "message": r["message"]},
                                          ensure_ascii=False) for r in rows) + "\n",
                     encoding="utf-8")
    assert main(["triage", "--batch", str(batch)]) == 0
    results = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    for row in rows:
        cli = results[row["id"]]
        hit = screen(row["message"])  # what the channel runs first
        assert (hit is not None) == bool(cli["red_flags"]), row["id"]
        if hit is not None:
            assert cli["level"] == "emergency" and hit.category in {f["id"] for f in cli["red_flags"]}
        chat = interview.assess(triage, row["message"], row.get("lang"), {}).result
        assert chat.level == cli["level"], row["id"]
