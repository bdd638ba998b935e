"""A consent check that always finds consent: for tests of features, not of consent.

The real guard (``bot.consent.guard.HealthConsentGuard``) is tested in
tests/consent/, walking every service that processes health information.
"""

from __future__ import annotations


class ConsentGranted:
    def granted(self, session, patient_id) -> bool:  # noqa: ANN001 - the ConsentCheck protocol
        return True

    def require(self, session, patient_id) -> None:  # noqa: ANN001
        return None


GRANTED = ConsentGranted()
