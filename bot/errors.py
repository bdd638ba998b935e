"""The one error hierarchy of medbot.

Every error a patient may see carries an i18n key (``message_key``) so that the
caller can render it in zh or en with ``bot.i18n.t``; raw backend errors are
never shown to a patient.
"""

from __future__ import annotations


class MedbotError(Exception):
    """Base class of every medbot error."""

    message_key = "utter_error_generic"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.params = params


class ConfigError(MedbotError):
    """Configuration is missing or invalid; raised at start-up."""


class KnowledgeBaseError(MedbotError):
    """A knowledge-base file is missing, malformed or has no version."""


class ValidationError(MedbotError):
    """User input failed validation; ``message_key`` names the bilingual text."""

    message_key = "utter_error_invalid_input"


class NotFoundError(MedbotError):
    """A requested record does not exist (or is not visible to the caller)."""

    message_key = "utter_error_not_found"


class ConflictError(MedbotError):
    """A uniqueness or state rule would be broken (double booking, duplicate)."""

    message_key = "utter_error_conflict"


class PermissionDeniedError(MedbotError):
    """The caller may not see or change this record (e.g. another department's handoff,
    or a patient whose data is access-locked)."""

    message_key = "utter_error_forbidden"


class TrainingError(MedbotError):
    """Training the Rasa model failed."""


class ServiceError(MedbotError):
    """A child process or external service failed."""


class ConsentRequiredError(PermissionDeniedError):
    """A service that processes health information was called for a patient without
    current health-data consent (never given, declined or withdrawn); nothing was
    processed. Raised by ``bot.consent.guard`` for every such service."""

    message_key = "utter_consent_required_service"

