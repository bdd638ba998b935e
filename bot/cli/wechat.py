"""``medbot wechat menu|outbox`` and ``medbot wechat-sim``.

``wechat menu`` publishes ``channels/wechat/menu.yml`` through the shared-token
client; ``wechat outbox`` lists (``--retry``: resends) failed outbound messages;
``wechat-sim`` chats through the real WeChat webhook path: it starts a fake
WeChat API and ``medbot run`` with development WeChat secrets (or talks to
``--url`` with the ``MEDBOT_WECHAT_*`` of that server) and plays WeChat's side.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, or_, select

from bot.app import App
from bot.cli import command_app
from bot.errors import ServiceError
from bot.logs import redact
from bot.masking import mask_openid
from bot.settings import Settings
from bot.store.wechat_models import WeChatDelivery
from bot.wechat.config import WeChatConfig, load_wechat_config
from bot.wechat.menu import MENU_FILE, Menu
from bot.wechat.sender import WeChatSender

STALLED_AFTER = timedelta(minutes=10)  # far past a send's bounded attempts


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("wechat", help="WeChat Official Account: menu, outbox")
    wsub = p.add_subparsers(dest="wechat_command", metavar="WHAT")
    wsub.required = True
    menu = wsub.add_parser("menu", help="publish the custom menu")
    menu.add_argument("--file", type=Path, help=f"default: <project root>/{MENU_FILE}")
    menu.add_argument("--language", choices=("zh", "en"), default=None,
                      help="default: the hospital's, MEDBOT_DEFAULT_LANGUAGE")
    menu.add_argument("--dry-run", action="store_true", help="print the payload only")
    menu.set_defaults(func=_menu)
    outbox = wsub.add_parser("outbox", help="list failed outbound messages and the ones that "
                                            "went by the fallback (quota, 45015, 45047)")
    outbox.add_argument("--retry", action="store_true", help="send failed messages again")
    outbox.add_argument("--days", type=float, default=2.0,
                        help="fallback sends of the last DAYS days are listed (default 2)")
    outbox.set_defaults(func=_outbox)
    purge = wsub.add_parser("purge", help="delete old exactly-once claims")
    purge.add_argument("--days", type=float, default=7.0)
    purge.set_defaults(func=_purge)

    from bot.cli.service import add_service_arguments

    sim = sub.add_parser("wechat-sim", help="chat through the real WeChat webhook path")
    sim.add_argument("--url", help="webhook of a running medbot (default: start one)")
    sim.add_argument("--openid", default=None, help="the simulated patient's openid")
    add_service_arguments(sim)
    sim.set_defaults(func=_sim)


def load_config(settings: Settings) -> WeChatConfig:
    return load_wechat_config(settings)


def build_sender(app: App, config: WeChatConfig) -> WeChatSender:
    return WeChatSender.from_config(config, app.db, app.settings)


def _menu(args: argparse.Namespace) -> int:
    app = command_app(args)  # its database opens only when publishing
    menu = Menu.load(args.file or app.settings.project_root / MENU_FILE)
    language = args.language or app.settings.default_language
    payload = menu.payload(language)
    if args.dry_run:
        print(yaml.safe_dump(payload, allow_unicode=True, sort_keys=False))
        return 0
    sender = build_sender(app, load_config(app.settings))
    sender.client.menu.create(payload)
    print(f"menu {menu.version} ({language}) published")
    return 0


def _outbox(args: argparse.Namespace) -> int:
    app = command_app(args)
    if args.retry:
        results = build_sender(app, load_config(app.settings)).retry_failed()
        for r in results:
            print(f"#{r.delivery_id} {r.status} {redact(r.error or '')}")
        return 0 if all(r.status == "sent" for r in results) else 1
    now = app.clock.now()
    since = now - timedelta(days=args.days)
    with app.db.begin() as session:
        # failed rows, and rows a dead process left pending (their send may or may not
        # have reached WeChat: an operator decides)
        rows = session.execute(select(WeChatDelivery).where(or_(
            WeChatDelivery.status == "failed",
            and_(WeChatDelivery.status == "pending",
                 WeChatDelivery.updated_at < now - STALLED_AFTER)))
            .order_by(WeChatDelivery.id)).scalars().all()
        for row in rows:
            print(_line(row))
        fallbacks = session.execute(select(WeChatDelivery).where(
            WeChatDelivery.status != "failed", WeChatDelivery.fallback.is_not(None),
            WeChatDelivery.created_at >= since).order_by(WeChatDelivery.id)).scalars().all()
        if fallbacks:
            print(f"sent by the fallback in the last {args.days:g} days "
                  f"(no customer-service message allowed):")
            for row in fallbacks:
                print(_line(row))
    return 1 if rows else 0


def _line(row: WeChatDelivery) -> str:
    fallback = f" fallback={row.fallback}" if row.fallback else ""
    return (f"#{row.id} {row.created_at:%Y-%m-%d %H:%M} {mask_openid(row.openid)} {row.kind} "
            f"{row.method}{fallback} {row.status} attempts={row.attempts} "
            f"{redact(row.last_error or '')}").rstrip()


def _purge(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.wechat.state import WeChatState

    count = WeChatState(command_app(args).db).purge(
        timedelta(days=args.days))
    print(f"{count} claims older than {args.days:g} days deleted")
    return 0


def dev_environment(api_base: str, app_id: str, app_secret: str) -> dict[str, str]:
    """Throw-away WeChat secrets for a local simulation."""
    return {
        "MEDBOT_WECHAT_TOKEN": "dev" + secrets.token_hex(8),
        "MEDBOT_WECHAT_APP_ID": app_id,
        "MEDBOT_WECHAT_APP_SECRET": app_secret,
        "MEDBOT_WECHAT_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
        "MEDBOT_WECHAT_MODE": "safe",
        "MEDBOT_WECHAT_API_BASE": api_base,
    }


HELP = ("commands: /image /voice /location /subscribe /unsubscribe /click KEY /quit "
        "- anything else is sent as text")


def _sim(args: argparse.Namespace) -> int:
    from channels.wechat.peer import FakeWeChatAPI

    openid = args.openid or f"oSim{uuid.uuid4().hex[:20]}"
    if args.url:
        return asyncio.run(_sim_loop(args.url, load_config(command_app(args).settings), openid,
                                     None))
    from bot.cli.service import settings_from_args, start_in_background

    api = FakeWeChatAPI().start()
    os.environ.update(dev_environment(api.base_url, api.app_id, api.app_secret))
    settings = settings_from_args(args)
    config = load_config(settings)
    supervisor = start_in_background(settings)
    try:
        url = f"http://{settings.host}:{settings.rasa_port}/webhooks/wechat/webhook"
        return asyncio.run(_sim_loop(url, config, openid, api))
    finally:
        supervisor.stop()
        api.stop()


async def _sim_loop(url: str, config: WeChatConfig, openid: str, api: Any) -> int:
    from channels.wechat.peer import WeChatSimulator

    sim = WeChatSimulator(url, config.token, config.app_id, config.encoding_aes_key,
                          mode=config.mode)
    print(f"medbot WeChat simulator ({config.mode} mode) as {mask_openid(openid)} - {HELP}")
    seen = 0
    while True:
        try:
            line = (await asyncio.to_thread(input, "你/you > ")).strip()
        except EOFError:
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        try:
            reply = await sim.send(_fields(sim, openid, line))
        except (OSError, ValueError) as exc:
            raise ServiceError(f"could not reach {url}: {exc}") from exc
        if reply.status != 200:
            print(f"[HTTP {reply.status}] {reply.body}")
        elif reply.text:
            print(f"medbot > {reply.text}")
        if api is not None:  # customer-service messages of slow turns
            await asyncio.sleep(0.2 if reply.text else config.reply_budget)
            for message in api.sent[seen:]:
                print(f"medbot (客服消息/customer service) > {message.text}")
            seen = len(api.sent)


def _fields(sim: Any, openid: str, line: str) -> dict[str, Any]:
    command, _, rest = line.partition(" ")
    if command == "/image":
        return sim.fields(openid, "image", PicUrl="http://example.invalid/p.jpg", MediaId="m1")
    if command == "/voice":
        return sim.fields(openid, "voice", MediaId="m1", Format="amr",
                          **({"Recognition": rest} if rest else {}))
    if command == "/location":
        return sim.fields(openid, "location", Location_X="39.9", Location_Y="116.4",
                          Scale="15", Label="Demo")
    if command in ("/subscribe", "/unsubscribe"):
        return sim.event(openid, command[1:])
    if command == "/click":
        return sim.event(openid, "CLICK", key=rest.strip())
    return sim.text(openid, line)
