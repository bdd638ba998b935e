"""Answer a hospital question by topic, from the knowledge base.

The topic comes from the message (``HospitalTopics.classify``); opening hours of
a named department and the registration fees come from the timetable
(``hospital_schedule.yml``). A message with no known topic gets the general
card and the list of topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from bot.appointments.dialogue import fee_text
from bot.appointments.schedule import HospitalSchedule
from bot.hospital import HospitalInfo
from bot.i18n import t
from bot.info.topics import HospitalTopics


@dataclass(frozen=True)
class InfoReply:
    """One message: a response of the domain and its parameters."""

    response: str
    params: dict[str, str] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return t(self.response, lang, **self.params)


class HospitalInfoService:
    """Answers questions about the hospital in the patient's language."""

    def __init__(self, hospital: HospitalInfo, topics: HospitalTopics,
                 schedule: HospitalSchedule) -> None:
        self.hospital = hospital
        self.topics = topics
        self.schedule = schedule

    @classmethod
    def load(cls, kb_dir: Path | None = None,
             schedule: HospitalSchedule | None = None) -> HospitalInfoService:
        return cls(HospitalInfo.load(kb_dir), HospitalTopics.load(kb_dir),
                   schedule or HospitalSchedule.load(kb_dir))

    def topics_of(self, text: str, department: str | None = None) -> list[str]:
        """The topics ``text`` asks about (empty: not a hospital question we know).

        ``department`` (an id, e.g. the NLU's department entity) or a department
        named in the text turns the hours topic into that department's hours;
        the emergency department's hours (儿科急诊几点开门 included) are the
        emergency topic.
        """
        topics = self.topics.classify(text)
        if "hours" in topics and ("emergency" in topics
                                  or self._department(text, department) == "emergency"):
            topics = [tid for tid in topics if tid != "hours"]
            if "emergency" not in topics:
                topics.insert(0, "emergency")
        return topics

    def answer(self, text: str, lang: str, department: str | None = None) -> list[InfoReply]:
        """The replies to ``text`` in ``lang``: one per topic asked about, or the
        general card and the list of topics."""
        topics = self.topics_of(text, department)
        if not topics:
            return [InfoReply("utter_hospital_info", self.hospital.params(lang)),
                    InfoReply("utter_hospital_topics", {"topics": self.topic_list(lang)})]
        named = self._department(text, department)
        replies = []
        for tid in topics:
            if tid == "hours" and named is not None:
                replies.append(self.department_hours(named, lang))
            else:
                replies.append(self.topic_reply(tid, lang))
        return replies

    def asked_alongside(self, text: str, lang: str) -> list[InfoReply]:
        """The answers to a hospital question asked inside another request
        ("晚上孩子发烧，儿科急诊在哪"): one per topic named, only when the message
        reads as a question; never the general card."""
        from bot.nlp.replies import is_question

        if not is_question(text):
            return []
        return self.answer(text, lang) if self.topics_of(text) else []

    def topic_reply(self, topic_id: str, lang: str) -> InfoReply:
        topic = self.topics.topics[topic_id]
        params = {**self.hospital.params(lang), "registration_fees": self.fee_list(lang)}
        return InfoReply("utter_hospital_topic", {
            "title": topic.title[lang], "answer": topic.answer[lang].format_map(params)})

    def department_hours(self, department_id: str, lang: str) -> InfoReply:
        """A department's half-day sessions from the timetable."""
        name = self.schedule.departments[department_id].names[lang]
        sessions = sorted({(w.weekday, w.session) for d in self.schedule.doctors
                           if d.department == department_id for w in d.schedule})
        if not sessions:
            return InfoReply("utter_hospital_department_not_bookable",
                             {"department": name, "hospital_phone": self.hospital.phone})
        weekdays = t("utter_appointment_weekday_names", lang).split(",")
        separator = t("utter_appointment_list_separator", lang)
        listed = separator.join(
            t("utter_hospital_session_name", lang, weekday=weekdays[day],
              session=self.schedule.sessions[session].names[lang])
            for day, session in sessions)
        am, pm = self.schedule.sessions["am"], self.schedule.sessions["pm"]
        return InfoReply("utter_hospital_department_hours", {
            "department": name, "sessions": listed,
            "am_hours": f"{_clock(am.start)}–{_clock(am.end)}",
            "pm_hours": f"{_clock(pm.start)}–{_clock(pm.end)}"})

    def fee_list(self, lang: str) -> str:
        separator = t("utter_appointment_list_separator", lang)
        return separator.join(
            t("utter_hospital_fee_line", lang, title=title.names[lang],
              fee=fee_text(title.fee_cents))
            for title in self.schedule.titles.values())

    def topic_list(self, lang: str) -> str:
        separator = t("utter_appointment_list_separator", lang)
        return separator.join(topic.title[lang] for topic in self.topics.topics.values())

    def _department(self, text: str, department: str | None) -> str | None:
        if department in self.schedule.departments:
            return department
        return self.schedule.match_department(text or "")


def _clock(at: time) -> str:
    return f"{at.hour}:{at.minute:02d}"
