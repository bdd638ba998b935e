"""A real trained model and a running ``medbot run``: the helpers (the session fixtures
that use them are in tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from datetime import time as time_of_day
from pathlib import Path

import pytest

from bot.clock import offset_until
from bot.settings import PROJECT_ROOT, Settings
from bot.training import train


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningService:
    process: subprocess.Popen
    rasa_port: int
    action_port: int
    data_dir: Path
    log_path: Path
    database_url_override: str | None = None
    clock_offset_seconds: int = 0

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    @property
    def database_url(self) -> str:
        return self.database_url_override or f"sqlite:///{(self.data_dir / 'medbot.db').as_posix()}"


def clock_from_env(environ: dict[str, str] | None = None) -> time_of_day | None:
    """``MEDBOT_TEST_CLOCK=06:00``: run the service at that Beijing time of day."""
    raw = (os.environ if environ is None else environ).get("MEDBOT_TEST_CLOCK", "").strip()
    return time_of_day.fromisoformat(raw) if raw else None


def start_service(data_dir: Path, log_path: Path, timeout: float = 240,
                  extra_env: dict[str, str] | None = None,
                  clock_at: time_of_day | None = None,
                  args: tuple[str, ...] = ()) -> RunningService:
    """Start ``medbot run`` as a user would, on free ports; wait until it is up.

    Args:
        extra_env: further environment (e.g. ``MEDBOT_DATABASE_URL``, WeChat secrets).
        clock_at: start the service's clock at this local (Asia/Shanghai) time of
            day, today or tomorrow, through ``MEDBOT_CLOCK_OFFSET``; None: the real time.
        args: further ``medbot run`` options (e.g. ``--workers 2``).
    """
    rasa_port, action_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
    env["MEDBOT_DATA_DIR"] = str(data_dir)
    offset = offset_until(clock_at, "Asia/Shanghai", datetime.now(timezone.utc)) if clock_at else 0
    if offset:
        env["MEDBOT_CLOCK_OFFSET"] = str(offset)
    env.update(extra_env or {})
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop_service
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--port", str(rasa_port),
         "--action-port", str(action_port), *args],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    service = RunningService(proc, rasa_port, action_port, data_dir, log_path,
                             env.get("MEDBOT_DATABASE_URL"),
                             int(env.get("MEDBOT_CLOCK_OFFSET", "0")))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"medbot run exited early:\n{log_path.read_text()[-4000:]}")
        if b"medbot is running" in log_path.read_bytes():
            return service
        time.sleep(0.5)
    stop_service(service)
    raise RuntimeError(f"medbot run not ready in {timeout}s:\n{log_path.read_text()[-4000:]}")


def stop_service(service: RunningService, sig: int = signal.SIGTERM) -> int:
    if service.process.poll() is None:
        service.process.send_signal(sig)
        try:
            service.process.wait(60)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()
    return service.process.returncode


# The session fixtures ``trained_model``, ``service`` and ``wechat_medbot`` live in
# tests/conftest.py: a fixture imported into a test module is registered again for that
# module, so a "session" service imported into two directories started twice.


def train_once() -> Path:
    """Train once (skipped when models/ already has this fingerprint)."""
    return train(Settings.from_env({})).model_path


def post(url: str, sender: str, text: str) -> list[dict]:
    import json

    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


CONSENT_ANSWER = {"zh": "同意", "en": "I agree"}


def consented_sender(service: RunningService, prefix: str = "t", lang: str = "zh") -> str:
    """A new patient who has read the privacy notice and agreed to health-data
    processing, as every patient must before the bot handles their health
    information (issue 8)."""
    import uuid

    sender = f"{prefix}-{uuid.uuid4().hex[:8]}"
    first = texts(post(service.rest_url, sender, "你好" if lang == "zh" else "hello"))
    assert ("隐私告知" in first) if lang == "zh" else ("Privacy notice" in first), first
    thanks = texts(post(service.rest_url, sender, CONSENT_ANSWER[lang]))
    assert ("已记录" in thanks) if lang == "zh" else ("recorded" in thanks), thanks
    return sender
