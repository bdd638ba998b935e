"""Conversation helpers for the booking forms: reading choices and changes,
rendering slots and bookings. Pure functions; all wording comes from the
domain responses through ``bot.i18n.t``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.appointments.dates import WhenSpec, parse_when
from bot.appointments.interface import Booking, SlotInfo
from bot.appointments.patient import normalise_phone
from bot.appointments.schedule import HospitalSchedule
from bot.errors import ValidationError
from bot.i18n import t
from bot.masking import mask_name, mask_phone
from bot.text.normalise import normalise
from bot.text.numbers import read_int

_ANY = re.compile(r"不限|随便|都可以|都行|无所谓|任意|谁都|哪个都|最早|(?<![a-z])(any|anyone|anybody|"
                  r"no preference|whoever|don'?t mind|doesn'?t matter|earliest)(?![a-z])")
_ORDINALS_EN = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                "ninth", "tenth")
_PICK = re.compile(r"^(?:第|选|选择|要|option|number|no\.?|#)?\s*([0-9]{1,2}|[一二三四五六七八九十])\s*"
                   r"(?:个|号|项|个吧|吧|\.)?$")
_CHANGE_DOCTOR = re.compile(r"换(个|一个)?医生|换人|别的医生|another doctor|different doctor|"
                            r"change (the )?doctor")
_CHANGE_NAME = re.compile(r"改名|姓名(错|不对)|名字(错|不对)|换(个)?名字|change (the )?name|wrong name")


def wants_any(text: str) -> bool:
    return bool(_ANY.search(normalise(text)))


def pick_option(text: str, count: int) -> int | None:
    """A 0-based choice from "1", "第2个", "选三", "the second one"; None if not a valid choice."""
    s = normalise(text).rstrip("。.!！ ")
    for i, word in enumerate(_ORDINALS_EN[:count]):
        if re.search(rf"(?<![a-z]){word}(?![a-z])", s):
            return i
    m = _PICK.match(s)
    if not m:
        return None
    number = read_int(m[1])
    return number - 1 if number and 1 <= number <= count else None


def match_doctor(text: str, schedule: HospitalSchedule, department_id: str) -> str | None:
    """A doctor of the department named in ``text`` (full name, or surname + 医生/Dr)."""
    s = normalise(text)
    candidates = [d for d in schedule.doctors if d.department == department_id]
    for doctor in candidates:
        full_en = doctor.names["en"].lower().removeprefix("dr ").strip()
        if doctor.names["zh"] in s or full_en in s or doctor.id == s:
            return doctor.id
    for doctor in candidates:
        surname_zh = doctor.names["zh"][0]
        surname_en = doctor.names["en"].lower().removeprefix("dr ").split()[0]
        if re.search(rf"{surname_zh}(医生|大夫|主任|教授)", s) or re.search(
                rf"(?<![a-z])(dr\.?|doctor|prof\.?)\s*{surname_en}(?![a-z])", s):
            return doctor.id
    return None


@dataclass(frozen=True)
class Change:
    """What the patient wants changed at the confirmation step."""

    when: WhenSpec | None = None
    department: str | None = None
    doctor: bool = False
    name: bool = False
    phone: str | None = None
    #: a doctor named in the message ("李医生", "with Dr Li"): the new doctor
    doctor_id: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.when or self.department or self.doctor or self.name or self.phone
                    or self.doctor_id)

    def slot_updates(self, current_department: str | None) -> dict[str, object]:
        """Form slot changes: cleared answers are asked again, then confirmation again."""
        updates: dict[str, object] = {"appt_confirm": None}
        if self.department and self.department != current_department:
            updates.update(appt_department=self.department, appt_doctor=None, appt_slot=None)
        if self.doctor:
            updates.update(appt_doctor=None, appt_slot=None)
        if self.doctor_id:
            updates.update(appt_doctor=self.doctor_id, appt_slot=None)
        if self.when:
            updates.update(appt_when=self.when.to_slot(), appt_slot=None)
        if self.name:
            updates["appt_name"] = None
        if self.phone:
            updates["appt_phone"] = self.phone
        return updates


def read_change(text: str, now_local: datetime, schedule: HospitalSchedule,
                department_id: str | None = None) -> Change:
    """Read a requested change: a new time, department, doctor, name or phone.

    Every change the message carries is read: "不对，是下周四，李医生" is a new
    day *and* a new doctor (of ``department_id``, the booking's department, or
    of the department the message names).
    """
    s = normalise(text)
    phone = None
    digits = re.search(r"\+?\d[\d\s-]{9,16}\d", s)
    if digits:
        try:
            phone = normalise_phone(digits.group(0))
        except ValidationError:
            phone = None
    department = schedule.match_department(s)
    doctor_id = match_doctor(s, schedule, department or department_id) \
        if (department or department_id) else None
    return Change(when=None if phone else parse_when(s, now_local),
                  department=department,
                  doctor=bool(_CHANGE_DOCTOR.search(s)) and doctor_id is None,
                  name=bool(_CHANGE_NAME.search(s)), phone=phone, doctor_id=doctor_id)


# -- rendering ---------------------------------------------------------------
def date_text(day: date, lang: str) -> str:
    weekdays = t("utter_appointment_weekday_names", lang).split(",")
    months = t("utter_appointment_month_names", lang).split(",")
    return t("utter_appointment_date", lang, month=months[day.month - 1], day=day.day,
             weekday=weekdays[day.weekday()])


def fee_text(cents: int) -> str:
    return f"{cents / 100:.2f}".rstrip("0").rstrip(".")


def slot_summary(slot: SlotInfo, schedule: HospitalSchedule, lang: str) -> str:
    department = schedule.departments.get(slot.department_id)
    return t("utter_appointment_summary", lang, date=date_text(slot.day, lang),
             session=schedule.sessions[slot.session].names[lang],
             department=department.names[lang] if department else slot.department_id,
             doctor=slot.doctor_names[lang], title=slot.title_names[lang],
             fee=fee_text(slot.fee_cents))


def slot_lines(slots: Sequence[SlotInfo], schedule: HospitalSchedule, lang: str) -> str:
    return "\n".join(t("utter_appointment_slot_line", lang, index=i,
                       summary=slot_summary(slot, schedule, lang), remaining=slot.remaining)
                     for i, slot in enumerate(slots, 1))


def booking_lines(bookings: Sequence[Booking], schedule: HospitalSchedule, lang: str) -> str:
    return "\n".join(t("utter_appointment_booking_line", lang, index=i, code=b.code,
                       summary=slot_summary(b.slot, schedule, lang))
                     for i, b in enumerate(bookings, 1))


def department_names(schedule: HospitalSchedule, lang: str,
                     ids: Sequence[str] | None = None) -> str:
    wanted = ids or sorted(schedule.department_ids(),
                           key=lambda d: list(schedule.departments).index(d))
    return t("utter_appointment_list_separator", lang).join(
        schedule.departments[d].names[lang] for d in wanted if d in schedule.departments)


def doctor_lines(schedule: HospitalSchedule, department_id: str, lang: str) -> str:
    lines = []
    for doctor in schedule.doctors:
        if doctor.department == department_id:
            title = schedule.titles[doctor.title]
            lines.append(t("utter_appointment_doctor_line", lang, doctor=doctor.names[lang],
                           title=title.names[lang], fee=fee_text(title.fee_cents)))
    return "\n".join(lines)


def masked_contact(name: str | None, phone: str | None) -> dict[str, str]:
    """Name and phone as shown back to the patient (bot messages are logged)."""
    return {"name": mask_name(name), "phone": mask_phone(phone)}
