"""Two ``medbot run`` instances sharing PostgreSQL and Redis, behind a real nginx.

nginx (Debian's package, ``scripts/install_nginx.sh``) runs as the current user with
its own prefix in a temporary directory, on 127.0.0.1 only, and balances round-robin
(not sticky) over the two Rasa servers; it names the instance that answered in an
``X-Medbot-Upstream`` header and in its access log. The instances share a database
created for this module (dropped afterwards), the Redis lock store, the WeChat
token, replay guard and login throttle (``MEDBOT_REDIS_URL``), and the keys that must
be the same on every host (``MEDBOT_ANCHOR_KEY``, ``MEDBOT_ERASURE_KEY``).

Instance A calls its action server through ``HoldingProxy``, a forwarding HTTP
proxy that can hold one call: the kill test knows that A is in the middle of a
turn (Rasa waits for the action server) when it kills A, without any sleep.
The kill test is the last one: A stays dead.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
import redis
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot.cli.wechat import dev_environment
from bot.settings import PROJECT_ROOT
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient
from bot.store.wechat_models import WeChatInbound
from channels.wechat.testing import FakeWeChatAPI, WeChatSimulator
from tests.console.conftest import Browser
from tests.console.test_web import read_events
from tests.integration.conftest import (
    RunningService, free_port, start_service, stop_service, texts,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

NGINX = Path("/usr/sbin/nginx")
UPSTREAM = "X-Medbot-Upstream"
DOCTOR = "dr.scale"
CUSTOM = "message/custom/send"


# -- nginx ------------------------------------------------------------------------------------
def require_nginx() -> None:
    """Skip locally when nginx is missing; in CI (``CI`` set) fail instead."""
    if os.access(NGINX, os.X_OK):
        return
    reason = f"{NGINX} not installed: run scripts/install_nginx.sh"
    if os.environ.get("CI"):
        pytest.fail(f"the two-instance tests must run in CI: {reason}")
    pytest.skip(reason)


class Nginx:
    """nginx in the foreground with its own prefix, config and logs under ``root``."""

    def __init__(self, root: Path, upstream_ports: list[int]) -> None:
        self.root = root
        self.port = free_port()
        self.access_log = root / "access.log"
        root.mkdir(parents=True, exist_ok=True)
        servers = "".join(f"    server 127.0.0.1:{p};\n" for p in upstream_ports)
        # as root the master would hand the workers to "nobody": they stay this user
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(f"  {name}_temp_path {root / name};\n"
                       for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (root / "nginx.conf").write_text(f"""{user}worker_processes 1;
