"""One turn within WeChat's 5-second deadline, exactly once.

``TurnRunner.run(key, openid, produce, deadline)``:

1. claims ``key`` in the database (insert-first); a retry that loses the claim
   waits for the first attempt's passive reply until its own deadline, else
   answers ``success`` (``None``);
2. runs ``produce()`` (the bot) in a task it keeps a reference to;
3. finished within the budget: the merged reply is answered passively. If it is
   longer than one message, the passive reply is part (1/2) and part (2/2) is the
   turn's one customer-service message; anything beyond two parts is cut at a
   sentence boundary with a note pointing to the menu / hospital phone;
4. not finished: answers ``success`` at once and the whole reply goes later as
   ONE customer-service message (cut the same way if longer than one message).

A turn therefore never sends more than one customer-service message (WeChat
allows 5 per user message in 48 h, shared with reminders).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.hospital import HospitalInfo
from bot.i18n import detect_language, t
from bot.wechat.protocol import mask
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.text import split_text

log = logging.getLogger(__name__)

Produce = Callable[[], Awaitable[str | None]]
POLL_SECONDS = 0.1


class TurnRunner:
    def __init__(self, state: WeChatState, sender: WeChatSender, hospital: HospitalInfo,
                 limit_bytes: int = 2048, max_concurrent_turns: int = 4) -> None:
        self.state = state
        # Rasa runs NLU and policies on the event loop: a bounded number of turns at a
        # time keeps the loop responsive, so answers (passive or "success") leave in time.
        self._slots = asyncio.Semaphore(max_concurrent_turns)
        self.sender = sender
        self.hospital = hospital
        self.limit = limit_bytes
        self.background: set[asyncio.Task] = set()  # strong refs, as Rasa's Slack connector
        self._inflight: dict[str, asyncio.Future] = {}

    def _keep(self, coro: Awaitable) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def run(self, key: str, openid: str, produce: Produce, deadline: float) -> str | None:
        """The passive reply text, or None to answer ``success``."""
        loop = asyncio.get_running_loop()
        if not await asyncio.to_thread(self.state.claim, key, openid):
            log.info("wechat.message.duplicate key=%s openid=%s", key[:40], mask(openid))
            return await self._await_first(key, deadline)
        first: asyncio.Future = loop.create_future()
        self._inflight[key] = first
        task = self._keep(self._limited(produce))
        try:
            text = await asyncio.wait_for(asyncio.shield(task), max(deadline - loop.time(), 0))
        except asyncio.TimeoutError:
            log.info("wechat.reply.deferred key=%s openid=%s", key[:40], mask(openid))
            self._resolve(key, None)
            self._keep(self._deliver_late(key, openid, task))
            return None
        except asyncio.CancelledError:  # WeChat hung up early: the reply still goes out
            log.warning("wechat.reply.deferred_on_disconnect key=%s openid=%s", key[:40],
                        mask(openid))
            self._resolve(key, None)
            self._keep(self._deliver_late(key, openid, task))
            raise
        except Exception:  # noqa: BLE001 - the bot failed; the patient still gets an answer
            log.exception("wechat.turn.failed key=%s openid=%s", key[:40], mask(openid))
            text = self._bilingual("utter_wechat_unavailable")
            await asyncio.to_thread(self.state.finish, key, text, "passive", "failed")
            self._resolve(key, text)
            return text
        if not text:
            await asyncio.to_thread(self.state.finish, key, None, "none")
            self._resolve(key, None)
            return None
        parts = self._split(text, max_parts=2)
        await asyncio.to_thread(self.state.finish, key, parts[0], "passive")
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

    async def _await_first(self, key: str, deadline: float) -> str | None:
        loop = asyncio.get_running_loop()
        future = self._inflight.get(key)
        if future is not None:  # first attempt runs in this process
            try:
                return await asyncio.wait_for(asyncio.shield(future),
                                              max(deadline - loop.time(), 0))
            except asyncio.TimeoutError:
                return None
        while True:  # first attempt in another process (or already finished)
            state = await asyncio.to_thread(self.state.get, key)
            if state is not None and state.delivery == "customer_service":
                return None  # the first attempt already answered "success"
            if state is not None and state.status != "processing":
                return state.reply_text if state.delivery == "passive" else None
            if loop.time() + POLL_SECONDS >= deadline:
                return None
            await asyncio.sleep(POLL_SECONDS)

    async def _deliver_late(self, key: str, openid: str, task: asyncio.Task) -> None:
        await asyncio.to_thread(self.state.defer, key)
        try:
            text = await task
        except Exception:  # noqa: BLE001 - surfaced in the log and the inbound row
            log.exception("wechat.turn.failed key=%s openid=%s", key[:40], mask(openid))
            text = self._bilingual("utter_wechat_unavailable")
        if not text:
            await asyncio.to_thread(self.state.finish, key, None, "none")
            return
        message = self._split(text, max_parts=1)[0]
        await asyncio.to_thread(self.state.finish, key, message, "customer_service")
        await self._send(openid, message)

    async def _send(self, openid: str, text: str) -> None:
        # failures are recorded in wechat_outbox by the sender (never dropped)
        await asyncio.to_thread(self.sender.send, openid, text, "reply")

    def _split(self, text: str, max_parts: int) -> list[str]:
        lang = detect_language(text)
        note = t("utter_wechat_reply_truncated", lang, **self.hospital.params(lang))
        return split_text(text, self.limit, max_parts=max_parts, overflow_note=note)

    def _bilingual(self, key: str) -> str:
        return "\n\n".join(t(key, lang, **self.hospital.params(lang)) for lang in ("zh", "en"))
