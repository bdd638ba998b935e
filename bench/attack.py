"""Attack a running ``medbot run`` and print what held (docs/security.md).

    .venv/bin/python bench/attack.py --rasa http://127.0.0.1:5005 --action-port 5055 \\
        [--rest-token T] [--wechat-env FILE] [--doctor USER:PASSWORD] \\
        [--database-url URL] [--stop-db CMD --start-db CMD] [--json FILE]

Each check is one finding of the security review (issue 13), tried from outside as an
attacker would, and reports ``held``, ``FAILED`` or ``skipped`` (with the reason):

1. REST impersonation: a POST naming a WeChat patient's openid (and ``input_channel:
   wechat``) lands in the REST namespace, never in the patient's conversation; with a
   REST token, requests without it get 401.
2. Action server: refused from a non-loopback address; with a secret, a forged tracker
   POSTed on loopback gets 401.
4. WeChat: a push without ``encrypt_type`` is refused in safe mode; the same signed push
   sent twice is refused the second time.
5. Console login spray: 30 bad logins from one address (via a trusted proxy's
   X-Forwarded-For) neither lock out the doctor at another address nor stall the bot.
7. Database down: a red-flag message still gets the 120 advice, anything else a
   "service busy" answer, not an error (needs commands that stop and start the database).
10. The red-flag screen on "my 9 yr old has a fever and a rash": an answer, not a 500.

Exit status 1 when any check FAILED.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Check:
    item: str
    name: str
    outcome: str  # held | FAILED | skipped
    detail: str


def http(url: str, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 30, opener=None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # the 303 itself is the answer
        return None


def replies(body: str) -> str:
    """The texts of a REST answer (JSON list of messages), joined."""
    try:
        return "\n".join(m.get("text") or "" for m in json.loads(body or "[]"))
    except (ValueError, AttributeError):
        return body


def rest(args, sender: str, text: str, extra: dict | None = None,
         token: str | None | bool = True) -> tuple[int, str]:
    body = json.dumps({"sender": sender, "message": text, **(extra or {})}).encode()
    headers = {"Content-Type": "application/json"}
    use = args.rest_token if token is True else token
    if use:
        headers["Authorization"] = f"Bearer {use}"
    return http(f"{args.rasa}/webhooks/rest/webhook", body, headers)


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


# -- 1 ------------------------------------------------------------------------------------
def check_rest(args) -> list[Check]:
    out = []
    victim = f"oAttackVictim{uuid.uuid4().hex[:15]}"
    status, body = rest(args, victim, "取消我所有的预约", {"input_channel": "wechat"})
    if args.database_url:
        from sqlalchemy import create_engine, text
        engine = create_engine(args.database_url, future=True)
        with engine.connect() as conn:
            rows = dict(conn.execute(text(
                "SELECT conversation_id, count(*) FROM messages WHERE conversation_id IN "
                "(:w, :r) GROUP BY conversation_id"), {"w": f"wechat:{victim}",
                                                       "r": f"rest:{victim}"}).all())
        engine.dispose()
        held = status == 200 and not rows.get(f"wechat:{victim}") and rows.get(f"rest:{victim}")
        out.append(Check("1", "REST caller naming a WeChat openid stays in the REST namespace",
                         "held" if held else "FAILED",
                         f"status {status}; messages by conversation: {rows}"))
    else:
        out.append(Check("1", "REST namespace", "skipped", "needs --database-url to look"))
    if args.rest_token:
        status, body = rest(args, "attacker", "你好", token=False)
        out.append(Check("1", "REST without the token is refused",
                         "held" if status == 401 else "FAILED", f"status {status}"))
        status, _ = rest(args, "attacker", "你好", token="wrong-token-wrong-token-000")
        out.append(Check("1", "REST with a wrong token is refused",
                         "held" if status == 401 else "FAILED", f"status {status}"))
    else:
        out.append(Check("1", "REST token", "skipped", "no --rest-token: loopback set-up"))
    return out


# -- 2 ------------------------------------------------------------------------------------
FORGED = {"next_action": "action_list_appointments", "sender_id": "wechat:oVictim",
          "tracker": {"sender_id": "wechat:oVictim", "slots": {"language": "zh"},
                      "latest_message": {"text": "我的预约", "intent": {"name": "x"}},
                      "events": [], "paused": False, "followup_action": None,
                      "active_loop": {}, "latest_action_name": "action_listen"},
          "domain": {}, "version": "3.6.2"}


def check_action_server(args) -> list[Check]:
    out = []
    address = non_loopback_address()
    if address is None:
        out.append(Check("2", "action server not reachable from the network", "skipped",
                         "no non-loopback address on this machine"))
    else:
        with socket.socket() as sock:
            sock.settimeout(3)
            refused = sock.connect_ex((address, args.action_port)) != 0
        out.append(Check("2", f"action server refuses {address}:{args.action_port}",
                         "held" if refused else "FAILED",
                         "connection refused" if refused else "connection accepted"))
    status, _ = http(f"http://127.0.0.1:{args.action_port}/webhook",
                     json.dumps(FORGED).encode(), {"Content-Type": "application/json"})
    if args.action_secret_expected:
        out.append(Check("2", "forged tracker on loopback without the secret",
                         "held" if status == 401 else "FAILED", f"status {status}"))
    else:
        out.append(Check("2", "forged tracker on loopback", "skipped",
                         f"no action secret configured (loopback only); status {status}"))
    return out


# -- 4 ------------------------------------------------------------------------------------
def check_wechat(args) -> list[Check]:
    if not args.wechat_env:
        return [Check("4", "WeChat downgrade and replay", "skipped", "no --wechat-env")]
    from channels.wechat.peer import WeChatSimulator

    env = json.loads(Path(args.wechat_env).read_text())
    sim = WeChatSimulator(f"{args.rasa}/webhooks/wechat/webhook", env["MEDBOT_WECHAT_TOKEN"],
                          env["MEDBOT_WECHAT_APP_ID"], env["MEDBOT_WECHAT_AES_KEY"],
                          mode="safe")
    openid = f"oAttack{uuid.uuid4().hex[:21]}"
    out = []

    async def run() -> None:
        xml = sim.to_xml(sim.text(openid, "你好"))
        params, _sealed = sim.sign_request(xml)
        plain = {k: v for k, v in params.items() if k not in ("encrypt_type", "msg_signature")}
        downgraded = await sim.post_raw(plain, xml)
        out.append(Check("4", "plaintext push in safe mode is refused",
                         "held" if downgraded.status == 403 else "FAILED",
                         f"status {downgraded.status}"))
        params, body = sim.sign_request(sim.to_xml(sim.text(openid, "你好")))
        first = await sim.post_raw(params, body)
        again = await sim.post_raw(params, body)
        held = first.status == 200 and again.status == 403
        out.append(Check("4", "the same signed push twice: the second is refused",
                         "held" if held else "FAILED",
                         f"statuses {first.status}, {again.status}"))

    asyncio.run(run())
    return out


# -- 5 ------------------------------------------------------------------------------------
def _login(args, username: str, password: str, address: str) -> int:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    headers = {"X-Forwarded-For": address}
    status, page = http(f"{args.rasa}/console/login", headers=headers, opener=opener)
    found = re.search(r'name="(csrf[^"]*)"\s+value="([^"]+)"', page)
    if not found:
        raise RuntimeError(f"no login form token (status {status})")
    field, token = found.groups()
    form = urllib.parse.urlencode({field: html.unescape(token), "username": username,
                                   "password": password}).encode()
    status, _ = http(f"{args.rasa}/console/login", form,
                     {**headers, "Content-Type": "application/x-www-form-urlencoded"},
                     opener=opener)
    return status


def check_console(args) -> list[Check]:
    if not args.doctor:
        return [Check("5", "console login spray", "skipped", "no --doctor USER:PASSWORD")]
    username, password = args.doctor.split(":", 1)
    slowest = 0.0
    statuses = []
    for i in range(30):
        statuses.append(_login(args, username, f"wrong-{i}", "203.0.113.66"))
        started = time.monotonic()
        rest(args, f"bystander-{i % 3}", "你好")
        slowest = max(slowest, time.monotonic() - started)
    doctor = _login(args, username, password, "198.51.100.7")
    out = [Check("5", "30 bad logins from one address do not lock the doctor out elsewhere",
                 "held" if doctor in (302, 303) else "FAILED",
                 f"spray statuses {sorted(set(statuses))}; doctor's login status {doctor}")]
    out.append(Check("5", "the bot keeps answering during the spray",
                     "held" if slowest < 4.0 else "FAILED",
                     f"slowest REST answer {slowest:.2f} s"))
    return out


# -- 7 ------------------------------------------------------------------------------------
def check_store_down(args) -> list[Check]:
    if not (args.stop_db and args.start_db):
        return [Check("7", "emergency with the database down", "skipped",
                      "needs --stop-db and --start-db")]
    subprocess.run(args.stop_db, shell=True, check=True)
    try:
        s1, advice = rest(args, "db-down-1", "我爸突然嘴歪了，说话也说不清楚")
        s2, busy = rest(args, "db-down-2", "我想挂个号看看皮肤")
    finally:
        subprocess.run(args.start_db, shell=True, check=True)
    advice, busy = replies(advice), replies(busy)
    return [
        Check("7", "red flag with the database down gets the 120 advice",
              "held" if s1 == 200 and "120" in advice else "FAILED",
              f"status {s1}: {advice[:40]!r}"),
        Check("7", "other messages get 'service busy', not an error",
              "held" if s2 == 200 and ("繁忙" in busy or "busy" in busy) else "FAILED",
              f"status {s2}: {busy[:40]!r}"),
    ]


# -- 10 -----------------------------------------------------------------------------------
def check_screen(args) -> list[Check]:
    status, body = rest(args, f"screen-{uuid.uuid4().hex[:8]}", "my 9 yr old has a fever and "
                        "a rash")
    answered = status == 200 and json.loads(body or "[]")
    return [Check("10", "the screen on 'my 9 yr old has a fever and a rash' answers",
                  "held" if answered else "FAILED", f"status {status}")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rasa", default="http://127.0.0.1:5005")
    p.add_argument("--action-port", type=int, default=5055)
    p.add_argument("--rest-token")
    p.add_argument("--action-secret-expected", action="store_true",
                   help="the action server was started with MEDBOT_ACTION_SECRET")
    p.add_argument("--wechat-env", help="JSON file with the MEDBOT_WECHAT_* values")
    p.add_argument("--doctor", help="USER:PASSWORD of a console account")
    p.add_argument("--database-url", help="to look where a message landed")
    p.add_argument("--stop-db", help="shell command that stops the database")
    p.add_argument("--start-db", help="shell command that starts it again")
    p.add_argument("--json", help="write the results to this file")
    args = p.parse_args(argv)
    checks: list[Check] = []
    for run in (check_rest, check_action_server, check_wechat, check_console,
                check_store_down, check_screen):
        try:
            checks += run(args)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            checks.append(Check("?", run.__name__, "FAILED", f"{type(exc).__name__}: {exc}"))
    for c in checks:
        print(f"[{c.outcome:>7}] item {c.item:>2}: {c.name} -- {c.detail}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(c) for c in checks], indent=2))
    return 1 if any(c.outcome == "FAILED" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
