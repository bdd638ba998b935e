"""Rasa input channel for a WeChat Official Account (``/webhooks/wechat/webhook``).

GET answers WeChat's server check; POST reads the body under the size cap,
verifies it (signature, msg_signature, replay window, safe XML, no plaintext in
compatible/safe mode), refuses a (timestamp, nonce, signature) already seen in any
process (``bot.wechat.replay``), dedupes by MsgId / a digest of
openid+CreateTime+Event+EventKey in the database, and answers within the reply
budget (see ``turns``).

With no WeChat configuration at all (no token, no app id) the channel is
disabled: it logs ``wechat.disabled`` once and its webhook answers 503, so
``medbot run`` starts with the REST channel alone. A partial or invalid
configuration raises ``ConfigError`` in the constructor (fails at start).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage, PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.app import App, current_app
from bot.handoff.factory import build_gate
from bot.handoff.gate import ConversationGate
from bot.hospital import HospitalInfo
from bot.i18n import default_catalog
from bot.identity import conversation_id
from bot.masking import mask_openid
from bot.settings import Settings
from bot.store.db import Database
from bot.store.repositories import TranscriptService
from bot.wechat.config import WeChatConfig
from bot.wechat.menu import MENU_FILE, Menu
from bot.wechat.protocol import (
    Envelope, ProtocolError, check_signature, check_timestamp, dedupe_key,
    open_request, text_reply_xml, to_message,
)
from bot.wechat.quota import interaction
from bot.wechat.replay import replay_guard
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.text import bilingual, merge_messages
from channels.boundary import ChannelBoundary, OnNewMessage, store_down_fallback
from channels.emergency import EmergencyInterrupt
from channels.wechat.dispatch import Dispatcher, GateHandoffRouter, HandoffRouter, NoHandoff
from channels.wechat.turns import Produce, TurnRunner

log = logging.getLogger(__name__)


class StoreDown(Exception):
    """The database that makes a turn exactly-once cannot be reached."""


class WeChatInput(InputChannel):
    """WeChat Official Account webhook."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def __init__(self, config: WeChatConfig, db: Database | None = None,
                 hospital: HospitalInfo | None = None, menu: Menu | None = None,
                 handoff: HandoffRouter | None = None,
                 sender: WeChatSender | None = None,
                 gate: ConversationGate | None | bool = True,
                 app: App | None = None) -> None:
        """``app``: the process's (default: the one the Rasa server installed);
        ``db``: another database than the app's (protocol tests)."""
        self.config = config
        if not config.enabled:
            log.warning("wechat.disabled reason=no MEDBOT_WECHAT_TOKEN/APP_ID configured")
            return
        config.validate()
        app = app or current_app()
        own_db = db is None or db is app.db
        self.db = db = app.db if db is None else db
        self.hospital = hospital or app.hospital
        self.state = WeChatState(db, app.clock)
        settings = app.settings
        self.replay = replay_guard(settings, db, config.replay_window)
        self.sender = sender or WeChatSender.from_config(config, db, settings, app.clock)
        if gate is True:  # the real consent/handoff gate; False only in protocol tests
            gate = app.gate if own_db else build_gate(db, settings, screen=lambda: app.screen)
        self.gate = gate or None
        emergency = EmergencyInterrupt()
        self.boundary = ChannelBoundary(self.name(), TranscriptService(db), emergency, self.gate,
                                        store_down_fallback(app, emergency))
        if handoff is None and self.gate is not None:
            handoff = GateHandoffRouter(self.gate)
        self.turns = TurnRunner(self.state, self.sender, self.hospital, config.reply_limit_bytes,
                                config.max_concurrent_turns)
        menu = menu or Menu.load(settings.project_root / MENU_FILE)
        self.dispatcher = Dispatcher(self.state, self.hospital, menu.texts(),
                                     handoff or NoHandoff(), self.boundary.transcripts)
        default_catalog()  # load the bilingual texts now, not during a patient's turn
        self.envelope = (Envelope(config.token, config.encoding_aes_key, config.app_id)
                         if config.encrypted else None)
        log.info("wechat.enabled mode=%s app_id=%s budget=%.1fs", config.mode,
                 mask_openid(config.app_id), config.reply_budget)

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None,
                         environ: Mapping[str, str] | None = None,
                         app: App | None = None) -> WeChatInput:
        """The channel of ``credentials.yml`` with ``MEDBOT_WECHAT_*`` applied, on
        ``app`` (default: the Rasa server's). An ``environ`` given is this channel's
        whole configuration: its settings (database, Redis) come from it too."""
        settings = Settings.from_env(environ)  # the process environment when None
        config = WeChatConfig.from_sources(credentials, settings)
        if not config.enabled:
            return cls(config)
        if app is None:
            app = current_app() if environ is None else App.from_settings(settings)
        return cls(config, app=app)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("wechat_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config.enabled else "disabled"})

        if not self.config.enabled:
            @bp.route("/webhook", methods=["GET", "POST"])
            async def disabled(_: Request) -> HTTPResponse:
                return response.text("wechat channel is not configured", status=503)
            return bp

        handle = self.boundary.wrap(on_new_message)
        self.boundary.attach(bp)

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            args = _args(request)
            try:
                check_signature((self.config.token, args.get("timestamp", ""),
                                 args.get("nonce", "")), args.get("signature"))
                check_timestamp(args.get("timestamp"), self.config.replay_window)
            except ProtocolError as exc:
                log.warning("wechat.verify.refused status=%d reason=%s", exc.status, exc.detail)
                return response.text("forbidden", status=exc.status)
            return response.text(args.get("echostr", ""))

        @bp.route("/webhook", methods=["POST"], stream=True)  # the body is read under a cap
        async def receive(request: Request) -> HTTPResponse:
            deadline = asyncio.get_running_loop().time() + self.config.reply_budget
            args = _args(request)
            try:
                body = await _read_body(request, self.config.max_body_bytes)
                fields, encrypted = open_request(self.config, args, body)
                message = to_message(fields)
                # last: only a push that verified uses up its (timestamp, nonce, signature)
                store_up = await self._first_use(args)
            except ProtocolError as exc:
                log.warning("wechat.request.refused status=%d reason=%s", exc.status, exc.detail)
                return response.text("refused", status=exc.status)
            openid = fields["FromUserName"]
            produce = self.dispatcher.plan(message, fields, lambda text: self._run_bot(
                handle, openid, text, fields))
            rerun = self.dispatcher.plan(message, fields, lambda text: self._run_bot(
                handle, openid, text, fields, resumed=True))
            agent = getattr(request.app.ctx, "agent", None)
            try:
                if not store_up:
                    raise StoreDown("replay guard")
                reply = await self.turns.run(dedupe_key(fields), openid, produce, deadline,
                                             resume=self._resume(openid, fields, produce,
                                                                 rerun, agent),
                                             grant=interaction(fields))
            except (SQLAlchemyError, StoreDown) as exc:  # the database is down: 120 still works
                log.error("wechat.store_down error=%s", type(exc).__name__)
                reply = self._store_down_reply(openid, fields)
            if not reply:
                return response.text("success")
            xml = text_reply_xml(openid, fields.get("ToUserName", ""), reply)
            if encrypted and self.envelope is not None:
                xml = self.envelope.seal(xml)
            return response.text(xml, content_type="application/xml")

        return bp

    async def _first_use(self, args: Mapping[str, str]) -> bool:
        """The replay guard; False when its store is unreachable (answered degraded).

        Raises:
            ProtocolError: 403 for a push seen before.
        """
        try:
            first = await asyncio.to_thread(self.replay.first_use, args["timestamp"],
                                            args.get("nonce", ""), args["signature"])
        except ProtocolError as exc:
            if exc.status != 503:
                raise
            return False
        if not first:
            raise ProtocolError("replayed push (timestamp, nonce, signature seen)", 403)
        return True

    def _store_down_reply(self, openid: str, fields: Mapping[str, str]) -> str | None:
        """A text message still gets its answer (120 advice or "service busy"); the
        message waits in the local spool. Events and media get none."""
        text = fields.get("Content") or fields.get("Recognition") or ""
        if (fields.get("MsgType") or "").lower() not in ("text", "voice") or not text.strip():
            return None
        return merge_messages({"text": reply} for reply in self.boundary.store_down_reply(
            openid, text, fields.get("MsgId") or None))

    async def _run_bot(self, handle: OnNewMessage, openid: str, text: str,
                       fields: Mapping[str, str], resumed: bool = False) -> str:
        collector = CollectingOutputChannel()
        metadata = {"message_id": fields.get("MsgId") or None, "msg_type": fields.get("MsgType")}
        if resumed:  # the message is in the transcript already (channels/boundary.py)
            metadata["resumed"] = True
        await handle(UserMessage(
            text, collector, openid, input_channel=self.name(),
            message_id=fields.get("MsgId") or None, metadata=metadata,
        ))
        return merge_messages(collector.messages)

    def _resume(self, openid: str, fields: Mapping[str, str], produce: Produce,
                rerun: Produce, agent: Any = None) -> Produce:
        """A retry takes over the turn of a process that died mid-turn.

        * The transcript never logged the message: the bot never saw it; run it.
        * The transcript has answers after it: send them.
        * The transcript has the message and no answer: the process died while the
          bot was working. If Rasa saved the turn (its tracker has the message id),
          send what the bot said in it; otherwise run the turn again — Rasa starts
          from the tracker as it was, and every action that had already acted answers
          with its kept result instead of acting twice (``bot.action_replay``).
        """
        async def resume() -> str | None:
            msg_id = fields.get("MsgId")
            sender = conversation_id(self.name(), openid)
            seen = None if not msg_id else await asyncio.to_thread(
                self.boundary.transcripts.replies_to, self.name(), sender, msg_id)
            if seen is None:
                return await produce()
            if seen:
                log.warning("wechat.turn.resumed_after_bot openid=%s replies=%d",
                            mask_openid(openid), len(seen))
                return merge_messages({"text": text} for text in seen)
            saved = await _saved_turn(agent, sender, msg_id)
            if saved is None:
                log.warning("wechat.turn.rerun openid=%s", mask_openid(openid))
                return await rerun()
            log.warning("wechat.turn.resumed_from_tracker openid=%s replies=%d",
                        mask_openid(openid), len(saved))
            return (merge_messages({"text": text} for text in saved)
                    or bilingual("utter_wechat_turn_lost", self.hospital))
        return resume

    def get_output_channel(self) -> None:  # proactive sends go through WeChatSender
        return None


async def _saved_turn(agent: Any, sender: str, message_id: str) -> list[str] | None:
    """What the bot said in the turn of ``message_id`` as Rasa saved it, or None when
    Rasa never saved that turn (or its tracker store cannot be read: the turn is run
    again, and the actions' kept results keep it from acting twice)."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    try:
        tracker = await store.retrieve(sender)
    except Exception as exc:  # noqa: BLE001 - unreadable: run the turn again
        log.error("wechat.turn.tracker_unreadable error=%s", type(exc).__name__)
        return None
    replies: list[str] | None = None
    for event in tracker.events if tracker is not None else ():
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif replies is not None and isinstance(event, BotUttered) and event.text:
            replies.append(event.text)
    return replies


def _args(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in request.args.items() if v}


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes before it is buffered.

    Sanic's per-request cap makes it refuse a larger Content-Length before reading
    any of the body, and a chunked body as soon as the chunks pass ``limit``; after
    the 413 it closes the connection instead of draining the rest.
    """
    stream = request.stream
    if stream is None:
        return request.body or b""
    if hasattr(stream, "request_max_size"):
        stream.request_max_size = limit
    body = bytearray()
    try:
        async for chunk in stream:
            body += chunk
            if len(body) > limit:
                raise ProtocolError("body too large", 413)
    except PayloadTooLarge as exc:
        raise ProtocolError("body too large", 413) from exc
    except InvalidUsage as exc:  # bad chunked encoding
        raise ProtocolError("malformed body", 400) from exc
    return bytes(body)
