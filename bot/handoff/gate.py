"""The conversation gate: consent and handoff state, decided before the bot runs.

The channel boundary logs the patient's message and screens it for red flags
first (emergency advice never waits for consent: PIPL art. 13(4), vital
interests). Then ``ConversationGate.before_bot`` decides:

0. The answer to a pending confirmation ("really delete all your data?",
   ``bot.consent.confirm``): only the very next message answers it; a clear
   yes runs the action, a no keeps everything, anything else drops it.

Then, in one transaction:

1. An open handoff: the message is for the doctor (already in the transcript).
   "取消"/"cancel", or a message that is only an exit ("算了 不用了",
   ``bot.nlp.replies.is_exit``), ends the handoff and resumes the bot. While no
   doctor has claimed it, the patient is told they are waiting ("hello?" gets an
   answer); once a doctor has, the bot stays silent.
2. A pending handoff consent question: "同意" records the consent and queues
   the handoff (position and wait, or the duty hours); "不同意" records the
   refusal and offers the phone number or an in-person visit; anything else
   goes to the bot and the question stays answerable for ``answer_window``
   (after another message only by an explicit "同意"/"agree", not a bare "yes").
3. Health-data consent (separate consent, PIPL art. 29): on first contact
   the privacy notice and the consent question are shown and the bot does not
   run until the patient decides. After "不同意" or a withdrawal, a message
   carrying health information (symptoms, readings) is not processed: the
   patient is told why and asked again; "我同意" later in the conversation still
   answers (the services refuse without consent anyway: ``bot.consent.guard``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import as_utc, utcnow
from bot.consent.confirm import SensitiveActions
from bot.consent.service import ConsentService
from bot.handoff.service import HandoffService
from bot.hospital import HospitalInfo
from bot.i18n import t
from bot.identity import conversation_id
from bot.nlp.replies import is_exit
from bot.store.consent_models import ConsentPrompt
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Patient
from bot.store.repositories import PatientRepository


@dataclass
class GateDecision:
    """What the boundary does with one patient message.

    Attributes:
        replies: texts to send now, in order, in ``language``.
        forward: hand the message to the bot (Rasa).
        pause / resume: pause or resume the Rasa conversation.
    """

    replies: list[str] = field(default_factory=list)
    forward: bool = True
    pause: bool = False
    resume: bool = False
    language: str = "zh"
    handoff_id: int | None = None
    erase: bool = False  # the patient's data was deleted: erase Rasa's tracker too


class ConversationGate:
    def __init__(self, db: Database, consent: ConsentService, handoffs: HandoffService,
                 mentions_health: Callable[[str], bool],
                 hospital: HospitalInfo | None = None,
                 confirmations: SensitiveActions | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 answer_window: timedelta = timedelta(minutes=30)) -> None:
        self.db = db
        self.clock = clock
        self.answer_window = answer_window
        self.confirmations = confirmations
        self.consent = consent
        self.handoffs = handoffs
        self.mentions_health = mentions_health
        self.hospital = hospital or handoffs.hospital
        self.patients = PatientRepository()

    def in_handoff(self, channel: str, external_id: str) -> bool:
        with self.db.begin() as session:
            patient = self.patients.get(session, channel, external_id)
            return patient is not None and self.handoffs.active(session, patient.id) is not None

    def before_bot(self, channel: str, external_id: str, text: str, message_id: int | None,
                   lang: str | None) -> GateDecision:
        """Decide what happens to one patient message.

        Args:
            lang: the message's own language, or ``None`` when it does not tell
                (then the patient's conversation language is used).
        """
        if self.confirmations is not None:  # 0. the answer to "really delete ...?"
            resolution = self.confirmations.resolve(channel, external_id, text)
            if resolution is not None:
                return GateDecision(resolution.replies, forward=False,
                                    language=resolution.language, erase=resolution.erase)
        with self.db.begin() as session:
            patient = self.patients.get_or_create(session, channel, external_id)
            lang = lang or patient.preferred_language or "zh"
            decision = (self._in_handoff(session, patient, text, lang)
                        or self._handoff_answer(session, patient, channel, text,
                                                message_id, lang)
                        or self._health_consent(session, patient,
                                                conversation_id(channel, external_id), text,
                                                message_id, lang)
                        or GateDecision(language=lang))
            if decision.forward and not decision.resume and self._had_handoff(session, patient):
                decision.resume = True  # after a close/cancel/expiry: make sure Rasa listens
            return decision

    # -- 1. open handoff ---------------------------------------------------------------
    def _in_handoff(self, session: Session, patient: Patient, text: str,
                    lang: str) -> GateDecision | None:
        handoff = self.handoffs.active(session, patient.id)
        if handoff is None:
            return None
        if self.handoffs.config.is_cancel(text) or is_exit(text):
            self.handoffs.cancel(session, handoff)
            return GateDecision([t("utter_handoff_cancelled", lang)], forward=False,
                                resume=True, language=lang, handoff_id=handoff.id)
        replies = []
        if handoff.status == "queued":  # nobody has read it yet: say so
            replies = [self.handoffs.queued_text(session, handoff, handoff.language,
                                                 waiting=True)]
        return GateDecision(replies, forward=False, language=handoff.language,
                            handoff_id=handoff.id)

    # -- 2. handoff consent --------------------------------------------------------------
    def _handoff_answer(self, session: Session, patient: Patient,
                        channel: str, text: str, message_id: int | None,
                        lang: str) -> GateDecision | None:
        prompt = self.consent.pending(session, patient.id, "handoff")
        if prompt is None:
            return None
        answer = self.consent.texts.parse(text, explicit_only=_moved_on(prompt))
        if answer is None:
            if self.clock() - as_utc(prompt.created_at) > self.answer_window:
                self.consent.drop(session, prompt)
            else:
                _mark_moved_on(prompt)
            return None  # the bot answers; "我同意" later in the window still counts
        lang = prompt.language
        if answer == "declined":
            self.consent.answer(session, prompt, "declined", message_id)
            return GateDecision([t("utter_handoff_declined", lang, **self.hospital.params(lang))],
                                forward=False, language=lang)
        context = json.loads(prompt.context_json or "{}")
        context.pop(MOVED_ON, None)
        handoff = self.handoffs.start(session, patient, prompt.conversation_id, channel,
                                      context, lang)
        self.consent.answer(session, prompt, "granted", message_id, handoff.id)
        return GateDecision([self.handoffs.queued_text(session, handoff, lang)], forward=False,
                            pause=True, language=lang, handoff_id=handoff.id)

    # -- 3. health-data consent ------------------------------------------------------------
    def _health_consent(self, session: Session, patient: Patient, conversation_id: str,
                        text: str, message_id: int | None, lang: str) -> GateDecision | None:
        status = self.consent.status(session, patient.id, "health_data")
        if status.granted:
            if self.consent.texts.parse(text, explicit_only=True) == "granted":
                # "同意" once more (a double tap, or a reply to the question already
                # answered): say it is recorded rather than "I didn't get that"
                return GateDecision([t("utter_consent_thanks", lang, version=status.version)],
                                    forward=False, language=lang)
            return None
        prompt = self.consent.pending(session, patient.id, "health_data")
        if prompt is not None:
            answer = self.consent.texts.parse(text, explicit_only=_moved_on(prompt))
            lang = prompt.language if answer else lang
            if answer == "granted":
                self.consent.answer(session, prompt, "granted", message_id)
                return GateDecision([t("utter_consent_thanks", lang,
                                       version=prompt.text_version)],
                                    forward=False, language=lang)
            if answer == "declined":
                self.consent.answer(session, prompt, "declined", message_id)
                return GateDecision([t("utter_consent_declined_health", lang)], forward=False,
                                    language=lang)
            if status.decision is None:  # first contact: nothing runs before the answer
                shown = self.consent.ask(session, patient, conversation_id, "health_data", lang)
                return GateDecision(
                    [t("utter_consent_please_answer", lang, **self.hospital.params(lang)),
                     shown.text], forward=False, language=lang)
            _mark_moved_on(prompt)  # decided before: a later "我同意" still answers it
        elif (status.decision is not None
              and self.consent.texts.parse(text, explicit_only=True) == "granted"):
            # "同意" after declining or withdrawing: the text they saw, if still current
            shown = self.consent.ask(session, patient, conversation_id, "health_data", lang)
            if shown.version == status.version:
                prompt = self.consent.pending(session, patient.id, "health_data")
                self.consent.answer(session, prompt, "granted", message_id)
                return GateDecision([t("utter_consent_thanks", lang, version=shown.version)],
                                    forward=False, language=lang)
            return GateDecision([shown.text], forward=False, language=lang)
        if status.decision is None:  # first contact
            notice = self.consent.texts.notice(lang)
            shown = self.consent.ask(session, patient, conversation_id, "health_data", lang)
            return GateDecision([notice.text, shown.text], forward=False, language=lang)
        if self.mentions_health(text):  # declined or withdrawn earlier
            shown = self.consent.ask(session, patient, conversation_id, "health_data", lang)
            return GateDecision([t("utter_consent_required", lang), shown.text], forward=False,
                                language=lang)
        return None

    @staticmethod
    def _had_handoff(session: Session, patient: Patient) -> bool:
        return session.execute(select(Handoff.id).where(Handoff.patient_id == patient.id)
                               .limit(1)).first() is not None



MOVED_ON = "_moved_on"  # another message came in after the question was asked


def _moved_on(prompt: ConsentPrompt) -> bool:
    return bool(json.loads(prompt.context_json or "{}").get(MOVED_ON))


def _mark_moved_on(prompt: ConsentPrompt) -> None:
    context = json.loads(prompt.context_json or "{}")
    context[MOVED_ON] = True
    prompt.context_json = json.dumps(context, ensure_ascii=False)