daemon off;
pid {root / 'nginx.pid'};
error_log {root / 'error.log'} info;
events {{ worker_connections 512; }}
http {{
{temp}  log_format upstream '$request_method $uri $status $upstream_addr';
  access_log {self.access_log} upstream;
  upstream medbot {{
{servers}  }}
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      proxy_pass http://medbot;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering off;
      proxy_read_timeout 120s;
      add_header {UPSTREAM} $upstream_addr always;
    }}
  }}
}}
""", encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def start(self) -> Nginx:
        self.process = subprocess.Popen(
            [str(NGINX), "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
             "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.root / 'error.log').read_text()}")
            try:
                urllib.request.urlopen(f"{self.url}/webhooks/rest/", timeout=5)
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("nginx did not answer")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upstreams(self, path: str) -> list[str]:
        """The upstream of every logged request to ``path`` (a failed-over request lists
        both, comma-separated)."""
        return ["".join(line.split()[3:]) for line in self.access_log.read_text().splitlines()
                if line.split()[1] == path]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- a proxy to instance A's action server that can hold a call ---------------------------------
class HoldingProxy:
    """Forwards every action call; ``hold(marker)`` keeps the next call whose body holds
    ``marker`` until ``release`` (the instance is killed meanwhile)."""

    def __init__(self) -> None:
        self.target = ""
        self.marker: bytes | None = None
        self.held = threading.Event()
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.marker is not None and proxy.marker in body:
                    proxy.marker = None
                    proxy.held.set()
                    proxy.released.wait(120)
                    self.send_error(502)
                    return
                self._forward(body)

            def _forward(self, body: bytes | None) -> None:
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                request = urllib.request.Request(proxy.target + self.path, data=body,
                                                 headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=60) as resp:
                        status, payload, kind = resp.status, resp.read(), resp.headers.get(
                            "Content-Type", "application/json")
                except urllib.error.HTTPError as exc:
                    status, payload, kind = exc.code, exc.read(), "application/json"
                except OSError:
                    self.send_error(502)
                    return
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhook"

    def start(self) -> HoldingProxy:
        self.thread.start()
        return self

    def hold(self, marker: str) -> None:
        self.held.clear()
        self.marker = marker.encode("utf-8")

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


# -- the cluster ------------------------------------------------------------------------------
@dataclass
class Cluster:
    a: RunningService
    b: RunningService
    nginx: Nginx
    api: FakeWeChatAPI
    env: dict[str, str]
    proxy: HoldingProxy
    database_url: str
    ids: list[str]

    def new_id(self, prefix: str) -> str:
        """A new patient id (REST sender or openid), remembered for the clean-up."""
        found = f"{prefix}{uuid.uuid4().hex[:16]}"
        self.ids.append(found)
        return found

    def sim(self, base: str) -> WeChatSimulator:
        return WeChatSimulator(f"{base}/webhooks/wechat/webhook", self.env["MEDBOT_WECHAT_TOKEN"],
                               self.env["MEDBOT_WECHAT_APP_ID"], self.env["MEDBOT_WECHAT_AES_KEY"],
                               mode="safe")

    def upstream_of(self, service: RunningService) -> str:
        return f"127.0.0.1:{service.rasa_port}"

    def db(self) -> Database:
        return Database(self.database_url)


@pytest.fixture(scope="module")
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A database of this module alone on the test server, dropped afterwards."""
    name = f"medbot_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def cluster(trained_model: Path, tmp_path_factory: pytest.TempPathFactory,
            fresh_database: str, redis_url: str) -> Iterator[Cluster]:
    require_nginx()
    base = tmp_path_factory.mktemp("two-instances")
    api = FakeWeChatAPI(app_id=f"wx{uuid.uuid4().hex[:16]}").start()  # its own Redis token key
    env = dev_environment(api.base_url, api.app_id, api.app_secret)
    env.update({"MEDBOT_DATABASE_URL": fresh_database, "MEDBOT_REDIS_URL": redis_url,
                "MEDBOT_ANCHOR_KEY": secrets.token_hex(32),
                "MEDBOT_ERASURE_KEY": secrets.token_hex(32)})
    proxy = HoldingProxy().start()
    started: list[RunningService] = []
    nginx = None
    try:
        # one after the other: the first applies the migrations and loads the timetable
        a = start_service(base / "a", base / "a.log",
                          extra_env={**env, "MEDBOT_ACTION_URL": proxy.url})
        started.append(a)
        proxy.target = f"http://127.0.0.1:{a.action_port}"
        b = start_service(base / "b", base / "b.log", extra_env=env)
        started.append(b)
        nginx = Nginx(base / "nginx", [a.rasa_port, b.rasa_port]).start()
        cluster = Cluster(a, b, nginx, api, env, proxy, fresh_database, [])
        yield cluster
        forget_in_redis(redis_url, cluster)
    finally:
        if nginx is not None:
            nginx.stop()
        for service in reversed(started):
            stop_service(service)
        proxy.stop()
        api.stop()


def forget_in_redis(redis_url: str, cluster: Cluster) -> None:
    """The keys this module left in the shared Redis: the WeChat token of its app id and
    Rasa's conversation locks (a killed instance leaves its lock behind, without expiry)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [f"medbot:wechat:{cluster.api.app_id}"] + [
            f"medbot:lock:{channel}:{patient}" for patient in cluster.ids
            for channel in ("rest", "wechat")]
        client.delete(*keys)
    finally:
        client.close()


# -- helpers ----------------------------------------------------------------------------------
def post(base: str, sender: str, message: str) -> tuple[str, str]:
    """A REST turn; the reply text and the upstream nginx says answered it."""
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(f"{base}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as resp:
        return texts(json.loads(resp.read())), resp.headers.get(UPSTREAM, "")


def user_events(database_url: str, sender_id: str) -> list[tuple[str, str]]:
    """Rasa's tracker (the SQL tracker store): (type, text) of the user and bot events."""
    engine = create_engine(database_url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT type_name, data FROM events WHERE sender_id = :s "
                "AND type_name IN ('user', 'bot') ORDER BY id"), {"s": sender_id}).all()
    finally:
        engine.dispose()
    return [(kind, json.loads(data).get("text") or "") for kind, data in rows]


