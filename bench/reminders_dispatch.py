"""10,000 reminders due in the same minute, delivered to a fake WeChat API over HTTP.

    .venv/bin/python bench/reminders_dispatch.py [-n 10000] [--workers 2] [--ledger]
        [--kill-after 3000] [--db-url postgresql+psycopg2://postgres@127.0.0.1:5432/test]

``--ledger``: the workers send through the production WeChat sender
(``bot.wechat.outbound:outbound_sender``: stable token, quota ledger, subscription and
template fallback) instead of the bench sender. A quarter of the patients wrote an hour
ago (customer-service message; every 5th of them answered 45047 or 45015 by the API:
the template fallback), a quarter wrote but used their 5 messages (subscription
message, accepted), a quarter never wrote and accepted the subscription (subscription
message), a quarter never wrote nor subscribed (template message). Each patient must
receive exactly one message, whatever the way.

Real scheduler worker processes (``python -m bot worker scheduler``) on a fresh
PostgreSQL schema (or a SQLite file: ``--db-url sqlite:///...``, then use one
worker) send through a bench sender that posts the custom-send API to
``channels/wechat/peer/fake_api.py`` on 127.0.0.1. Every reminder goes to a
different patient, so a patient receiving two messages is a duplicate.
``--kill-after K`` SIGKILLs one worker once K messages have arrived and starts a
replacement; the killed worker's in-flight rows are recovered after their lease.
Dispatch lag = time the fake API received the message - due time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store.db import Database  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.consent_models import ConsentRecord  # noqa: E402
from bot.store.models import Patient  # noqa: E402
from bot.store.reminder_models import Dose, MedicationReminder, ScheduledJob  # noqa: E402
from bot.store.wechat_models import WeChatQuota, WeChatSubscribeStatus  # noqa: E402
from channels.wechat.peer.fake_api import FakeWeChatAPI  # noqa: E402

FINAL = ("done", "uncertain", "expired", "failed", "cancelled")


class TimedFakeAPI(FakeWeChatAPI):
    """The fake API, noting when each message arrived."""

    def handle(self, method, raw_path, body):  # type: ignore[override]
        result = super().handle(method, raw_path, body)
        way = next((w for w in WAYS if w in raw_path), None)
        if way is not None and result.get("errcode") == 0:
            touser = json.loads(body)["touser"]
            with self._lock:
                self.arrivals.append((touser, time.time()))
                self.ways[way] += 1
        return result


WAYS = {"message/custom/send": "custom", "message/subscribe/bizsend": "subscription",
        "message/template/send": "template"}
CATALOG = """
version: "bench"
subscribe_url: "https://hospital.example/sub"
kinds:
  reminder:
    name: {zh: 用药提醒, en: medication reminders}
    subscribe:
      template_id: "SUB-BENCH-DOSE"
      fields: {thing1: drug, time3: time, thing4: text}
    template:
      template_id: "TPL-BENCH-DOSE"
      fields: {first: text, keyword1: drug, keyword2: time}
