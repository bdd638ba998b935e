"""Domain rules that keep features from stepping on each other."""

from __future__ import annotations

import yaml

from bot.i18n.catalog import DOMAIN_DIR

# Rasa runs a slot mapping's `action` on *every* user message (action_extract_slots).
# Only the language detector is meant to run that way; other custom slots are set
# by the actions that own them (`type: custom` without `action`).
EVERY_TURN_ACTIONS = {"action_detect_language"}


def test_only_the_language_detector_runs_on_every_message() -> None:
    found = {}
    for file in DOMAIN_DIR.glob("*.yml"):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for slot, spec in (data.get("slots") or {}).items():
            for mapping in spec.get("mappings") or []:
                if mapping.get("action"):
                    found[f"{file.name}:{slot}"] = mapping["action"]
    assert set(found.values()) <= EVERY_TURN_ACTIONS, found
