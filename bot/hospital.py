"""The hospital's public information (knowledge_base/hospital.yml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.settings import SUPPORTED_LANGUAGES


@dataclass(frozen=True)
class HospitalInfo:
    name: dict[str, str]
    phone: str
    emergency_phone: str
    address: dict[str, str]
    outpatient_hours: dict[str, str]
    emergency_hours: dict[str, str]
    privacy_notice_url: str
    version: str

    @classmethod
    def load(cls, kb_dir: Path | None = None) -> HospitalInfo:
        data = load_kb_file("hospital", kb_dir)
        h = data.get("hospital") or {}
        try:
            info = cls(
                name=h["name"], phone=str(h["phone"]),
                emergency_phone=str(h.get("emergency_phone", "120")),
                address=h["address"], outpatient_hours=h["outpatient_hours"],
                emergency_hours=h["emergency_hours"],
                privacy_notice_url=h["privacy_notice_url"], version=data["version"],
            )
        except KeyError as exc:
            raise KnowledgeBaseError(f"hospital.yml: missing {exc}") from exc
        for field_name in ("name", "address", "outpatient_hours", "emergency_hours"):
            missing = set(SUPPORTED_LANGUAGES) - set(getattr(info, field_name))
            if missing:
                raise KnowledgeBaseError(f"hospital.yml: {field_name} lacks {sorted(missing)}")
        return info

    def params(self, lang: str) -> dict[str, str]:
        """Template parameters for responses, in ``lang``."""
        return {
            "hospital_name": self.name[lang], "hospital_phone": self.phone,
            "emergency_phone": self.emergency_phone, "hospital_address": self.address[lang],
            "outpatient_hours": self.outpatient_hours[lang],
            "emergency_hours": self.emergency_hours[lang],
            "privacy_notice_url": self.privacy_notice_url,
        }