def pushed(cluster: Cluster, openid: str, start: int, timeout: float = 0.0) -> list[str]:
    """Customer-service messages to ``openid`` since ``api.sent[start]``; waits up to
    ``timeout`` for the first one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m.text for m in cluster.api.sent[start:]
                 if m.touser == openid and m.path == CUSTOM]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def wechat_say(cluster: Cluster, sim: WeChatSimulator, openid: str, message: str) -> str:
    """The bot's answer: passive, or (a turn slower than the budget on a busy machine)
    the customer-service message that replaces it."""
    start = len(cluster.api.sent)
    reply = asyncio.run(sim.send(sim.text(openid, message)))
    assert reply.status == 200, reply.body
    return reply.text or "\n".join(pushed(cluster, openid, start, timeout=60))


def consent_wechat(cluster: Cluster, sim: WeChatSimulator, openid: str) -> None:
    assert "隐私" in wechat_say(cluster, sim, openid, "你好")
    assert "已记录" in wechat_say(cluster, sim, openid, "同意")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie holds no socket any more)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_instance(service: RunningService) -> None:
    """SIGKILL the supervisor and every process it started: nothing shuts down cleanly.
    Returns once all of them are gone: a dying Rasa server still accepts connections
    on its port (which nginx then cannot pass on to the other instance)."""
    pids = [service.process.pid, *descendants(service.process.pid)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    service.process.wait(30)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) or port_open(service.rasa_port):
        assert time.monotonic() < deadline, f"still running after SIGKILL: {pids}"
        time.sleep(0.05)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- the tests --------------------------------------------------------------------------------
def test_a_form_continues_whichever_instance_gets_the_next_message(cluster: Cluster) -> None:
    sender = cluster.new_id("scale-")
    turns = ["你好", "同意", "帮我约个心内科", "不限", "下周二上午", "1", "李四", "13712345678",
             "确认"]
    replies, upstreams = zip(*(post(cluster.nginx.url, sender, turn) for turn in turns))
    assert "隐私" in replies[0] and "已记录" in replies[1]
    assert "心内科" in replies[2]
    assert "1." in replies[4]  # the sessions of the form's department, numbered
    assert "137****5678" in replies[7]
    assert "预约成功" in replies[8], replies
    a, b = cluster.upstream_of(cluster.a), cluster.upstream_of(cluster.b)
    assert set(upstreams) == {a, b}
    # round-robin, not sticky: the form went back and forth between the instances
    assert all(x != y for x, y in zip(upstreams, upstreams[1:])), upstreams


def test_two_messages_sent_at_once_are_answered_one_after_the_other(cluster: Cluster) -> None:
    """Rasa's Redis lock store serialises the turns of one conversation across the
    instances: the tracker holds each message once, each followed by its answer."""
    sender = cluster.new_id("order-")
    post(cluster.nginx.url, sender, "你好")
    post(cluster.nginx.url, sender, "同意")
    messages = ["医院几点开门", "停车场在哪里", "挂号费多少钱", "医院电话是多少"]
    barrier = threading.Barrier(len(messages))
    results: dict[str, tuple[str, str]] = {}

    def send(message: str) -> None:
        barrier.wait()
        results[message] = post(cluster.nginx.url, sender, message)

    threads = [threading.Thread(target=send, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert {upstream for _, upstream in results.values()} == {
        cluster.upstream_of(cluster.a), cluster.upstream_of(cluster.b)}
    assert all(reply for reply, _ in results.values()), results
    events = user_events(cluster.database_url, f"rest:{sender}")
    said = [t for kind, t in events if kind == "user" and t in messages]
    assert sorted(said) == sorted(messages)  # each message once: none lost, none twice
    # no turn interleaved with another: between two user messages there is an answer
    kinds = [kind for kind, t in events if kind == "bot" or t in messages]
    starts = [i for i, kind in enumerate(kinds) if kind == "user"]
    assert all(j - i > 1 for i, j in zip(starts, starts[1:] + [len(kinds)])), kinds


def test_a_wechat_retry_storm_spread_over_both_runs_the_bot_once(cluster: Cluster) -> None:
    sim = cluster.sim(cluster.nginx.url)
    openid = cluster.new_id("oScale")
    consent_wechat(cluster, sim, openid)
    before = len(cluster.nginx.upstreams("/webhooks/wechat/webhook"))
    question = "医院几点开门"
    msg = sim.text(openid, question)

    async def storm():
        return await asyncio.gather(*(sim.send(msg) for _ in range(6)))

    sent_before = len(cluster.api.sent)
    replies = asyncio.run(storm())
    assert all(r.status == 200 for r in replies)
    answers = {r.text for r in replies} - {None}  # None: "success", as WeChat's protocol allows
    # the answer went passively (to every attempt that waited for it), or -- a first attempt
    # slower than the budget on a busy machine -- as exactly one customer-service message
    late = pushed(cluster, openid, sent_before, timeout=0 if answers else 60)
    assert (len(answers), len(late)) in ((1, 0), (0, 1)), ([r.text for r in replies], late)
    used = cluster.nginx.upstreams("/webhooks/wechat/webhook")[before:]
    assert sorted(used) == sorted([cluster.upstream_of(cluster.a)] * 3
                                  + [cluster.upstream_of(cluster.b)] * 3)  # round-robin
    said = [t for kind, t in user_events(cluster.database_url, f"wechat:{openid}")
            if kind == "user" and t == question]
    assert said == [question]  # the bot ran once
    db = cluster.db()
    try:
        with db.begin() as s:
            rows = s.execute(select(Message.id).where(
                Message.channel_message_id == str(msg["MsgId"]))).all()
    finally:
        db.dispose()
    assert len(rows) == 1


def add_doctor(cluster: Cluster, password: str) -> None:
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
    cli_env.update(cluster.env)
    cli_env["MEDBOT_DATA_DIR"] = str(cluster.a.data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "doctor", "add", DOCTOR, "--name", "扩容医生",
         "--department", "general_practice", "--password-stdin"],
        input=password + "\n", env=cli_env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, f"medbot doctor add failed:\n{done.stdout}\n{done.stderr}"


def test_a_doctor_on_one_instance_chats_with_a_patient_served_by_the_other(
        cluster: Cluster) -> None:
    a_url, b_url = (f"http://127.0.0.1:{s.rasa_port}" for s in (cluster.a, cluster.b))
    patient = cluster.sim(b_url)  # the patient's messages are all handled by B
    openid = cluster.new_id("oDoc")
    consent_wechat(cluster, patient, openid)
    assert "执业医生" in wechat_say(cluster, patient, openid, "我想找医生")
    assert "排队" in wechat_say(cluster, patient, openid, "同意")
    db = cluster.db()
    try:
        with db.begin() as s:
            handoff_id = s.execute(select(Handoff.id).join(
                Patient, Patient.id == Handoff.patient_id).where(
                Patient.external_id == openid)).scalar_one()
    finally:
        db.dispose()
    password = f"Scale-{secrets.token_hex(8)}-9!"
    add_doctor(cluster, password)

    async def doctor() -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            on_a = Browser(http, a_url)
            login = await on_a.login(DOCTOR, password)
            assert (login.status, login.location) == (303, "/console/"), login.text
            csrf = await on_a.csrf_for(f"/console/handoffs/{handoff_id}")
            claimed = await on_a.post(f"/console/handoffs/{handoff_id}/claim", csrf=csrf)
            assert claimed.status == 303 and "error" not in (claimed.location or "")
            headers = {"Cookie": f"medbot_console_session="
                                 f"{on_a.cookies['medbot_console_session']}"}
            url = f"{a_url}/console/handoffs/{handoff_id}/events"
            async with http.get(url, headers=headers) as stream:
                assert stream.status == 200
                seen = await read_events(stream, 1, timeout=30)
                while not any(e.get("role") == "system" for e in seen):  # the claim notice
                    seen += await read_events(stream, 1, timeout=30)
                # the patient writes to B; the stream the doctor holds on A shows it
                silent = await patient.send(patient.text(openid, "医生您好，我头还是很痛"))
                assert (silent.status, silent.text) == (200, None)  # the bot stays quiet
                (line,) = await read_events(stream, 1, timeout=30)
                assert (line["role"], line["text"]) == ("patient", "医生您好，我头还是很痛")
                # the same session works on B (sessions are in the database); the reply
                # sent through B reaches the patient's WeChat and A's stream
                on_b = Browser(http, b_url)
                on_b.cookies = dict(on_a.cookies)
                csrf_b = await on_b.csrf_for(f"/console/handoffs/{handoff_id}")
                sent = len(cluster.api.sent)
                replied = await on_b.post(f"/console/handoffs/{handoff_id}/reply",
                                          {"text": "请多喝水，明早来门诊"}, csrf=csrf_b)
                assert replied.status == 303 and "error" not in (replied.location or "")
                (echo,) = await read_events(stream, 1, timeout=30)
                assert (echo["role"], echo["text"]) == ("doctor", "请多喝水，明早来门诊")
                delivered = [m for m in cluster.api.sent[sent:] if m.touser == openid]
                assert [(m.path, m.text) for m in delivered] == [(CUSTOM, "请多喝水，明早来门诊")]

    asyncio.run(doctor())


def test_killing_an_instance_mid_turn_loses_no_message(cluster: Cluster) -> None:
    """The first attempt reaches A, whose bot is waiting for its action server when A is
    killed (SIGKILL, every process). WeChat's retries go through nginx, which sends them
    to B; B takes the turn over once A's claim stops beating. A's Rasa died before saving
    the turn (the shared tracker does not have the message), so B runs the turn — once:
    Rasa's lock store makes it wait for A's expired lock, the message is not logged twice,
    and an action A had finished would have answered from its kept result
    (``bot.action_replay``). The patient gets the answer, not a request to resend."""
    a_sim = cluster.sim(f"http://127.0.0.1:{cluster.a.rasa_port}")
    nginx_sim = cluster.sim(cluster.nginx.url)
    nginx_sim.attempts = 4  # WeChat's first try and three retries, 5 s apart
    openid = cluster.new_id("oKill")
    consent_wechat(cluster, a_sim, openid)
    marker = f"k{uuid.uuid4().hex[:8]}"
    question = f"停车场在哪里 {marker}"
    msg = a_sim.text(openid, question)
    cluster.proxy.hold(marker)
    sent_before = len(cluster.api.sent)

    async def first_attempt_then_kill():
        first = asyncio.ensure_future(a_sim.send(msg))
        held = await asyncio.to_thread(cluster.proxy.held.wait, 60)
        assert held, "A never called its action server for the message"
        kill_instance(cluster.a)
        try:
            await first
        except aiohttp.ClientError:
            pass  # the connection died with A, as WeChat would see it
        return await nginx_sim.send(msg)

    retry = asyncio.run(first_attempt_then_kill())
    assert retry.status == 200
    if retry.text is None:  # B answered after the retry's budget: a customer-service message
        # (B's Rasa waits for A's lock to expire: Rasa's 60 s lock lifetime)
        answers = pushed(cluster, openid, sent_before, timeout=150)
    else:
        answers = [retry.text]
        assert pushed(cluster, openid, sent_before) == []
    assert len(answers) == 1 and "停车场" in answers[0], answers
    db = cluster.db()
    try:
        with db.begin() as s:
            logged = s.execute(select(Message.role, Message.text).where(
                Message.conversation_id == f"wechat:{openid}").order_by(Message.id)).all()
            claim = s.execute(select(WeChatInbound).where(
                WeChatInbound.dedupe_key == f"msg:{msg['MsgId']}")).scalar_one()
            status, attempts = claim.status, claim.attempts
    finally:
        db.dispose()
    assert [t for role, t in logged if role == "patient"].count(question) == 1  # not lost
    assert (status, attempts) == ("done", 2)
    said = [t for kind, t in user_events(cluster.database_url, f"wechat:{openid}")
            if kind == "user" and t == question]
    assert said == [question]  # A's turn was never saved; B ran it once
