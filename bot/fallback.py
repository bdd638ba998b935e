"""Answers when the database (or the bot behind it) is down: emergencies first.

``StoreDownFallback.answer`` needs nothing but memory and a local file: the
red-flag screen runs in memory; a red flag gets its 120 advice, anything else a
bilingual "service busy, call <hospital phone>". The patient's message (and,
for a red flag, the fact that the advice was given) goes to the local ``Spool``;
``SpoolReplay`` writes it into the transcript and the triage records once the
database is back (the scheduler worker drains the spool periodically).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from bot.hospital import HospitalInfo
from bot.i18n import bilingual, detect_language, t
from bot.identity import conversation_id
from bot.store.db import Database
from bot.store.repositories import LoggedMessage, TranscriptService
from bot.store.spool import Spool
from bot.triage.case import RedFlagHit

if TYPE_CHECKING:
    from bot.triage.pipeline import Triage

log = logging.getLogger(__name__)

Screen = Callable[[str], "RedFlagHit | None"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class StoreDownFallback:
    def __init__(self, spool: Spool, hospital: HospitalInfo, screen: Screen | None = None) -> None:
        self.spool = spool
        self.hospital = hospital
        if screen is None:
            from bot.triage.red_flags import screen as default_screen
            screen = default_screen
        self.screen = screen

    def answer(self, channel: str, external_id: str, text: str,
               channel_message_id: str | None = None, hit: RedFlagHit | None = None,
               logged: bool = False) -> list[str]:
        """The texts to send now; the message is spooled for the transcript.

        Args:
            hit: the red flag already found by the caller (else the text is screened).
            logged: the patient's message is already in the transcript.
        """
        hit = hit if hit is not None else self.screen(text or "")
        lang = detect_language(text or "")
        if hit is not None:
            replies = [hit.message(lang) if lang else bilingual_advice(hit)]
        else:
            replies = [t("utter_service_busy", lang, **self.hospital.params(lang)) if lang
                       else bilingual("utter_service_busy", self.hospital.params)]
        record: dict[str, Any] = {
            "at": _now(), "channel": channel, "external_id": external_id,
            "messages": ([] if logged else [
                {"role": "patient", "text": text, "language": lang,
                 "channel_message_id": channel_message_id}])
            + [{"role": "bot", "text": reply, "language": lang} for reply in replies],
            "emergency": text if hit is not None else None,
        }
        try:
            self.spool.append(record)
        except OSError:  # the answer still goes out; the loss is loud
            log.exception("spool.append_failed channel=%s", channel)
        log.warning("store_down.answered channel=%s red_flag=%s", channel,
                    hit.category if hit else "-")
        return replies


    def spool_message(self, channel: str, external_id: str, message: LoggedMessage) -> None:
        """Keep a message that was sent but could not be logged."""
        try:
            self.spool.append({"at": _now(), "channel": channel, "external_id": external_id,
                               "messages": [{"role": message.role, "text": message.text,
                                             "language": message.language,
                                             "channel_message_id": message.channel_message_id}],
                               "emergency": None})
        except OSError:
            log.exception("spool.append_failed channel=%s", channel)


def bilingual_advice(hit: RedFlagHit) -> str:
    return "\n\n".join(hit.message(lang) for lang in ("zh", "en"))


class SpoolReplay:
    """Writes spooled records into the database (``Spool.drain``'s ``apply``)."""

    def __init__(self, db: Database, triage: Callable[[], Triage] | None = None) -> None:
        """``triage`` loads the pipeline that records a spooled emergency (the
        library default when omitted)."""
        self.transcripts = TranscriptService(db)
        self.db = db
        self._triage = triage

    def __call__(self, record: dict[str, Any]) -> None:
        channel, external_id = record["channel"], record["external_id"]
        payload = f'{{"spooled_at": "{record["at"]}"}}'
        messages = [LoggedMessage(role=m["role"], text=m.get("text"), payload=payload,
                                  language=m.get("language"),
                                  channel_message_id=m.get("channel_message_id"))
                    for m in record.get("messages") or []]
        if messages:
            self.transcripts.log(channel, external_id, messages)
            record["messages"] = []  # done: a retry of the rest does not log them twice
        if record.get("emergency"):
            from bot.triage.service import TriageService
            triage = self._triage() if self._triage else None
            TriageService(self.db, triage).assess_text(
                record["emergency"], None, channel=channel,
                conversation_id=conversation_id(channel, external_id))
