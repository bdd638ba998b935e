"""Convert a blind NLU holdout (jsonl, the writer's labels) to the project's
held-out format, mapping label names only (decided before the first run).

    python scripts/nlu_blind_convert.py tests/data/nlu_blind/r2/nlu.jsonl nlu_data/tests/nlu_blind_r2.yml r2

The same name map serves every round; a label the project has under the same name
(ask_capabilities, report_symptoms, ...) maps to itself."""
import json, sys, collections
MAP = {"greeting": "greet", "thanks": "thank", "set_reminder": "set_medication_reminder",
       "list_reminders": "list_medication_reminders", "cancel_reminder": "cancel_medication_reminder",
       "reminder_taken": "dose_taken", "reminder_skipped": "dose_skipped",
       "reminder_snooze": "snooze_reminder", "give_consent": "affirm", "change_language": "switch_language",
       "stop": "deny", "out_of_scope": "nlu_fallback"}
src, dst = sys.argv[1], sys.argv[2]
round_name = sys.argv[3] if len(sys.argv) > 3 else "r1"
groups = collections.defaultdict(list)
for line in open(src, encoding="utf-8"):
    if line.strip():
        r = json.loads(line)
        groups[(MAP.get(r["intent"], r["intent"]), r["lang"])].append(r["text"])
out = [f"# Blind NLU holdout {round_name} (issue 15 item 7): written by a helper session that never saw the",
       "# training data; labels mapped by name only (see docs/benchmarks.md). Never used for training.",
       'version: "3.1"', "nlu:"]
for (intent, lang), texts in sorted(groups.items()):
    out += [f"- intent: {intent}", f"  metadata: {{lang: {lang}}}", "  examples: |"]
    out += ["    - " + t.replace("\n", " ") for t in texts]
open(dst, "w", encoding="utf-8").write("\n".join(out) + "\n")
print(sum(len(v) for v in groups.values()), "messages")
