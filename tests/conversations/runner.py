"""Multi-turn conversation tests that drive the real server (issue 15 item 8).

A conversation file (``tests/conversations/*.yml``) is a list of conversations::

    - name: erase_is_never_inferred_after_a_reminder_zh
      persona: chronic patient          # who is typing (free text, for the reader)
      lang: zh                          # zh | en | mixed
      consent: agree                    # agree (default) | none: start from the first message
      why: issue 15 harmful case 1      # what real failure or persona it comes from
      turns:
        - user: 提醒我每天早上7点吃缬沙坦80mg
          expect: ["80mg", "07:00"]     # every one of these appears in the reply
          any: ["确认", "对吗"]          # at least one of these appears
          not: ["5mg"]                  # none of these appears
          regex: ["\\d{2}:\\d{2}"]     # every pattern matches
          fallback_ok: false            # default: the generic "didn't get that" is a failure

Every turn must get a non-empty reply; the generic fallback reply fails a turn unless
``fallback_ok`` is set. Substrings are matched case-insensitively. Each conversation
runs as a new patient (a fresh sender id), after the privacy notice and a yes to
health-data processing unless ``consent: none``.

Run against a live service (``medbot run``) without pytest::

    .venv/bin/python -m tests.conversations.runner --url http://127.0.0.1:5005/webhooks/rest/webhook \
        tests/conversations/booking.yml [-k name-substring] [-v]

In the test suite, ``tests/integration/test_conversations.py`` runs every file against
the session's service.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
FALLBACK_MARKS = ("抱歉，我没太明白", "Sorry, I didn't quite get that")
CONSENT = {"zh": ("你好", "隐私告知", "同意", "已记录"),
           "en": ("hello", "Privacy notice", "I agree", "recorded")}
_CHECK_KEYS = {"user", "expect", "any", "not", "regex", "fallback_ok", "note"}


@dataclass
class Turn:
    user: str
    expect: list[str] = field(default_factory=list)
    any: list[str] = field(default_factory=list)
    not_: list[str] = field(default_factory=list)
    regex: list[str] = field(default_factory=list)
    fallback_ok: bool = False


@dataclass
class Conversation:
    name: str
    lang: str
    turns: list[Turn]
    consent: str = "agree"
    persona: str = ""
    why: str = ""
    source: str = ""


def _strings(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def load(paths: list[Path] | None = None) -> list[Conversation]:
    """Every conversation in the given files (default: all of tests/conversations/*.yml)."""
    out: list[Conversation] = []
    seen: set[str] = set()
    for path in paths or sorted(HERE.glob("*.yml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            name = raw["name"]
            if name in seen:
                raise ValueError(f"{path.name}: conversation name {name!r} used twice")
            seen.add(name)
            turns = []
            for t in raw["turns"]:
                if not isinstance(t.get("user"), str):
                    raise ValueError(f"{path.name}:{name}: user turn {t.get('user')!r} is not a "
                                     "string (quote yes/no/on/off and numbers in YAML)")
                unknown = set(t) - _CHECK_KEYS
                if unknown:
                    raise ValueError(f"{path.name}:{name}: unknown turn keys {sorted(unknown)}")
                turns.append(Turn(str(t["user"]), _strings(t.get("expect")),
                                  _strings(t.get("any")), _strings(t.get("not")),
                                  _strings(t.get("regex")), bool(t.get("fallback_ok"))))
            lang = raw.get("lang", "zh")
            if lang not in ("zh", "en", "mixed"):
                raise ValueError(f"{path.name}:{name}: lang must be zh, en or mixed")
            out.append(Conversation(name, lang, turns, raw.get("consent", "agree"),
                                    raw.get("persona", ""), raw.get("why", ""), path.name))
    return out


def post(url: str, sender: str, text: str, token: str | None = None) -> str:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as resp:
        return "\n".join(m.get("text", "") for m in json.loads(resp.read()) if m.get("text"))


def check(turn: Turn, reply: str) -> list[str]:
    """What is wrong with this reply to this turn (empty: nothing)."""
    problems = []
    low = reply.lower()
    if not reply.strip():
        problems.append("no reply at all")
    if not turn.fallback_ok and any(m.lower() in low for m in FALLBACK_MARKS):
        problems.append("generic fallback reply")
    problems += [f"missing {s!r}" for s in turn.expect if s.lower() not in low]
    if turn.any and not any(s.lower() in low for s in turn.any):
        problems.append(f"none of {turn.any!r}")
    problems += [f"must not say {s!r}" for s in turn.not_ if s.lower() in low]
    problems += [f"no match for /{p}/" for p in turn.regex if not re.search(p, reply)]
    return problems


def run(conversation: Conversation, url: str, token: str | None = None,
        sender: str | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Play a conversation; return (failures, transcript)."""
    sender = sender or f"conv-{uuid.uuid4().hex[:10]}"
    transcript: list[tuple[str, str]] = []
    if conversation.consent == "agree":
        lang = "en" if conversation.lang == "en" else "zh"
        hello, notice, yes, recorded = CONSENT[lang]
        for text, mark in ((hello, notice), (yes, recorded)):
            reply = post(url, sender, text, token)
            transcript.append((text, reply))
            if mark.lower() not in reply.lower():
                return [f"consent preamble: {mark!r} not in reply to {text!r}"], transcript
    failures = []
    for number, turn in enumerate(conversation.turns, 1):
        reply = post(url, sender, turn.user, token)
        transcript.append((turn.user, reply))
        failures += [f"turn {number} ({turn.user!r}): {p}" for p in check(turn, reply)]
    return failures, transcript


def format_transcript(transcript: list[tuple[str, str]]) -> str:
    lines = []
    for user, bot in transcript:
        lines.append(f"  > {user}")
        lines += [f"    {line}" for line in (bot or "(no reply)").splitlines()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:5005/webhooks/rest/webhook")
    parser.add_argument("--token", default=None, help="REST bearer token, when one is set")
    parser.add_argument("-k", default="", help="only conversations whose name contains this")
    parser.add_argument("-v", action="store_true", help="print every transcript")
    args = parser.parse_args(argv)
    conversations = [c for c in load(args.files or None) if args.k in c.name]
    failed = 0
    for conv in conversations:
        failures, transcript = run(conv, args.url, args.token)
        status = "FAIL" if failures else "ok"
        print(f"[{status}] {conv.source}:{conv.name}")
        if failures:
            failed += 1
            print("\n".join("  - " + f for f in failures))
        if failures or args.v:
            print(format_transcript(transcript))
    print(f"{len(conversations) - failed}/{len(conversations)} conversations pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
