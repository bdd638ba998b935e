"""Handoff settings: duty hours, claim timeout, wait estimate (knowledge_base/handoff.yml)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.errors import KnowledgeBaseError
from bot.kb import load_kb_file
from bot.settings import SUPPORTED_LANGUAGES, Settings
from bot.text.normalise import normalise


@dataclass(frozen=True)
class HandoffConfig:
    timezone: str
    service_hours: dict[int, tuple[time, time]]
    service_hours_text: dict[str, str]
    claim_timeout_minutes: int
    minutes_per_patient: int
    default_department: str
    cancel_words: frozenset[str]

    @classmethod
    def load(cls, kb_dir: Path | None = None, settings: Settings | None = None) -> HandoffConfig:
        data = load_kb_file("handoff", kb_dir)
        try:
            hours = {int(day): (time.fromisoformat(span[0]), time.fromisoformat(span[1]))
                     for day, span in (data.get("service_hours") or {}).items()}
            config = cls(
                timezone=str(data.get("timezone", "Asia/Shanghai")),
                service_hours=hours,
                service_hours_text=dict(data["service_hours_text"]),
                claim_timeout_minutes=int(data["claim_timeout_minutes"]),
                minutes_per_patient=int(data["minutes_per_patient"]),
                default_department=str(data["default_department"]),
                cancel_words=frozenset(normalise(w) for w in data.get("cancel_words") or []),
            )
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise KnowledgeBaseError(f"handoff.yml: {exc}") from exc
        missing = set(SUPPORTED_LANGUAGES) - set(config.service_hours_text)
        if missing:
            raise KnowledgeBaseError(f"handoff.yml: service_hours_text lacks {sorted(missing)}")
        minutes = settings.handoff_claim_timeout_minutes if settings else None
        if minutes is not None:  # MEDBOT_HANDOFF_CLAIM_TIMEOUT_MINUTES wins over the file
            config = replace(config, claim_timeout_minutes=minutes)
        return config

    def on_duty(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        span = self.service_hours.get(local.isoweekday())
        return span is not None and span[0] <= local.time() < span[1]

    def is_cancel(self, text: str) -> bool:
        return normalise(text).strip("。.!！ ") in self.cancel_words
