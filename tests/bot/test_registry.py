"""The one registry of where a patient's data lives covers every table that refers to one."""

from __future__ import annotations

from sqlalchemy import ForeignKey  # noqa: F401 - documents what counts as a reference

from bot.fhir_export import EXPORTED
from bot.store import Base
from bot.store.registry import REGISTRY

# Column names that identify a patient (or their channel identity) without a foreign key.
PATIENT_COLUMNS = {"patient_id", "external_id", "openid", "conversation_id", "sender_id"}


def tables_with_patient_references() -> set[str]:
    found = set()
    for name, table in Base.metadata.tables.items():
        for col in table.columns:
            if col.name in PATIENT_COLUMNS or any(
                    fk.column.table.name == "patients" for fk in col.foreign_keys):
                found.add(name)
    return found | {"events"}  # Rasa's tracker store, created by Rasa in the same database


def test_every_table_with_a_patient_reference_is_in_the_registry() -> None:
    registered = {entry.table.name for entry in REGISTRY}
    missing = tables_with_patient_references() - registered
    assert not missing, f"add these tables to bot/store/registry.py: {sorted(missing)}"


def test_each_table_is_registered_once_with_a_known_kind() -> None:
    names = [entry.table.name for entry in REGISTRY]
    assert len(names) == len(set(names))
    assert {e.kind for e in REGISTRY} <= {"service", "record", "tracker", "proof", "identity"}


def test_the_export_covers_what_the_registry_says_is_exported() -> None:
    exported = {e.table.name: e.export for e in REGISTRY if not e.export.startswith("not ")}
    assert exported == EXPORTED
    for entry in REGISTRY:
        if entry.export.startswith("not "):
            assert ":" in entry.export, f"{entry.name}: say why it is not exported"
