"""``medbot chat``: a terminal chat through the REST channel.

Without ``--url`` it starts the service itself (logs go to
``<data dir>/logs/``) and stops it when the chat ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

from bot.cli.service import add_service_arguments, prepare, settings_from_args, start_supervisor
from bot.errors import ServiceError

EXIT_WORDS = {"/quit", "/exit", "/stop"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="chat with the bot in the terminal")
    p.add_argument("--url", help="REST webhook of a running medbot (default: start one)")
    p.add_argument("--sender", help="conversation id (default: a new one)")
    add_service_arguments(p)
    p.set_defaults(func=_chat)


def send(url: str, sender: str, text: str, timeout: float = 60.0) -> list[dict]:
    """Post one message to the REST channel; returns the bot messages."""
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            return json.loads(resp.read().decode("utf-8") or "[]")
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as exc:
        raise ServiceError(f"could not reach {url}: {exc}") from exc


def render(messages: list[dict]) -> list[str]:
    lines = []
    for message in messages:
        if message.get("text"):
            lines.append(message["text"])
        for button in message.get("buttons") or []:
            lines.append(f"  [{button.get('title')}] {button.get('payload', '')}")
        if message.get("image"):
            lines.append(f"  (image) {message['image']}")
    return lines


def chat_loop(url: str, sender: str, read: Callable[[str], str] = input,
              write: Callable[[str], None] = print) -> None:
    write("medbot — 输入 /quit 退出 (type /quit to leave)")
    while True:
        try:
            text = read("你/you > ").strip()
        except EOFError:
            break
        if not text:
            continue
        if text.lower() in EXIT_WORDS:
            break
        try:
            replies = send(url, sender, text)
        except ServiceError as exc:
            write(f"[error] {exc}")
            continue
        for line in render(replies):
            write(f"medbot > {line}")


def _chat(args: argparse.Namespace) -> int:
    sender = args.sender or f"cli-{uuid.uuid4().hex[:12]}"
    if args.url:
        chat_loop(args.url, sender)
        return 0
    settings = settings_from_args(args)
    print("starting medbot (first start trains the model; this can take minutes)...",
          file=sys.stderr, flush=True)
    model = prepare(settings)
    # Ctrl-C ends the chat (KeyboardInterrupt), then the service is stopped.
    supervisor = start_supervisor(settings, model, log_dir=settings.data_dir / "logs",
                                  handle_signals=False)
    try:
        url = f"http://{settings.host}:{settings.rasa_port}/webhooks/rest/webhook"
        chat_loop(url, sender)
    finally:
        supervisor.stop()
    return 0