"""


def seed_ledger(db: Database, n: int, now: datetime, api: FakeWeChatAPI) -> None:
    """The quota ledger and subscription answers of the four groups (see the docstring)."""
    wrote = now - timedelta(hours=1)
    with db.engine.begin() as conn:
        conn.execute(insert(WeChatQuota), [
            {"openid": f"o_bench_{i:05d}", "message_at": wrote,
             "message_used": 0 if i % 4 == 0 else 5, "event_at": None, "event_used": 0}
            for i in range(1, n + 1) if i % 4 in (0, 1)])
        conn.execute(insert(WeChatSubscribeStatus), [
            {"openid": f"o_bench_{i:05d}", "template_id": "SUB-BENCH-DOSE", "status": "accept",
             "offered_at": None, "updated_at": now}
            for i in range(1, n + 1) if i % 4 in (1, 2)])
    for i in range(1, n + 1):
        if i % 20 == 0:
            api.refuse_custom[f"o_bench_{i:05d}"] = 45047
        elif i % 20 == 4:
            api.refuse_custom[f"o_bench_{i:05d}"] = 45015


def seed(db: Database, n: int, due: datetime) -> None:
    far = due + timedelta(days=30)
    with db.engine.begin() as conn:
        conn.execute(insert(Patient), [
            {"id": i, "channel": "wechat", "external_id": f"o_bench_{i:05d}",
             "preferred_language": "zh", "created_at": due, "updated_at": due}
            for i in range(1, n + 1)])
        conn.execute(insert(MedicationReminder), [
            {"id": i, "patient_id": i, "drug_id": "metformin", "dose": "500mg",
             "times_json": json.dumps([due.astimezone(timezone(timedelta(hours=8)))
                                       .strftime("%H:%M")]),
             "meal": None, "start_date": due.date(), "end_date": None,
             "timezone": "Asia/Shanghai", "language": "zh", "status": "active",
             "planned_until": far, "created_at": due, "updated_at": due}
            for i in range(1, n + 1)])
        # dose reminders go only to patients with a current health-data consent
        conn.execute(insert(ConsentRecord), [
            {"patient_id": i, "purpose": "health_data", "text_version": "bench",
             "text_sha256": "0" * 64, "language": "zh", "decision": "granted",
             "created_at": due} for i in range(1, n + 1)])
        conn.execute(insert(Dose), [
            {"id": i, "reminder_id": i, "patient_id": i, "scheduled_at": due,
             "status": "scheduled", "generation": 0} for i in range(1, n + 1)])
        conn.execute(insert(ScheduledJob), [
            {"kind": "dose", "patient_id": i, "ref_id": i, "generation": 0, "due_at": due,
             "status": "pending", "idempotency_key": f"dose:{i}:0", "attempts": 0,
             "created_at": due} for i in range(1, n + 1)])
        if conn.dialect.name == "postgresql":
            for table in ("patients", "medication_reminders", "doses"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))


def start_worker(env: dict[str, str], name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "scheduler", "--port", "0", "--worker-id", name],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(  # noqa: SIM115
            Path(env["MEDBOT_DATA_DIR"]) / f"{name}.log", "wb"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kill-after", type=int, default=0, help="SIGKILL a worker after K arrivals")
    p.add_argument("--lease-seconds", type=float, default=10.0)
    p.add_argument("--db-url", default=os.environ.get(
        "MEDBOT_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"))
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--ledger", action="store_true",
                   help="the production WeChat sender: quota ledger and fallbacks in the path")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="medbot-bench-"))
    schema = None
    url = args.db_url
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, future=True)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    db = Database(url)
    upgrade(db)
    now = datetime.now(timezone.utc)
    due = (now + timedelta(seconds=70)).replace(second=0, microsecond=0)
    t0 = time.time()
    seed(db, args.n, due)
    print(f"seeded {args.n} reminders due at {due.isoformat()} in {time.time() - t0:.1f}s",
          flush=True)

    # The real API takes many concurrent connections; socketserver's default
    # listen backlog of 5 would reset them ("Connection reset by peer").
    ThreadingHTTPServer.request_queue_size = 256
    api = TimedFakeAPI()
    api.arrivals = []
    api.ways = Counter()
    api.start()
    env = {**os.environ, "MEDBOT_DATABASE_URL": url, "MEDBOT_DATA_DIR": str(tmp),
           "MEDBOT_REMINDER_LEASE_MINUTES": str(args.lease_seconds / 60),
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    if args.ledger:
        seed_ledger(db, args.n, now, api)
        catalog = tmp / "wechat_subscriptions.yml"
        catalog.write_text(CATALOG, encoding="utf-8")
        from bot.cli.wechat import dev_environment

        env.update(dev_environment(api.base_url, api.app_id, api.app_secret))
        env.update({"MEDBOT_OUTBOUND_SENDERS": "bot.wechat.outbound:outbound_sender",
                    "MEDBOT_WECHAT_TEMPLATE_ID": "TPL-BENCH",
                    "MEDBOT_WECHAT_SUBSCRIPTIONS_FILE": str(catalog)})
    else:
        with urllib.request.urlopen(  # noqa: S310 - 127.0.0.1
                f"{api.base_url}token?grant_type=client_credential&appid={api.app_id}"
                f"&secret={api.app_secret}") as resp:
            token = json.loads(resp.read())["access_token"]
        env.update({"MEDBOT_OUTBOUND_SENDERS": "bench.reminders_wechat_sender:sender_factory",
                    "MEDBOT_BENCH_WECHAT_URL": api.base_url, "MEDBOT_BENCH_WECHAT_TOKEN": token})
    workers = [start_worker(env, f"bench-{i}") for i in range(args.workers)]
    killed = False
    deadline = time.time() + args.timeout
    try:
        while time.time() < due.timestamp():
            time.sleep(0.2)
        while time.time() < deadline:
            time.sleep(0.2)
            if args.kill_after and not killed and len(api.arrivals) >= args.kill_after:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                killed = True
                print(f"killed bench-0 (SIGKILL) after {len(api.arrivals)} arrivals; "
                      "restarting it", flush=True)
                workers[0] = start_worker(env, "bench-0-restarted")
            with db.begin() as s:
                open_jobs = s.execute(select(func.count()).select_from(ScheduledJob).where(
                    ScheduledJob.kind == "dose", ScheduledJob.status.not_in(FINAL))).scalar()
            if open_jobs == 0:
                break
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(30)
    time.sleep(0.2)
    with db.begin() as s:
        statuses = dict(s.execute(select(ScheduledJob.status, func.count()).where(
            ScheduledJob.kind == "dose").group_by(ScheduledJob.status)).all())
        from bot.store.wechat_models import WeChatDelivery

        outbox = {f"{m} {f or '-'} {st}": c for m, f, st, c in s.execute(select(
            WeChatDelivery.method, WeChatDelivery.fallback, WeChatDelivery.status, func.count())
            .group_by(WeChatDelivery.method, WeChatDelivery.fallback, WeChatDelivery.status)
        ).all()}
        uncertain = [f"o_bench_{pid:05d}" for pid in s.execute(select(
            ScheduledJob.patient_id).where(ScheduledJob.status == "uncertain")).scalars()]
    api.stop()
    received = Counter(touser for touser, _ in api.arrivals)
    first_arrival = {}
    for touser, at in api.arrivals:
        first_arrival.setdefault(touser, at)
    lags = [at - due.timestamp() for at in first_arrival.values()]
    result = {
        "reminders": args.n, "workers": args.workers, "db": url.split(":")[0],
        "sender": "production (ledger, fallbacks)" if args.ledger else "bench",
        "received_by_way": {name: api.ways[w] for w, name in WAYS.items()},
        "killed_and_restarted": killed,
        "received": len(api.arrivals), "distinct_patients": len(received),
        "duplicates": sum(c - 1 for c in received.values()),
        "lost": args.n - len(received),
        "job_statuses": statuses,
        "wechat_outbox (method fallback status)": outbox,
        "uncertain_jobs": len(uncertain),
        "uncertain_but_received": sum(1 for u in uncertain if u in received),
        "lag_p50_s": round(statistics.median(lags), 2) if lags else None,
        "lag_p99_s": round(percentile(lags, 0.99), 2) if lags else None,
        "lag_max_s": round(max(lags), 2) if lags else None,
    }
    print(json.dumps(result, indent=2), flush=True)
    db.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0 if result["duplicates"] == 0 and result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
