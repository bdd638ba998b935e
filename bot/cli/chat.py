"""``medbot chat``: a terminal chat through the REST channel.

Without ``--url`` it starts the service itself (logs go to
``<data dir>/logs/``) and stops it when the chat ends.
"""

from __future__ import annotations

import argparse
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

from bot.cli.service import add_service_arguments, settings_from_args, start_in_background
from bot.cli.worker import worker_port
from bot.errors import ServiceError
from bot.outbound import OutboundError
from bot.reminders.outbox import auth_headers, fetch_outbox
from bot.service.runtime import local_address

EXIT_WORDS = {"/quit", "/exit", "/stop"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="chat with the bot in the terminal")
    p.add_argument("--url", help="REST webhook of a running medbot (default: start one)")
    p.add_argument("--sender", help="conversation id (default: a new one)")
    p.add_argument("--outbox-url", help="scheduler worker to poll for reminders "
                   "(default: the one started with the service; none with --url)")
    add_service_arguments(p)
    p.set_defaults(func=_chat)


def send(url: str, sender: str, text: str, timeout: float = 60.0,
         token: str | None = None) -> list[dict]:
    """Post one message to the REST channel; returns the bot messages.

    Args:
        token: the REST channel's bearer token (``MEDBOT_REST_TOKEN``), when it has one.
    """
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **auth_headers(token)},
        method="POST"
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


class OutboxPoller:
    """Prints proactive messages (reminders, follow-up prompts) as they arrive."""

    def __init__(self, base_url: str, sender: str, write: Callable[[str], None],
                 interval: float = 5.0, token: str | None = None) -> None:
        self.base_url, self.sender, self.write, self.interval = base_url, sender, write, interval
        self.token = token
        self.last_id = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-poller", daemon=True)

    def poll_once(self) -> None:
        try:
            messages = fetch_outbox(self.base_url, self.sender, self.last_id,
                                    token=self.token)
        except OutboundError:
            return  # the worker may be restarting; try again on the next tick
        for message in messages:
            self.last_id = max(self.last_id, int(message["id"]))
            self.write(f"medbot ⏰ > {message['text']}")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll_once()

    def start(self) -> OutboxPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


def chat_loop(url: str, sender: str, read: Callable[[str], str] = input,
              write: Callable[[str], None] = print, outbox_url: str | None = None,
              token: str | None = None) -> None:
    write("medbot — 输入 /quit 退出 (type /quit to leave)")
    poller = (OutboxPoller(outbox_url, sender, write, token=token).start()
              if outbox_url else None)
    try:
        _converse(url, sender, read, write, token)
    finally:
        if poller is not None:
            poller.stop()


def _converse(url: str, sender: str, read: Callable[[str], str],
              write: Callable[[str], None], token: str | None = None) -> None:
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
            replies = send(url, sender, text, token=token)
        except ServiceError as exc:
            write(f"[error] {exc}")
            continue
        for line in render(replies):
            write(f"medbot > {line}")


def _chat(args: argparse.Namespace) -> int:
    sender = args.sender or f"cli-{uuid.uuid4().hex[:12]}"
    settings = settings_from_args(args)
    if args.url:
        chat_loop(args.url, sender, outbox_url=args.outbox_url, token=settings.rest_token)
        return 0
    # Ctrl-C ends the chat (KeyboardInterrupt), then the service is stopped.
    supervisor = start_in_background(settings)
    try:
        host = local_address(settings.host)
        url = f"http://{host}:{settings.rasa_port}/webhooks/rest/webhook"
        outbox = args.outbox_url or f"http://{host}:{worker_port(settings)}"
        chat_loop(url, sender, outbox_url=outbox, token=settings.rest_token)
    finally:
        supervisor.stop()
    return 0
