"""``components.rasa_server``: Rasa's CLI with the action-response validator built once."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from components import rasa_server

VALID = {"events": [{"event": "slot", "name": "language", "value": "zh", "timestamp": None}],
         "responses": [{"text": "您好", "buttons": []}]}


@pytest.fixture
def action() -> RemoteAction:
    rasa_server.install()
    return RemoteAction("action_detect_language", None)


def test_valid_responses_pass(action: RemoteAction) -> None:
    assert action._validate_action_result(VALID) is True
    assert action._validate_action_result({"events": [], "responses": []}) is True


@pytest.mark.parametrize("bad", [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 3}]},      # name must be a string
    {"events": [{"no_event_key": True}]},
    {"responses": ["not an object"]},
])
def test_invalid_responses_are_refused_with_rasas_message(action: RemoteAction, bad) -> None:
    with pytest.raises(ValidationError) as err:
        action._validate_action_result(bad)
    assert "Failed to validate Action server response" in err.value.message


def test_install_is_idempotent_and_the_schema_is_checked_once(action: RemoteAction,
                                                               monkeypatch) -> None:
    from jsonschema.validators import validator_for

    patched = RemoteAction._validate_action_result
    rasa_server.install()
    assert RemoteAction._validate_action_result is patched
    cls = validator_for(RemoteAction.action_response_format_spec())
    checks: list[dict] = []
    original_check = cls.check_schema
    monkeypatch.setattr(cls, "check_schema",
                        classmethod(lambda c, schema: (checks.append(schema),
                                                       original_check(schema))[1]))
    rasa_server._response_validator.cache_clear()
    for _ in range(5):
        assert action._validate_action_result(VALID) is True
    assert len(checks) == 1  # Rasa's jsonschema.validate would have checked it 5 times
    rasa_server._response_validator.cache_clear()


def test_medbot_run_starts_rasa_through_the_launcher(tmp_path) -> None:
    from bot.service.runtime import rasa_server_spec
    from bot.settings import Settings

    spec = rasa_server_spec(Settings.from_env({"MEDBOT_DATA_DIR": str(tmp_path)}),
                            tmp_path / "model.tar.gz", tmp_path / "endpoints.yml")
    assert spec.argv[1:4] == ["-m", "components.rasa_server", "run"]
