"""The action server: loopback by default, a shared secret on every call, no echo of trackers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.service.runtime import action_server_spec, endpoints_config
from bot.settings import PROJECT_ROOT, Settings
from channels.wechat.testing.harness import free_port

SECRET = "action-secret-for-tests-0123456789"
FORGED = {  # what anyone could POST to rasa_sdk's /webhook on main: any action, any patient
    "next_action": "action_list_appointments", "sender_id": "wechat:oVictim",
    "tracker": {"sender_id": "wechat:oVictim", "slots": {"language": "zh"},
                "latest_message": {"text": "我的预约", "intent": {"name": "list_appointments"}},
                "events": [], "paused": False, "followup_action": None, "active_loop": {},
                "latest_action_name": "action_listen"},
    "domain": {}, "version": "3.6.2"}


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent; picks the outgoing interface
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def start_server(tmp_path: Path):
    started: list[subprocess.Popen] = []

    def start(**env: str) -> int:
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
        environ.update(MEDBOT_ACTION_PORT=str(port), MEDBOT_DATA_DIR=str(tmp_path), **env)
        proc = subprocess.Popen([sys.executable, "-m", "components.action_server"],
                                cwd=PROJECT_ROOT, env=environ, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        started.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode())  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                return port
            except OSError:
                time.sleep(0.3)
        raise AssertionError("action server did not start")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


def call(url: str, body: object | None = None, secret: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_by_default_it_listens_on_loopback_only(start_server) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    port = start_server()
    with socket.socket() as sock:
        sock.settimeout(3)
        assert sock.connect_ex((address, port)) != 0  # refused from the network
    with socket.create_connection(("127.0.0.1", port), timeout=3):
        pass  # and open on loopback


def test_with_a_secret_every_call_must_carry_it(start_server) -> None:
    port = start_server(MEDBOT_ACTION_SECRET=SECRET)
    base = f"http://127.0.0.1:{port}"
    assert call(f"{base}/webhook", FORGED)[0] == 401
    assert call(f"{base}/webhook", FORGED, "wrong-secret-of-some-length-000")[0] == 401
    assert call(f"{base}/actions")[0] == 401
    status, body = call(f"{base}/actions", secret=SECRET)
    assert status == 200 and "action_list_appointments" in body
    assert call(f"{base}/health")[0] == 200  # the supervisor's readiness probe


def test_an_error_does_not_echo_the_tracker(start_server) -> None:
    port = start_server(MEDBOT_ACTION_SECRET=SECRET)
    broken = {**FORGED, "tracker": {**FORGED["tracker"], "events": "not a list"}}
    status, body = call(f"http://127.0.0.1:{port}/webhook", broken, SECRET)
    assert status >= 400 and "oVictim" not in body and "我的预约" not in body


def test_beyond_loopback_it_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
    environ.update(MEDBOT_ACTION_HOST="0.0.0.0", MEDBOT_ACTION_PORT=str(free_port()),
                   MEDBOT_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "components.action_server"], cwd=PROJECT_ROOT,
                          env=environ, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "MEDBOT_ACTION_SECRET" in done.stderr and "动作服务器" in done.stderr


def test_the_rasa_server_sends_the_secret_and_the_supervisor_starts_the_guarded_server() -> None:
    settings = Settings.from_env({"MEDBOT_ACTION_SECRET": SECRET})
    action = endpoints_config(settings)["action_endpoint"]
    assert action == {"url": "http://127.0.0.1:5055/webhook",
                      "headers": {"Authorization": f"Bearer {SECRET}"}}
    assert action_server_spec(settings).argv[1:] == ["-m", "components.action_server",
                                                     "--port", "5055"]
    assert "headers" not in endpoints_config(Settings.from_env({}))["action_endpoint"]
