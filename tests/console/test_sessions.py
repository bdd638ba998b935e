"""Server-side sessions: hashed tokens, expiry, revocation, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.console.sessions import CsrfError, SessionService, token_digest, tokens_match
from bot.store.staff_models import StaffAccount, StaffSession


@pytest.fixture
def sessions(services) -> SessionService:
    return services.sessions


def test_the_database_keeps_only_the_tokens_sha256(sessions, world, db) -> None:
    new = sessions.create(world.cardio.id)
    with db.begin() as session:
        row = session.execute(select(StaffSession)).scalar_one()
    assert row.token_sha256 == token_digest(new.token) != new.token
    assert new.token not in (row.token_sha256, row.csrf_token)
    found = sessions.lookup(new.token)
    assert found is not None and found.staff == world.cardio
    assert found.csrf_token == new.csrf_token
    assert sessions.lookup(new.token + "x") is None
    assert sessions.lookup(None) is None


def test_a_session_expires_after_its_ttl(sessions, world, clock) -> None:
    new = sessions.create(world.cardio.id)
    clock.advance(sessions.ttl - timedelta(seconds=1))
    assert sessions.lookup(new.token) is not None
    clock.advance(timedelta(seconds=2))
    assert sessions.lookup(new.token) is None


def test_revoked_sessions_and_disabled_accounts_are_not_live(sessions, world, db) -> None:
    first, second = sessions.create(world.cardio.id), sessions.create(world.neuro.id)
    assert sessions.revoke(first.token) is True
    assert sessions.revoke(first.token) is False
    assert sessions.lookup(first.token) is None
    assert sessions.lookup(second.token) is not None
    with db.begin() as session:
        session.get(StaffAccount, world.neuro.id).active = False
    assert sessions.lookup(second.token) is None


def test_csrf_tokens_are_compared_exactly(sessions, world) -> None:
    live = sessions.lookup(sessions.create(world.cardio.id).token)
    live.check_csrf(live.csrf_token)
    for wrong in (None, "", live.csrf_token[:-1], live.csrf_token + "a", "x" * 43):
        with pytest.raises(CsrfError):
            live.check_csrf(wrong)
    assert not tokens_match("", "")
    assert not tokens_match(None, None)
    assert tokens_match("abc", "abc")
