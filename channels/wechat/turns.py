"""One turn within WeChat's 5-second deadline, exactly once.

``TurnRunner.run(key, openid, produce, deadline)``:

1. claims ``key`` in the database (insert-first); a retry that loses the claim
   waits for the first attempt's passive reply until its own deadline, else
   answers ``success`` (``None``) -- unless the first attempt, in another process,
   has not decided by then: it may have died, so the retry waits on until it can
   take the turn over (below);
2. runs ``produce()`` (the bot) in a task it keeps a reference to;
3. finished within the budget: the merged reply is answered passively. If it is
   longer than one message, the passive reply is part (1/2) and part (2/2) is the
   turn's one customer-service message; anything beyond two parts is cut at a
   sentence boundary with a note pointing to the menu / hospital phone;
4. not finished: answers ``success`` at once and the whole reply goes later as
   ONE customer-service message (cut the same way if longer than one message).

A turn therefore never sends more than one customer-service message (WeChat
allows 5 per user message in 48 h, shared with reminders).

While a turn runs, its process refreshes the claim's heartbeat every
``heartbeat`` seconds. A retry that finds the claim still ``processing`` but its
heartbeat older than ``stale_after`` (the process died mid-turn) takes the turn
over, exactly once across processes, and runs ``resume`` (the connector checks
whether the bot already saw the message before running it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.hospital import HospitalInfo
from bot.i18n import detect_language, t
from bot.masking import mask_openid
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.text import bilingual, split_text

log = logging.getLogger(__name__)

Produce = Callable[[], Awaitable[str | None]]
POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 2.0
STALE_AFTER_SECONDS = 8.0  # > heartbeat + event-loop lag + a busy database; < WeChat's 3rd try


class TurnRunner:
    def __init__(self, state: WeChatState, sender: WeChatSender, hospital: HospitalInfo,
                 limit_bytes: int = 2048, max_concurrent_turns: int = 4,
                 heartbeat: float = HEARTBEAT_SECONDS,
                 stale_after: float = STALE_AFTER_SECONDS) -> None:
        self.state = state
        # Rasa runs NLU and policies on the event loop: a bounded number of turns at a
        # time keeps the loop responsive, so answers (passive or "success") leave in time.
        self._slots = asyncio.Semaphore(max_concurrent_turns)
        self.sender = sender
        self.hospital = hospital
        self.limit = limit_bytes
        self.background: set[asyncio.Task] = set()  # strong refs, as Rasa's Slack connector
        self._inflight: dict[str, asyncio.Future] = {}
        self._owned: set[str] = set()  # claims this process is processing
        self._heartbeat = heartbeat
        self._stale_after = timedelta(seconds=stale_after)
        self._beating: asyncio.Task | None = None

    def _keep(self, coro: Awaitable) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def run(self, key: str, openid: str, produce: Produce, deadline: float,
                  resume: Produce | None = None, grant: str | None = None) -> str | None:
        """The passive reply text, or None to answer ``success``.

        ``resume`` runs instead of ``produce`` when a retry takes over a turn
        whose process died (default: ``produce``).
        """
        if not await asyncio.to_thread(self.state.claim, key, openid, grant):
            log.info("wechat.message.duplicate key=%s openid=%s", key[:40], mask_openid(openid))
            return await self._await_first(key, openid, resume or produce, deadline)
        return await self._turn(key, openid, produce, deadline)

    async def _turn(self, key: str, openid: str, produce: Produce, deadline: float
                    ) -> str | None:
        """Run a claimed turn and answer it within ``deadline``."""
        loop = asyncio.get_running_loop()
        first: asyncio.Future = loop.create_future()
        self._inflight[key] = first
        self._own(key)
        task = self._keep(self._limited(produce))
        try:
            text = await asyncio.wait_for(asyncio.shield(task), max(deadline - loop.time(), 0))
        except asyncio.TimeoutError:
            log.info("wechat.reply.deferred key=%s openid=%s", key[:40], mask_openid(openid))
            self._resolve(key, None)
            self._keep(self._deliver_late(key, openid, task))
            return None
        except asyncio.CancelledError:  # WeChat hung up early: the reply still goes out
            log.warning("wechat.reply.deferred_on_disconnect key=%s openid=%s", key[:40],
                        mask_openid(openid))
            self._resolve(key, None)
            self._keep(self._deliver_late(key, openid, task))
            raise
        except Exception:  # noqa: BLE001 - the bot failed; the patient still gets an answer
            log.exception("wechat.turn.failed key=%s openid=%s", key[:40], mask_openid(openid))
            text = bilingual("utter_wechat_unavailable", self.hospital)
            await self._finish(key, text, "passive", "failed")
            self._resolve(key, text)
            return text
        if not text:
            await self._finish(key, None, "none")
            self._resolve(key, None)
            return None
        parts = self._split(text, max_parts=2)
        await self._finish(key, parts[0], "passive")
        self._resolve(key, parts[0])
        if len(parts) > 1:
            self._keep(self._send(openid, parts[1]))
        return parts[0]

    async def _limited(self, produce: Produce) -> str | None:
        async with self._slots:
            return await produce()

    def _resolve(self, key: str, text: str | None) -> None:
        future = self._inflight.pop(key, None)
        if future is not None and not future.done():
            future.set_result(text)

    async def _await_first(self, key: str, openid: str, resume: Produce, deadline: float
                           ) -> str | None:
        loop = asyncio.get_running_loop()
        future = self._inflight.get(key)
        if future is not None:  # first attempt runs in this process
            try:
                return await asyncio.wait_for(asyncio.shield(future),
                                              max(deadline - loop.time(), 0))
            except asyncio.TimeoutError:
                return None
        # Answering "success" ends WeChat's retries. A first attempt in another process
        # decides by its own deadline (passive reply, or "success" and a customer-service
        # message); one still undecided when this retry's deadline passes may belong to a
        # process that died: this retry stays on the line until the claim's heartbeat is
        # stale and takes the turn over (or WeChat hangs up and its next retry does).
        patience = deadline + self._stale_after.total_seconds() + self._heartbeat
        while True:  # first attempt in another process (or already finished)
            state = await asyncio.to_thread(self.state.get, key)
            if (state is not None and key not in self._owned
                    and state.abandoned(self._stale_after)
                    and await asyncio.to_thread(self.state.take_over, key, self._stale_after)):
                log.warning("wechat.turn.taken_over key=%s openid=%s", key[:40],
                            mask_openid(openid))
                return await self._turn(key, openid, resume, deadline)
            if state is not None and state.delivery == "customer_service":
                return None  # the first attempt already answered "success"
            if state is not None and state.status != "processing":
                return state.reply_text if state.delivery == "passive" else None
            if loop.time() + POLL_SECONDS >= deadline:
                undecided = state is not None and state.delivery == "pending"
                if not undecided or loop.time() + POLL_SECONDS >= patience:
                    return None
            await asyncio.sleep(POLL_SECONDS)

    async def _deliver_late(self, key: str, openid: str, task: asyncio.Task) -> None:
        await asyncio.to_thread(self.state.defer, key)
        try:
            text = await task
        except Exception:  # noqa: BLE001 - surfaced in the log and the inbound row
            log.exception("wechat.turn.failed key=%s openid=%s", key[:40], mask_openid(openid))
            text = bilingual("utter_wechat_unavailable", self.hospital)
        if not text:
            await self._finish(key, None, "none")
            return
        message = self._split(text, max_parts=1)[0]
        await self._finish(key, message, "customer_service")
        await self._send(openid, message)

    async def _finish(self, key: str, text: str | None, delivery: str,
                      status: str = "done") -> None:
        try:
            await asyncio.to_thread(self.state.finish, key, text, delivery, status)
        finally:
            self._owned.discard(key)
            if not self._owned and self._beating is not None:
                self._beating.cancel()  # nothing left to keep alive
                self._beating = None

    def _own(self, key: str) -> None:
        self._owned.add(key)
        if self._beating is None or self._beating.done():
            self._beating = self._keep(self._beat())

    async def _beat(self) -> None:
        """Refresh the heartbeat of this process's turns until none is left."""
        while self._owned:
            await asyncio.sleep(self._heartbeat)
            try:
                await asyncio.to_thread(self.state.heartbeat, sorted(self._owned))
            except SQLAlchemyError:  # a missed beat; a retry may take over after stale_after
                log.exception("wechat.turn.heartbeat_failed turns=%d", len(self._owned))

    async def _send(self, openid: str, text: str) -> None:
        # failures are recorded in wechat_outbox by the sender (never dropped)
        await asyncio.to_thread(self.sender.send, openid, text, "reply")

    def _split(self, text: str, max_parts: int) -> list[str]:
        lang = detect_language(text)
        note = t("utter_wechat_reply_truncated", lang, **self.hospital.params(lang))
        return split_text(text, self.limit, max_parts=max_parts, overflow_note=note)
