"""A patient's data as a FHIR R5 ``Bundle`` (type ``collection``), built with fhir.resources 7.

Mapping (details and reasons in docs/retention-and-export.md):

* ``Patient``: our id and a sha256 of ``channel:external_id`` as identifiers (the raw
  openid is not exported), languages as ``communication`` (BCP 47 ``zh-CN``/``en``).
* ``Consent`` per ``consent_records`` row: granted = active/permit, declined =
  active/deny, withdrawn = inactive/deny; a record superseded by a later one of the
  same purpose is inactive. R5 has no ``rejected`` status, hence active + deny.
  Purpose and LOINC 59284-0 in ``category``; the text shown as ``sourceAttachment``
  (title, language) with its version and sha256 as extensions.
* ``Communication`` per message: R5 dropped ``contentString``, so text is
  ``payload.contentCodeableConcept.text`` (button payloads: a JSON attachment); the
  bot is a ``Device`` in the bundle, a doctor a ``Practitioner`` placeholder reference.
* ``Appointment`` per booking, ``Observation`` per reading (LOINC 85354-9 panel with
  8480-6/8462-4 in mm[Hg]; 15074-8 glucose in mmol/L).

fhir.resources 7 checks types and cardinality but not code values nor reference
targets, so ``check_bundle`` walks the bundle for both.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from fhir.resources.bundle import Bundle
from fhir.resources.core.fhirabstractmodel import FHIRAbstractModel
from fhir.resources.reference import Reference
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import as_utc
from bot.errors import NotFoundError, ValidationError
from bot.store.appointment_models import Appointment, Department, Doctor, Slot
from bot.store.consent_models import ConsentRecord
from bot.store.models import Message, Patient
from bot.store.reminder_models import Reading

NAMESPACE = uuid.UUID("6f1d3c1e-5b52-4c1a-9d55-1f0e8b7e2a10")  # medbot export ids
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LANGUAGES = {"zh": ("zh-CN", "Chinese (China)"), "en": ("en", "English")}
LEVELS = {"normal": ("N", "Normal"), "high": ("H", "High"), "low": ("L", "Low"),
          "urgent": ("AA", "Critical abnormal")}
APPOINTMENT_STATUS = {"booked": "booked", "cancelled": "cancelled", "rescheduled": "cancelled"}
EXT = "urn:medbot:fhir:"


def _id(kind: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{key}"))


def _ref(kind: str, key: object) -> dict[str, str]:
    return {"reference": f"urn:uuid:{_id(kind, key)}", "type": kind}


def _time(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def _lang(code: str | None) -> str | None:
    return LANGUAGES.get(code or "", (None,))[0]


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display
                                                          else {})}]}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


# Tables of the patient-data registry (bot.store.registry) and the resource each becomes;
# every other table there says why it is not exported (tests/bot/test_registry.py).
EXPORTED = {"patients": "Patient", "consent_records": "Consent", "messages": "Communication",
            "appointments": "Appointment", "readings": "Observation"}


class FhirExporter:
    """Builds one patient's bundle inside the caller's transaction."""

    def bundle(self, session: Session, patient_id: int, now: datetime) -> Bundle:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise NotFoundError(f"patient {patient_id} not found")
        messages = session.execute(select(Message).where(Message.patient_id == patient_id)
                                   .order_by(Message.conversation_id, Message.seq)).scalars().all()
        resources = [self.patient(patient, {m.language for m in messages if m.language}),
                     self.device()]
        resources += self.consents(session, patient_id)
        resources += [self.communication(m) for m in messages]
        resources += self.appointments(session, patient_id)
        resources += [self.observation(r) for r in session.execute(
            select(Reading).where(Reading.patient_id == patient_id).order_by(Reading.id)).scalars()]
        bundle = Bundle(
            type="collection", timestamp=_time(now),
            identifier={"system": f"{EXT}export", "value": str(uuid.uuid4())},
            entry=[{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources])
        check_bundle(bundle)
        return bundle

    # ------------------------------------------------------------------ resources
    def patient(self, row: Patient, seen: set[str]) -> dict[str, Any]:
        languages = sorted(seen | ({row.preferred_language} if row.preferred_language else set()))
        return {
            "resourceType": "Patient", "id": _id("Patient", row.id),
            "identifier": [
                {"system": f"{EXT}patient", "value": str(row.id)},
                {"system": f"{EXT}{row.channel}:sha256",
                 "value": hashlib.sha256(f"{row.channel}:{row.external_id}".encode())
                 .hexdigest()}],
            "communication": [
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": _lang(code),
                                          "display": LANGUAGES[code][1]}]},
                 "preferred": code == row.preferred_language}
                for code in languages if code in LANGUAGES]}

    def device(self) -> dict[str, Any]:
        return {"resourceType": "Device", "id": _id("Device", "medbot"), "status": "active",
                "displayName": "medbot",
                "identifier": [{"system": f"{EXT}device", "value": "medbot"}]}

    def consents(self, session: Session, patient_id: int) -> list[dict[str, Any]]:
        rows = session.execute(select(ConsentRecord).where(
            ConsentRecord.patient_id == patient_id).order_by(ConsentRecord.id)).scalars().all()
        latest = {row.purpose: row.id for row in rows}  # ordered by id: the last one wins
        out = []
        for row in rows:
            current = latest[row.purpose] == row.id and row.decision != "withdrawn"
            out.append({
                "resourceType": "Consent", "id": _id("Consent", row.id),
                "identifier": [{"system": f"{EXT}consent-record", "value": str(row.id)}],
                "status": "active" if current else "inactive",
                "decision": "permit" if row.decision == "granted" else "deny",
                "category": [{"coding": [
                    {"system": LOINC, "code": "59284-0", "display": "Patient Consent"},
                    {"system": f"{EXT}consent-purpose", "code": row.purpose}]}],
                "subject": _ref("Patient", patient_id),
                "grantor": [_ref("Patient", patient_id)],
                "date": as_utc(row.created_at).date().isoformat(),
                "extension": [{"url": f"{EXT}consent-decision", "valueCode": row.decision},
                              {"url": f"{EXT}recorded-at",
                               "valueDateTime": _time(row.created_at)}],
                "sourceAttachment": [{
                    "contentType": "text/plain", "language": _lang(row.language),
                    "title": f"medbot consent text {row.purpose} {row.text_version}",
                    "extension": [
                        {"url": f"{EXT}text-version", "valueString": row.text_version},
                        {"url": f"{EXT}text-sha256", "valueString": row.text_sha256}]}]})
        return out

    def communication(self, row: Message) -> dict[str, Any]:
        patient = _ref("Patient", row.patient_id)
        other = ({"type": "Practitioner", "display": "hospital doctor"} if row.role == "doctor"
                 else _ref("Device", "medbot"))
        sender, recipient = (patient, other) if row.role == "patient" else (other, patient)
        payload = []
        if row.text is not None:
            payload.append({"contentCodeableConcept": {"text": row.text}})
        if row.payload:
            payload.append({"contentAttachment": {
                "contentType": "application/json",
                "data": base64.b64encode(row.payload.encode()).decode("ascii")}})
        resource = {
            "resourceType": "Communication", "id": _id("Communication", row.id),
            "identifier": [{"system": f"{EXT}message", "value": str(row.id)},
                           {"system": f"{EXT}message-sha256", "value": row.hash}],
            "status": "completed", "subject": patient, "sender": sender,
            "recipient": [recipient], "sent": _time(row.created_at),
            "payload": payload or None}
        if _lang(row.language):
            resource["language"] = _lang(row.language)
        return resource

    def appointments(self, session: Session, patient_id: int) -> list[dict[str, Any]]:
        rows = session.execute(
            select(Appointment, Slot, Doctor, Department)
            .join(Slot, Slot.id == Appointment.slot_id).join(Doctor, Doctor.id == Slot.doctor_id)
            .join(Department, Department.id == Doctor.department_id)
            .where(Appointment.patient_id == patient_id).order_by(Appointment.id)).all()
        out = []
        for appt, slot, doctor, department in rows:
            resource = {
                "resourceType": "Appointment", "id": _id("Appointment", appt.id),
                "identifier": [{"system": f"{EXT}booking-code", "value": appt.code}],
                "status": APPOINTMENT_STATUS[appt.status],
                "specialty": [{**_concept(f"{EXT}department", department.id, department.name_en),
                               "text": department.name_zh}],
                "start": _time(slot.starts_at), "end": _time(slot.ends_at),
                "created": _time(appt.created_at), "subject": _ref("Patient", patient_id),
                "participant": [
                    {"actor": _ref("Patient", patient_id), "status": "accepted"},
                    {"actor": {"type": "Practitioner", "display": doctor.name_en,
                               "identifier": {"system": f"{EXT}doctor", "value": doctor.id}},
                     "status": "accepted"}]}
            if appt.cancelled_at is not None:
                resource["cancellationDate"] = _time(appt.cancelled_at)
            if appt.status == "rescheduled":
                resource["cancellationReason"] = {"text": "rescheduled"}
            if appt.rescheduled_from_id is not None:
                resource["replaces"] = [_ref("Appointment", appt.rescheduled_from_id)]
            out.append(resource)
        return out

    def observation(self, row: Reading) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Observation", "id": _id("Observation", row.id), "status": "final",
            "subject": _ref("Patient", row.patient_id),
            "performer": [_ref("Patient", row.patient_id)],  # measured at home, self-reported
            "effectiveDateTime": _time(row.measured_at), "issued": _time(row.created_at)}
        if row.level in LEVELS:
            resource["interpretation"] = [_concept(INTERPRETATION, *LEVELS[row.level])]
        if row.context:
            resource["note"] = [{"text": row.context}]
        if row.kind == "bp":
            resource.update(
                category=[_concept(OBS_CATEGORY, "vital-signs", "Vital Signs")],
                code=_concept(LOINC, "85354-9", "Blood pressure panel with all children optional"),
                component=[
                    {"code": _concept(LOINC, "8480-6", "Systolic blood pressure"),
                     "valueQuantity": _quantity(row.systolic, "mmHg", "mm[Hg]")},
                    {"code": _concept(LOINC, "8462-4", "Diastolic blood pressure"),
                     "valueQuantity": _quantity(row.diastolic, "mmHg", "mm[Hg]")}])
        else:
            resource.update(
                category=[_concept(OBS_CATEGORY, "laboratory", "Laboratory")],
                code=_concept(LOINC, "15074-8", "Glucose [Moles/volume] in Blood"),
                valueQuantity=_quantity(row.value, "mmol/L", "mmol/L"))
        return resource


def resource_counts(bundle: Bundle) -> dict[str, int]:
    return dict(Counter(entry.resource.resource_type for entry in bundle.entry or []))


def check_bundle(bundle: Bundle) -> None:
    """Raise ``ValidationError`` on codes outside their required value set or references
    that do not resolve in the bundle / point to a type the element does not allow."""
    targets = {e.fullUrl: e.resource.resource_type for e in bundle.entry or []}
    problems: list[str] = []
    _walk(bundle, "Bundle", targets, problems)
    if problems:
        raise ValidationError("invalid FHIR bundle: " + "; ".join(problems[:20]))


def _walk(model: FHIRAbstractModel, path: str, targets: dict[str, str],
          problems: list[str]) -> None:
    for name, model_field in model.__fields__.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        extra = model_field.field_info.extra
        for item in value if isinstance(value, list) else [value]:
            if "enum_values" in extra and item not in extra["enum_values"]:
                problems.append(f"{path}.{name}: {item!r} not in {extra['enum_values']}")
            if isinstance(item, Reference) and "enum_reference_types" in extra:
                kind = targets.get(item.reference or "") or item.type
                if item.reference and item.reference.startswith("urn:") and \
                        item.reference not in targets:
                    problems.append(f"{path}.{name}: {item.reference} is not in the bundle")
                allowed = extra["enum_reference_types"]
                if kind and "Resource" not in allowed and kind not in allowed:
                    problems.append(f"{path}.{name}: a {kind} is not one of {allowed}")
            if isinstance(item, FHIRAbstractModel):
                _walk(item, f"{path}.{name}", targets, problems)
