"""``medbot eval triage``: vignette accuracy and red-flag probes against targets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings
from bot.triage.evaluation import evaluate, read_jsonl
from bot.triage.pipeline import Triage

DATA_DIR = PROJECT_ROOT / "tests" / "data"
DEFAULT_VIGNETTES = ("triage_vignettes.jsonl", "triage_vignettes_holdout.jsonl",
                     "triage_vignettes_holdout2.jsonl", "triage_vignettes_holdout3.jsonl")
DEFAULT_PROBES = ("red_flag_probes.jsonl", "red_flag_probes_holdout.jsonl",
                  "red_flag_probes_holdout2.jsonl", "red_flag_probes_holdout3.jsonl")


def register_eval(eval_sub: argparse._SubParsersAction) -> None:
    parser = eval_sub.add_parser("triage", help="triage vignettes and red-flag probes")
    parser.add_argument("--vignettes", type=Path, action="append",
                        help="JSON lines with message and gold level (repeatable)")
    parser.add_argument("--probes", type=Path, action="append",
                        help="JSON lines with message and expected red flag or null (repeatable)")
    parser.add_argument("--min-accuracy", type=float, default=0.85)
    parser.add_argument("--max-under-triage", type=float, default=0.0,
                        help="largest share of emergencies triaged below emergency")
    parser.add_argument("--max-false-emergencies", type=int, default=0,
                        help="red flags raised on negation/history/question/other controls")
    parser.add_argument("--max-probe-misses", type=int, default=0,
                        help="positive probes whose expected red flag was not raised")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    vignette_files = args.vignettes or [DATA_DIR / name for name in DEFAULT_VIGNETTES]
    probe_files = args.probes or [DATA_DIR / name for name in DEFAULT_PROBES]
    vignettes = [row for f in vignette_files for row in read_jsonl(f)]
    probes = [row for f in probe_files for row in read_jsonl(f)]
    triage = Triage.from_dir(Settings.from_env().knowledge_base_dir)
    report = evaluate(triage, vignettes, probes)
    data = report.to_dict()
    failures = []
    if report.accuracy < args.min_accuracy:
        failures.append(f"accuracy {report.accuracy:.3f} < {args.min_accuracy}")
    if report.emergency_under_triage_rate > args.max_under_triage:
        failures.append(f"emergency under-triage {report.emergency_under_triage_rate:.3f} > "
                        f"{args.max_under_triage}")
    if len(report.false_emergencies) > args.max_false_emergencies:
        failures.append(f"{len(report.false_emergencies)} false emergencies on controls")
    if len(report.probe_misses) > args.max_probe_misses:
        failures.append(f"{len(report.probe_misses)} red-flag probes missed")
    if args.json:
        print(json.dumps({**data, "ruleset": triage.knowledge.ruleset, "failures": failures},
                         ensure_ascii=False, indent=2))
    else:
        _print_summary(data, triage.knowledge.ruleset)
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _print_summary(data: dict, ruleset: str) -> None:
    print(f"ruleset: {ruleset}")
    print(f"vignettes: {data['vignettes']}  accuracy: {data['accuracy']:.1%}")
    for level, acc in data["accuracy_by_level"].items():
        print(f"  {level:<10} {'-' if acc is None else f'{acc:.1%}'}")
    print(f"emergency under-triage: {data['emergency_under_triage_rate']:.1%} "
          f"(missed: {', '.join(data['emergencies_missed']) or 'none'})")
    print(f"under-triage (any level): {data['under_triage_rate']:.1%}  "
          f"over-triage: {data['over_triage_rate']:.1%}")
    if data["department_top3_accuracy"] is not None:
        print(f"department in top 3: {data['department_top3_accuracy']:.1%}")
    print(f"red-flag probes: {data['red_flag_probes']}  missed: "
          f"{', '.join(data['red_flag_probe_misses']) or 'none'}")
    print(f"controls: {data['controls']}  false emergencies: "
          f"{', '.join(data['false_emergencies']) or 'none'}")
    for error in data["errors"]:
        print(f"  mis-triaged {error['id']}: gold {error['gold']}, got {error['predicted']}")
