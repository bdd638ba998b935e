"""``python -m bot worker scheduler`` as a real process: health, send, outbox poll, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from bot.cli.worker import scheduler_worker_spec
from bot.reminders.outbox import fetch_outbox
from bot.reminders.planner import add_job
from bot.settings import PROJECT_ROOT, Settings
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.repositories import PatientRepository


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local
        return json.loads(resp.read())


def test_scheduler_process_delivers_to_the_rest_outbox(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'medbot.db'}"
    db = Database(url)
    upgrade(db)
    with db.begin() as s:
        patient = PatientRepository().get_or_create(s, "rest", "cli-1")
        add_job(s, kind="notice", patient_id=patient.id, key="notice:test:1",
                due_at=datetime.now(timezone.utc),
                payload={"text": "hello from the scheduler", "language": "en"})
    port = _free_port()
    env = {**os.environ, "MEDBOT_DATABASE_URL": url, "MEDBOT_WORKER_PORT": str(port),
           "MEDBOT_DATA_DIR": str(tmp_path)}
    spec = scheduler_worker_spec(Settings.from_env(env))
    assert spec.argv[1:4] == ["-m", "bot", "worker"] and spec.ready_url.endswith("/health")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "worker", "scheduler"], env=env,
                            cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 30
        messages: list = []
        while time.monotonic() < deadline and not messages:
            try:
                messages = _get(f"http://127.0.0.1:{port}/outbox/cli-1?after=0")  # type: ignore
            except OSError:
                pass
            time.sleep(0.3)
        assert [m["text"] for m in messages] == ["hello from the scheduler"]
        assert _get(f"http://127.0.0.1:{port}/outbox/cli-1?after={messages[0]['id']}") == []
        assert _get(f"http://127.0.0.1:{port}/health") == {"status": "ok"}
        assert fetch_outbox(f"http://127.0.0.1:{port}", "cli-1") == messages
        from bot.cli import main

        assert main(["worker", "outbox", "cli-1", "--url", f"http://127.0.0.1:{port}"]) == 0
        assert "hello from the scheduler" in capsys.readouterr().out
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        db.dispose()


def test_supervisor_starts_the_scheduler_child_and_stops_it(tmp_path: Path) -> None:
    from bot.service.supervisor import Supervisor

    url = f"sqlite:///{tmp_path / 'medbot.db'}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    settings = Settings.from_env({**os.environ, "MEDBOT_DATABASE_URL": url,
                                  "MEDBOT_DATA_DIR": str(tmp_path), "MEDBOT_PORT": "5005",
                                  "MEDBOT_WORKER_PORT": str(_free_port())})
    spec = scheduler_worker_spec(settings)
    spec.log_file = tmp_path / "scheduler.log"
    supervisor = Supervisor([spec], stop_timeout=10)
    supervisor.start(ready_timeout=60)
    try:
        assert spec.process is not None and spec.process.poll() is None
    finally:
        supervisor.stop()
    assert spec.process.returncode == 0
    assert b"scheduler.worker.stopped" in spec.log_file.read_bytes()
