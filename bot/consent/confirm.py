"""Irreversible or sensitive requests, decided in the core and confirmed first.

Deleting the patient's data, withdrawing consent and cancelling reminders never
run on the message that asks for them. The request records one pending
question (a ``consent_prompts`` row with purpose ``confirm``) naming exactly
what will happen; the conversation gate hands the *next* patient message to
:meth:`SensitiveActions.resolve`: a clear yes runs the action, a no keeps
everything, anything else (or a question older than ``ttl``) drops the
question, so a later unrelated "好的" never confirms a stale one.

Deleting *all* data is never inferred from a short or ambiguous message:
only an explicit phrase (:func:`is_explicit_erasure`: "删除我的所有数据",
"delete all my data", "注销") asks that question. "删了吧" / "delete that"
right after a reminder was set asks whether to delete *that reminder*;
otherwise the patient is asked what to delete.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import as_utc, utcnow
from bot.consent.rights import DataRightsService
from bot.errors import NotFoundError
from bot.i18n import t
from bot.identity import conversation_id
from bot.reminders.service import ReminderService, ReminderView
from bot.store.consent_models import ConsentPrompt
from bot.store.db import Database
from bot.store.models import Patient
from bot.store.repositories import PatientRepository
from bot.text.normalise import normalise
from bot.text.yesno import read_confirmation

CONFIRM_PURPOSE = "confirm"
DELETE_ALL, WITHDRAW, CANCEL_REMINDERS = "delete_all", "withdraw", "cancel_reminders"

_ERASE_ALL = re.compile(
    r"(?:删除|删掉|删去|清除|清空|抹掉|销毁)(?:掉)?(?:我的?|本人的?)?(?:所有|全部|一切|个人)"
    r"(?:的)?(?:个人)?(?:数据|信息|资料|记录)|注销|"
    r"(?:删除|清除)我的?(?:个人)?(?:数据|信息|资料)|"
    r"\b(?:delete|erase|remove|wipe)\s+(?:all\s+(?:of\s+)?)?my\s+(?:personal\s+)?"
    r"(?:data|information|info|records|account)\b|"
    r"\b(?:delete|erase|remove|wipe)\s+(?:all|everything)\s+(?:of\s+)?(?:my|about me)\b|"
    r"\bclose my account\b")
_NEGATED = re.compile(r"(?:不要|别|不用|无需|不想|don'?t|do not|never|not)\W{0,2}\w{0,3}\W{0,2}$")


def is_explicit_erasure(text: str) -> bool:
    """Whether ``text`` explicitly asks to delete *all* of the patient's data."""
    norm = normalise(text)
    for match in _ERASE_ALL.finditer(norm):
        if not _NEGATED.search(norm[:match.start()]):
            return True
    return False


@dataclass(frozen=True)
class Resolution:
    """What the gate does with the answer to a pending confirmation."""

    replies: list[str]
    language: str
    erase: bool = False  # the whole conversation is erased: Rasa's tracker too


