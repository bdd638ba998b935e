"""The Rasa server process of ``medbot run``: Rasa's own CLI, after medbot's
performance fixes for the pinned Rasa 3.6.

    python -m components.rasa_server run --model ... --endpoints ...   # = python -m rasa run ...

The fix (measured in docs/benchmarks.md, "WeChat channel"):

- **Action-server responses are validated with a validator built once.** Rasa 3.6
  (``RemoteAction._validate_action_result``) calls ``jsonschema.validate(result,
  schema)`` for every custom-action call, which first checks the constant
  response schema against the draft 2020-12 meta-schema: ~33 ms of CPU per call
  on this machine, and every patient message runs at least one custom action
  (the language slot's mapping). The replacement checks the schema once and
  then validates each response against the same schema, with the same
  validator class, the same best-match error and Rasa's own error message, so
  a malformed response is refused exactly as before (tests/components/test_rasa_server.py).

Before Rasa starts, the process's ``bot.app.App`` is installed: Rasa instantiates the
input channels of ``credentials.yml`` with ``from_credentials`` and nothing else, and
every channel (REST, WeChat, the console) takes its database, gate and services from
that one app, so the Rasa process has one database engine.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any

_INSTALLED = "_medbot_cached_validator"


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    """Rasa's action-response schema, checked once, with the validator
    ``jsonschema.validate`` would pick for it."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Replace ``RemoteAction._validate_action_result`` (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if getattr(original, _INSTALLED, False):
        return

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        from jsonschema.exceptions import best_match

        if best_match(_response_validator().iter_errors(result)) is None:
            return True
        return original(self, result)  # invalid: Rasa's own check raises its own error

    setattr(_validate_action_result, _INSTALLED, True)
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def install_app() -> Any:
    """The Rasa process's app, from the ``MEDBOT_*`` environment (built lazily:
    nothing is opened until a channel asks)."""
    from bot.app import App
    from bot.app import install as install_medbot
    from bot.settings import Settings

    return install_medbot(App.from_settings(Settings.from_env()))


def main() -> None:
    from bot.logs import install as redact_logs

    redact_logs()  # no openids, phone numbers or tokens in Rasa's and Sanic's logs
    install()
    install_app()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
