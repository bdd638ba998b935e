"""The booking/re-visit domain, rules and code agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.appointments import errors as appointment_errors
from bot.i18n import default_catalog
from bot.revisits import service as revisit_service
from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "bot" / "domain"
FILES = [DOMAIN / "appointments.yml", DOMAIN / "revisits.yml"]
CODE = [PROJECT_ROOT / p for p in ("actions/appointments/common.py",
                                   "actions/appointments/booking.py",
                                   "actions/appointments/changes.py", "actions/revisits.py",
                                   "bot/revisits/eligibility.py", "bot/appointments/dialogue.py")]
MY_INTENTS = ("book_appointment", "cancel_appointment", "reschedule_appointment",
              "list_appointments", "request_revisit")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def domain() -> dict:
    merged: dict = {"slots": {}, "forms": {}, "actions": [], "responses": {}}
    for path in FILES:
        data = _load(path)
        for key in ("slots", "forms", "responses"):
            merged[key].update(data.get(key) or {})
        merged["actions"] += data.get("actions") or []
    return merged


def test_every_error_names_an_existing_response() -> None:
    catalog = default_catalog()
    for module in (appointment_errors, revisit_service):
        for value in vars(module).values():
            if isinstance(value, type) and hasattr(value, "message_key"):
                assert catalog.languages(value.message_key) == {"zh", "en"}, value


def test_every_response_the_code_uses_exists() -> None:
    catalog = set(default_catalog().keys())
    used = {key for path in CODE
            for key in re.findall(r"\"(utter_[a-z0-9_]+)\"", path.read_text(encoding="utf-8"))}
    assert used and not used - catalog, sorted(used - catalog)


def test_every_form_slot_is_declared_and_asked(domain) -> None:
    for form, spec in domain["forms"].items():
        for slot in spec["required_slots"]:
            assert slot in domain["slots"], (form, slot)
            mapping_forms = {c.get("active_loop") for m in domain["slots"][slot]["mappings"]
                             for c in m.get("conditions") or []}
            assert form in mapping_forms, (form, slot)
            assert (f"utter_ask_{slot}" in domain["responses"]
                    or f"action_ask_{slot}" in domain["actions"]), (form, slot)
        assert f"validate_{form}" in domain["actions"]


def test_rules_use_declared_actions_and_pending_rules_are_gone(domain) -> None:
    rules = _load(PROJECT_ROOT / "nlu_data" / "rules" / "appointments.yml")["rules"]
    # the re-visit rules hand over to the reminders feature's follow-up offer
    reminders = _load(DOMAIN / "reminders.yml")
    known = (set(domain["actions"]) | set(domain["forms"]) | {"utter_anything_else"}
             | set(reminders.get("actions") or []))
    for rule in rules:
        for step in rule["steps"]:
            if "action" in step:
                assert step["action"] in known, step


def test_actions_are_registered_under_their_domain_names(domain) -> None:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert not set(domain["actions"]) - set(executor.actions)
