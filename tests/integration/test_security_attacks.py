"""The attack script against a real ``medbot run`` exposed as a hospital would run it,
and the logs of that run scanned for personal data and secrets (docs/security.md).

The service: PostgreSQL of the test's own (so the test can stop it), a REST token, an
action-server secret, WeChat in safe mode against the fake API, the console behind a
trusted proxy, and a doctor account.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.cli.wechat import dev_environment
from bot.settings import PROJECT_ROOT
from bot.store.wechat_models import WeChatDelivery
from channels.wechat.testing import FakeWeChatAPI, WeChatSimulator
from tests.integration.conftest import start_service, stop_service

pytestmark = pytest.mark.integration

REST_TOKEN = "rest-token-attack-test-0123456789"
ACTION_SECRET = "action-secret-attack-test-0123456789"
PHONE = "13812345678"
OPENID = "oAttackLogScan0000000000001"  # 28 characters, like WeChat's


def test_attacks_hold_and_the_logs_hold_no_personal_data(
        trained_model, private_postgres, tmp_path: Path) -> None:
    api = FakeWeChatAPI().start()
    wechat = dev_environment(api.base_url, api.app_id, api.app_secret)
    (tmp_path / "wechat.json").write_text(json.dumps(wechat))
    env = {**wechat, "MEDBOT_DATABASE_URL": private_postgres.url,
           "MEDBOT_REST_TOKEN": REST_TOKEN, "MEDBOT_ACTION_SECRET": ACTION_SECRET,
           "MEDBOT_TRUSTED_PROXIES": "127.0.0.1"}
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=PROJECT_ROOT, check=True,
                   env={"PATH": "/usr/bin:/bin", **env}, capture_output=True)
    subprocess.run([sys.executable, "-m", "bot", "doctor", "add", "drattack", "--name", "攻防",
                    "--department", "general_practice", "--password-stdin"],
                   input="Correct-Horse-77\n", text=True, cwd=PROJECT_ROOT, check=True,
                   env={"PATH": "/usr/bin:/bin", **env}, capture_output=True)
    data = tmp_path / "data"
    running = start_service(data, tmp_path / "medbot-run.log", extra_env=env)
    try:
        done = subprocess.run(
            [sys.executable, "bench/attack.py", "--rasa", f"http://127.0.0.1:{running.rasa_port}",
             "--action-port", str(running.action_port), "--rest-token", REST_TOKEN,
             "--action-secret-expected", "--wechat-env", str(tmp_path / "wechat.json"),
             "--doctor", "drattack:Correct-Horse-77", "--database-url", private_postgres.url,
             "--stop-db", _pg_ctl(private_postgres, "stop"),
             "--start-db", _pg_ctl(private_postgres, "start"),
             "--json", str(tmp_path / "attack.json")],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
        results = json.loads((tmp_path / "attack.json").read_text())
        assert done.returncode == 0, done.stdout + done.stderr
        held = {(r["item"], r["outcome"]) for r in results}
        for item in ("1", "2", "4", "5", "7", "10"):
            assert (item, "held") in held, done.stdout
        assert all(r["outcome"] != "FAILED" for r in results), done.stdout

        # personal data flowing through, and a send failing with the token in its URL
        sim = WeChatSimulator(f"http://127.0.0.1:{running.rasa_port}/webhooks/wechat/webhook",
                              wechat["MEDBOT_WECHAT_TOKEN"], wechat["MEDBOT_WECHAT_APP_ID"],
                              wechat["MEDBOT_WECHAT_AES_KEY"], mode="safe")
        asyncio.run(sim.send(sim.text(OPENID, f"我叫王小明 电话{PHONE}")))
        token = api._valid_token or ""
    finally:
        stop_service(running)
        api.stop()
    # a WeChat API call that fails with its URL (access_token, appid and secret) in the error
    menu = subprocess.run([sys.executable, "-m", "bot", "wechat", "menu"], cwd=PROJECT_ROOT,
                          env={"PATH": "/usr/bin:/bin", **env, "MEDBOT_DATA_DIR": str(data)},
                          capture_output=True, text=True, timeout=120)
    assert menu.returncode != 0 and "ConnectionError" in menu.stderr, menu.stderr[-2000:]
    logs = "\n".join([menu.stdout, menu.stderr, *(
        p.read_text("utf-8", "replace") for p in [tmp_path / "medbot-run.log",
                                                   *data.rglob("*.log")])])
    secrets = [PHONE, OPENID, OPENID[:-1] + "2", REST_TOKEN, ACTION_SECRET,
               wechat["MEDBOT_WECHAT_APP_SECRET"], *([token] if token else [])]
    for secret in secrets:
        assert secret not in logs, f"found in the logs: {secret[:6]}…"
    engine = create_engine(private_postgres.url, future=True)
    with engine.connect() as conn:
        errors = [e for e in conn.execute(select(WeChatDelivery.last_error)).scalars() if e]
    engine.dispose()
    assert not any(secret in e for e in errors for secret in secrets)


def _pg_ctl(server, action: str) -> str:
    extra = (f"-o '-p {server.port} -k {server.datadir} -c listen_addresses=127.0.0.1' "
             f"-l {server.datadir}/server.log" if action == "start" else "-m immediate")
    return (f"runuser -u postgres -- {server.bindir}/pg_ctl -D {server.datadir} -w -t 60 "
            f"{extra} {action}")