class SensitiveActions:
    """Ask before an irreversible action; run it on the answer to that question."""

    def __init__(self, db: Database, rights: DataRightsService, reminders: ReminderService,
                 clock: Callable[[], datetime] | None = None,
                 ttl: timedelta = timedelta(minutes=10),
                 recent: timedelta = timedelta(minutes=30)) -> None:
        self.db = db
        self.rights = rights
        self.reminders = reminders
        self.clock = clock or (lambda: reminders.clock.now())
        self.ttl = ttl
        self.recent = recent
        self.patients = PatientRepository()

    # -- requests (from actions) ------------------------------------------------------
    def request_erasure(self, channel: str, external_id: str, text: str, lang: str) -> str:
        """"删除我的所有数据" asks to confirm erasure; "删了吧" right after a reminder was
        set asks to confirm deleting that reminder; anything else asks what to delete."""
        if is_explicit_erasure(text):
            return self._ask(channel, external_id, lang, DELETE_ALL, {}, t(
                "utter_confirm_delete_all", lang, years=self.rights.years))
        return (self.request_recent_reminder_cancel(channel, external_id, lang)
                or t("utter_delete_what", lang))

    def request_recent_reminder_cancel(self, channel: str, external_id: str,
                                       lang: str) -> str | None:
        """"删了吧" / "cancel it" right after a reminder was set: ask to confirm deleting
        *that* reminder; ``None`` when none was set in the last ``recent``."""
        since = self.clock() - self.recent
        recent = self.reminders.cancellable(channel, external_id, created_since=since)
        if not recent:
            return None
        latest = recent[-1]
        return self._ask(channel, external_id, lang, CANCEL_REMINDERS,
                         {"reminder_ids": [latest.id]},
                         t("utter_confirm_delete_recent_reminder", lang,
                           items=self._items([latest], lang)))

    def request_withdrawal(self, channel: str, external_id: str, lang: str) -> str:
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            granted = patient is not None and any(
                self.rights.consent.status(session, patient.id, p).granted
                for p in ("health_data", "handoff"))
        if not granted:
            return t("utter_consent_nothing_to_withdraw", lang)
        return self._ask(channel, external_id, lang, WITHDRAW, {},
                         t("utter_confirm_withdraw", lang, years=self.rights.years))

    def request_reminder_cancel(self, channel: str, external_id: str, drug_id: str | None,
                                lang: str) -> str:
        """Cancel one drug's reminders, or all of them: named, then confirmed."""
        views = self.reminders.cancellable(channel, external_id, drug_id)
        if not views:
            return t("utter_reminder_none_to_change", lang)
        key = "utter_confirm_cancel_reminders" if drug_id or len(views) == 1 else \
            "utter_confirm_cancel_all_reminders"
        return self._ask(channel, external_id, lang, CANCEL_REMINDERS,
                         {"reminder_ids": [v.id for v in views]},
                         t(key, lang, items=self._items(views, lang), count=len(views)))

    # -- the answer (from the conversation gate) ----------------------------------------
    def resolve(self, channel: str, external_id: str, text: str) -> Resolution | None:
        """The patient's next message after a confirmation question; ``None`` when there
        is no pending question or the message does not answer it (the question is
        dropped either way, and the message goes on to the bot)."""
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            prompt = self._pending(session, patient)
            if prompt is None:
                return None
            answer = read_confirmation(text)
            stale = self.clock() - as_utc(prompt.created_at) > self.ttl
            prompt.status, prompt.answered_at = ("answered" if answer is not None and not stale
                                                 else "dropped"), utcnow()
            lang, context = prompt.language, json.loads(prompt.context_json or "{}")
        if stale or answer is None:
            return None
        if answer is False:
            return Resolution([t("utter_confirm_kept", lang)], lang)
        return self._run(channel, external_id, context, lang)

    def _run(self, channel: str, external_id: str, context: dict, lang: str) -> Resolution:
        action = context.get("action")
        if action == DELETE_ALL:
            outcome = self.rights.delete_my_data(channel, external_id, lang)
            return Resolution([outcome.text], lang, erase=True)
        if action == WITHDRAW:
            return Resolution([self.rights.withdraw(channel, external_id, lang).text], lang)
        try:
            views = self.reminders.cancel(channel, external_id,
                                          [int(i) for i in context.get("reminder_ids") or []])
        except NotFoundError:
            return Resolution([t("utter_reminder_none_to_change", lang)], lang)
        sep = "、" if lang == "zh" else ", "
        names = sep.join(dict.fromkeys(self.reminders.describe(v, lang)["drug"] for v in views))
        return Resolution([t("utter_reminder_cancelled", lang, drugs=names)], lang)

    # -- helpers -----------------------------------------------------------------------
    def _ask(self, channel: str, external_id: str, lang: str, action: str, context: dict,
             question: str) -> str:
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            prompt = self._pending(session, patient)
            if prompt is None:
                prompt = ConsentPrompt(patient_id=patient.id, purpose=CONFIRM_PURPOSE,
                                       status="pending", asked=0)
                session.add(prompt)
            prompt.conversation_id = conversation_id(channel, external_id)
            prompt.text_version = action[:32]
            prompt.text_sha256 = hashlib.sha256(question.encode("utf-8")).hexdigest()
            prompt.language = lang
            prompt.context_json = json.dumps({"action": action, **context})
            prompt.created_at = self.clock()
            prompt.asked = (prompt.asked or 0) + 1
        return question

    @staticmethod
    def _pending(session: Session, patient: Patient | None) -> ConsentPrompt | None:
        if patient is None:
            return None
        return session.execute(select(ConsentPrompt).where(
            ConsentPrompt.patient_id == patient.id, ConsentPrompt.purpose == CONFIRM_PURPOSE,
            ConsentPrompt.status == "pending")).scalar_one_or_none()

    def _items(self, views: list[ReminderView], lang: str) -> str:
        return "\n".join(t("utter_reminder_list_item", lang, n=i, paused="",
                           **self.reminders.describe(v, lang)) for i, v in enumerate(views, 1))
