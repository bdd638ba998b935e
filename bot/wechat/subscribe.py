"""Long-term subscription messages (``message/subscribe/bizsend``) and template messages
per proactive message kind: the YAML catalogue and each patient's answers.

``SubscriptionCatalog`` reads ``knowledge_base/wechat_subscriptions.yml``: for each kind
(``reminder``, ``followup``, ``appointment``, ``doctor``) a subscription template and a
template message, each an id and a field mapping (``text`` or a ``template_data`` key).
``SubscribeAnswers`` keeps what each patient answered (WeChat's
``subscribe_msg_popup_event`` / ``subscribe_msg_change_event``) and when we offered it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock, SystemClock, as_utc
from bot.errors import KnowledgeBaseError
from bot.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.store.db import Database
from bot.store.wechat_models import WeChatSubscribeStatus

CATALOG_FILE = Path("knowledge_base/wechat_subscriptions.yml")
THING_LIMIT = 20  # WeChat's limit for a subscription message's ``thing`` field
OFFER_AGAIN_AFTER = timedelta(days=7)  # an unanswered offer is repeated at most weekly
ANSWER_EVENTS = ("subscribe_msg_popup_event", "subscribe_msg_change_event")


@dataclass(frozen=True)
class Template:
    template_id: str
    fields: Mapping[str, str]

    def data(self, text: str, values: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """``{field: {"value": ...}}``; a missing value is the message text."""
        out = {}
        for name, source in self.fields.items():
            value = text if source == "text" else str(values.get(source) or text)
            if name.startswith("thing") and len(value) > THING_LIMIT:
                value = value[:THING_LIMIT - 1] + "…"
            out[name] = {"value": value}
        return out


@dataclass(frozen=True)
class KindConfig:
    kind: str
    name: Mapping[str, str]
    subscribe: Template | None
    template: Template | None


@dataclass(frozen=True)
class SubscriptionCatalog:
    subscribe_url: str = ""
    kinds: Mapping[str, KindConfig] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> SubscriptionCatalog:
        path = path or PROJECT_ROOT / CATALOG_FILE
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeBaseError(f"cannot read {path}: {exc}") from exc
        kinds = {}
        for kind, raw in (data.get("kinds") or {}).items():
            missing = set(SUPPORTED_LANGUAGES) - set(raw.get("name") or {})
            if missing:
                raise KnowledgeBaseError(f"{path}: kind {kind} lacks names in {sorted(missing)}")
            kinds[kind] = KindConfig(kind, raw["name"], _template(path, kind, raw, "subscribe"),
                                     _template(path, kind, raw, "template"))
        return cls(str(data.get("subscribe_url") or ""), kinds)

    def get(self, kind: str) -> KindConfig | None:
        return self.kinds.get(kind)


def _template(path: Path, kind: str, raw: Mapping[str, Any], which: str) -> Template | None:
    section = raw.get(which) or {}
    if not section.get("template_id"):
        return None
    fields = section.get("fields") or {}
    if not fields or not all(isinstance(v, str) for v in fields.values()):
        raise KnowledgeBaseError(f"{path}: {kind}.{which} needs fields: {{name: source}}")
    return Template(str(section["template_id"]), dict(fields))


def answers_in(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """(template id, accept|reject) of a subscribe_msg event (its list arrives as JSON
    from ``bot.wechat.protocol.parse_xml``)."""
    if (fields.get("Event") or "") not in ANSWER_EVENTS:
        return []
    out = []
    for key in ("SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent"):
        for item in json.loads(fields.get(key) or "[]"):
            status = (item.get("SubscribeStatusString") or "").lower()
            if item.get("TemplateId") and status in ("accept", "reject"):
                out.append((item["TemplateId"], status))
    return out


class SubscribeAnswers:
    """The patients' answers, shared by every process (``wechat_subscribe_status``)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def status(self, openid: str, template_id: str) -> str | None:
        with self.db.begin() as session:
            row = session.get(WeChatSubscribeStatus, (openid, template_id))
            return None if row is None else row.status

    def record(self, openid: str, template_id: str, status: str) -> None:
        self._upsert(openid, template_id, status=status)

    def should_offer(self, openid: str, template_id: str) -> bool:
        """Never after an answer; an unanswered offer at most every ``OFFER_AGAIN_AFTER``."""
        with self.db.begin() as session:
            row = session.get(WeChatSubscribeStatus, (openid, template_id))
            if row is None:
                return True
            return row.status == "offered" and (
                row.offered_at is None
                or as_utc(row.offered_at) <= self.clock.now() - OFFER_AGAIN_AFTER)

    def offered(self, openid: str, template_id: str) -> None:
        self._upsert(openid, template_id, offered_at=self.clock.now())

    def _upsert(self, openid: str, template_id: str, **values: Any) -> None:
        now = self.clock.now()
        for _ in range(2):  # a lost first-insert race is retried once
            try:
                with self.db.begin() as session:
                    row = session.execute(select(WeChatSubscribeStatus).where(
                        WeChatSubscribeStatus.openid == openid,
                        WeChatSubscribeStatus.template_id == template_id)
                        .with_for_update()).scalar_one_or_none()
                    if row is None:
                        row = WeChatSubscribeStatus(openid=openid, template_id=template_id,
                                                    status="offered")
                        session.add(row)
                    if "status" in values:
                        row.status = values["status"]
                    if "offered_at" in values and row.status == "offered":
                        row.offered_at = values["offered_at"]
                    row.updated_at = now
                    return
            except IntegrityError:
                continue
