"""``medbot eval triage``: red-flag probes, single-message vignettes and the
simulated interview, per set, against targets.

Without files it runs every set of the checkout: ``dev`` (the project's own
older sets in ``tests/data``) and each blind round in
``tests/data/triage_blind/<round>/`` (``probes.jsonl``, ``vignettes.jsonl``),
whose first runs are recorded in ``docs/benchmarks.md``. ``--interview FILE``
runs the interview simulator instead (one JSON line per case; ``--report``
adds the summary as ``#`` lines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bot.cli import command_app
from bot.triage.evaluation import TriageReport, evaluate, read_jsonl
from bot.triage.pipeline import Triage, triage_for
from bot.triage.simulate import check_case, run_case

DATA_DIR = Path("tests/data")  # under the project root
DEV_VIGNETTES = ("triage_vignettes.jsonl", "triage_vignettes_holdout.jsonl",
                 "triage_vignettes_holdout2.jsonl", "triage_vignettes_holdout3.jsonl")
DEV_PROBES = ("red_flag_probes.jsonl", "red_flag_probes_holdout.jsonl",
              "red_flag_probes_holdout2.jsonl", "red_flag_probes_holdout3.jsonl")


def register_eval(eval_sub: argparse._SubParsersAction) -> None:
    parser = eval_sub.add_parser("triage", help="red-flag probes, vignettes, interview simulator")
    parser.add_argument("--vignettes", type=Path, action="append",
                        help="JSON lines with message and gold level (repeatable)")
    parser.add_argument("--probes", type=Path, action="append",
                        help="JSON lines with message and expected red flag or null (repeatable)")
    parser.add_argument("--interview", type=Path, metavar="FILE",
                        help='simulate the interview on JSON lines {"id", "lang", "message", "facts"}')
    parser.add_argument("--report", action="store_true",
                        help="with --interview: accuracy per level, emergencies missed, "
                             "median questions")
    parser.add_argument("--rules-only", action="store_true",
                        help="without the learned understanding layer (the baseline)")
    parser.add_argument("--min-accuracy", type=float, default=0.0)
    parser.add_argument("--max-under-triage", type=float, default=1.0,
                        help="largest share of emergencies triaged below emergency")
    parser.add_argument("--max-false-emergencies", type=int, default=None,
                        help="red flags raised on controls")
    parser.add_argument("--max-probe-misses", type=int, default=None,
                        help="positive probes whose expected red flag was not raised")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.set_defaults(func=_run)


def default_sets(root: Path) -> list[tuple[str, list[Path], list[Path]]]:
    data = root / DATA_DIR
    sets = [("dev", [data / n for n in DEV_PROBES], [data / n for n in DEV_VIGNETTES])]
    for folder in sorted(p for p in (data / "triage_blind").glob("*") if p.is_dir()):
        sets.append((f"blind {folder.name}", [folder / "probes.jsonl"],
                     [folder / "vignettes.jsonl"]))
    return sets


def _run(args: argparse.Namespace) -> int:
    settings = command_app(args).settings
    triage = triage_for(settings, learned=not args.rules_only)
    if args.interview:
        return _interview(triage, args.interview, args.report)
    if args.probes or args.vignettes:
        sets = [("given", args.probes or [], args.vignettes or [])]
    else:
        sets = default_sets(settings.project_root)
    failures, out = [], {}
    for name, probe_files, vignette_files in sets:
        probes = [row for f in probe_files if f.is_file() or args.probes for row in read_jsonl(f)]
        vignettes = [row for f in vignette_files if f.is_file() or args.vignettes
                     for row in read_jsonl(f)]
        report = evaluate(triage, vignettes, probes)
        out[name] = report.to_dict()
        failures += [f"{name}: {f}" for f in _failures(report, args)]
        if not args.json:
            _print_summary(name, out[name])
    if args.json:
        data = out["given"] if list(out) == ["given"] else out
        print(json.dumps({**data, "ruleset": triage.knowledge.ruleset, "failures": failures},
                         ensure_ascii=False, indent=2))
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _failures(report: TriageReport, args: argparse.Namespace) -> list[str]:
    failures = []
    if report.total and report.accuracy < args.min_accuracy:
        failures.append(f"accuracy {report.accuracy:.3f} < {args.min_accuracy}")
    if report.emergency_under_triage_rate > args.max_under_triage:
        failures.append(f"emergency under-triage {report.emergency_under_triage_rate:.3f} > "
                        f"{args.max_under_triage}")
    if args.max_false_emergencies is not None and \
            len(report.false_emergencies) > args.max_false_emergencies:
        failures.append(f"{len(report.false_emergencies)} false emergencies on controls")
    if args.max_probe_misses is not None and len(report.probe_misses) > args.max_probe_misses:
        failures.append(f"{len(report.probe_misses)} red-flag probes missed")
    return failures


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_summary(name: str, data: dict[str, Any]) -> None:
    print(f"== {name}")
    by_lang = "  ".join(f"{k} {_pct(v)}" for k, v in data["emergencies_recognised_by_lang"].items())
    print(f"emergency messages recognised: {_pct(data['emergencies_recognised'])}  ({by_lang})")
    fa = "  ".join(f"{k} {_pct(v)}" for k, v in data["false_emergency_rate_by_lang"].items())
    print(f"false emergencies on {data['controls']} controls: "
          f"{_pct(data['false_emergency_rate'])}  ({fa})")
    print(f"red-flag probes: {data['red_flag_probes']}  category not raised: "
          f"{len(data['red_flag_probe_misses'])}")
    if data["vignettes"]:
        print(f"single-message vignettes: {data['vignettes']}  accuracy: {data['accuracy']:.1%}")
        for level, acc in data["accuracy_by_level"].items():
            print(f"  {level:<10} {_pct(acc)}")
        print(f"emergencies missed: {', '.join(data['emergencies_missed']) or 'none'}")
    print(f"false emergencies: {', '.join(data['false_emergencies']) or 'none'}")


def _interview(triage: Triage, path: Path, report: bool) -> int:
    cases = read_jsonl(path)
    for number, case in enumerate(cases, 1):
        check_case(case, number)
    results = []
    for case in cases:
        result = run_case(triage, case)
        results.append((case, result))
        print(json.dumps(result, ensure_ascii=False))
    if report:
        for line in interview_report(results):
            print(f"# {line}")
    return 0


def interview_report(results: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    """Accuracy per gold level, emergencies missed, questions asked."""
    by_level: dict[str, list[int]] = {}
    missed = [c["id"] for c, r in results if c.get("level") == "emergency"
              and r["level"] != "emergency"]
    for case, result in results:
        if "level" not in case:
            continue
        counts = by_level.setdefault(case["level"], [0, 0])
        counts[0] += result["level"] == case["level"]
        counts[1] += 1
    total = sum(n for _, n in by_level.values())
    correct = sum(c for c, _ in by_level.values())
    lines = [f"cases: {len(results)}  level correct: {correct}/{total} "
             f"({correct / total:.1%})" if total else f"cases: {len(results)} (no gold levels)"]
    for level in ("emergency", "urgent", "routine", "self_care"):
        if level in by_level:
            c, n = by_level[level]
            lines.append(f"  {level:<10} {c}/{n} ({c / n:.1%})")
    lines.append(f"emergencies missed: {', '.join(map(str, missed)) or 'none'}")
    asked = [len(r["questions"]) for _, r in results]
    if asked:
        lines.append(f"questions: median {statistics.median(asked):g}, max {max(asked)}")
    return lines
