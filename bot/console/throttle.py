"""The console's login throttle: per client address, and per account *and* address.

Two counters are kept for every failed login, each over a ``WINDOW``:

- ``user:<name>|<address>``: ``PAIR_FAILURES`` failures of one account from one
  address lock that pair for ``LOCKOUT``. The account stays open from every
  other address, so nobody can lock a doctor out by guessing from elsewhere:
  only the guesser's own address is locked. (An account-wide lock would let any
  address keep any doctor out indefinitely, five POSTs per quarter hour.)
- ``addr:<address>``: ``ADDRESS_FAILURES`` failures from one address, whatever
  the usernames, lock the address for ``LOCKOUT``: a spray from one address stops
  after a few guesses, before argon2 runs, for every account.

Unknown usernames are counted like known ones (no existence oracle); a username
that is not of the valid form is counted as ``-``, so a spray of made-up names
cannot fill the table. The state lives in the database (``console_login_throttle``)
or, when ``MEDBOT_REDIS_URL`` is set, in Redis: every process sees the same
counts. Times come from the injected clock in both stores.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol

import redis
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import Clock, SystemClock, as_utc
from bot.store.db import Database
from bot.store.staff_models import LoginThrottleEntry

WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
PAIR_FAILURES = 5
ADDRESS_FAILURES = 20
KEEP = timedelta(days=1)  # idle rows older than this are deleted
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
LOCKED, THROTTLED = "locked", "throttled"


def user_part(username: str) -> str:
    """The username as counted: the valid form, else ``-``."""
    name = (username or "").strip().lower()
    return name if _USERNAME.match(name) else "-"


def address_part(address: str | None) -> str:
    return (address or "-").strip()[:64] or "-"


def pair_key(username: str, address: str | None) -> str:
    return f"user:{user_part(username)}|{address_part(address)}"


def address_key(address: str | None) -> str:
    return f"addr:{address_part(address)}"


class LoginThrottle(Protocol):
    """What ``StaffService`` asks before and after checking a password."""

    def blocked(self, username: str, address: str | None) -> str | None:
        """``locked`` (this account from this address), ``throttled`` (this address), or None."""

    def failed(self, username: str, address: str | None) -> bool:
        """Count one failure; True when it locked the (account, address) pair."""

    def succeeded(self, username: str, address: str | None) -> None:
        """A right password: the pair's count starts again (the address's does not)."""

    def clear(self, username: str | None = None, address: str | None = None) -> int:
        """Unlock an account (every address) and/or an address; returns keys removed."""

    def locks(self, username: str) -> list[tuple[str, datetime]]:
        """The addresses this account is locked from now, with the end of each lock."""


class DatabaseThrottle:
    """The throttle in ``console_login_throttle`` (one short transaction per call)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def blocked(self, username: str, address: str | None) -> str | None:
        now = self.clock.now()
        keys = {pair_key(username, address): LOCKED, address_key(address): THROTTLED}
        with self.db.read() as session:
            rows = session.execute(select(LoginThrottleEntry.key, LoginThrottleEntry.locked_until)
                                   .where(LoginThrottleEntry.key.in_(list(keys)))).all()
        found = {key: keys[key] for key, until in rows if until and as_utc(until) > now}
        return found.get(pair_key(username, address)) or found.get(address_key(address))

    def failed(self, username: str, address: str | None) -> bool:
        now = self.clock.now()
        pair = pair_key(username, address)
        limits = {pair: PAIR_FAILURES, address_key(address): ADDRESS_FAILURES}
        locked_pair = False
        with self.db.begin() as session:
            insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
            session.execute(insert(LoginThrottleEntry).values([
                {"key": key, "failures": 0, "window_start": now, "updated_at": now}
                for key in sorted(limits)]).on_conflict_do_nothing(index_elements=["key"]))
            rows = session.execute(select(LoginThrottleEntry).where(
                LoginThrottleEntry.key.in_(list(limits))).order_by(LoginThrottleEntry.key)
                .with_for_update()).scalars()
            for row in rows:
                locked = _count(row, now, limits[row.key])
                locked_pair = locked_pair or (locked and row.key == pair)
            session.execute(delete(LoginThrottleEntry).where(
                LoginThrottleEntry.updated_at < now - KEEP)
                .execution_options(synchronize_session=False))
        return locked_pair

    def succeeded(self, username: str, address: str | None) -> None:
        with self.db.begin() as session:
            session.execute(delete(LoginThrottleEntry).where(
                LoginThrottleEntry.key == pair_key(username, address))
                .execution_options(synchronize_session=False))

    def clear(self, username: str | None = None, address: str | None = None) -> int:
        conditions = []
        if username is not None:
            conditions.append(LoginThrottleEntry.key.startswith(
                f"user:{user_part(username)}|", autoescape=True))
        if address is not None:
            conditions += [LoginThrottleEntry.key == address_key(address),
                           LoginThrottleEntry.key.endswith(f"|{address_part(address)}",
                                                           autoescape=True)]
        if not conditions:
            return 0
        with self.db.begin() as session:
            removed = 0
            for condition in conditions:
                removed += session.execute(delete(LoginThrottleEntry).where(condition)
                                           .execution_options(synchronize_session=False)
                                           ).rowcount
            return removed

    def locks(self, username: str) -> list[tuple[str, datetime]]:
        now = self.clock.now()
        prefix = f"user:{user_part(username)}|"
        with self.db.read() as session:
            rows = session.execute(select(LoginThrottleEntry.key, LoginThrottleEntry.locked_until)
                                   .where(LoginThrottleEntry.key.startswith(prefix,
                                                                            autoescape=True),
                                          LoginThrottleEntry.locked_until > now)).all()
        return sorted((key[len(prefix):], as_utc(until)) for key, until in rows)


def _count(row: LoginThrottleEntry, now: datetime, limit: int) -> bool:
    """One more failure on ``row``; True when it locks the key now."""
    if as_utc(row.window_start) + WINDOW <= now:
        row.failures, row.window_start = 0, now
    row.failures += 1
    row.updated_at = now
    if row.failures >= limit:
        row.failures, row.window_start, row.locked_until = 0, now, now + LOCKOUT
        return True
    return False


# One failure, atomically: KEYS[1] the entry (a hash); ARGV now_ms, window_ms, limit,
# lockout_ms, ttl_ms. Returns 1 when this failure locks the key.
_FAIL = """
local now = tonumber(ARGV[1])
local entry = redis.call('HMGET', KEYS[1], 'failures', 'window_start', 'locked_until')
local failures = tonumber(entry[1]) or 0
local start = tonumber(entry[2]) or now
local locked_until = tonumber(entry[3]) or 0
if start + tonumber(ARGV[2]) <= now then failures = 0; start = now end
failures = failures + 1
local locked = 0
if failures >= tonumber(ARGV[3]) then
  failures = 0; start = now; locked_until = now + tonumber(ARGV[4]); locked = 1
end
redis.call('HSET', KEYS[1], 'failures', failures, 'window_start', start,
           'locked_until', locked_until)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return locked
"""


class RedisThrottle:
    """The same throttle in Redis hashes ``<prefix>:<key>`` (expiring after a day idle)."""

    def __init__(self, url: str, prefix: str = "medbot:login", clock: Clock | None = None
                 ) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                          socket_connect_timeout=5)
        self.prefix = prefix
        self.clock = clock or SystemClock()
        self._fail = self.redis.register_script(_FAIL)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _now_ms(self) -> int:
        return _ms(self.clock.now())

    def blocked(self, username: str, address: str | None) -> str | None:
        now = self._now_ms()
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._key(pair_key(username, address)), "locked_until")
            pipe.hget(self._key(address_key(address)), "locked_until")
            pair, addr = pipe.execute()
        if pair and int(pair) > now:
            return LOCKED
        if addr and int(addr) > now:
            return THROTTLED
        return None

    def failed(self, username: str, address: str | None) -> bool:
        now, ttl = self._now_ms(), _ms_delta(KEEP)
        self._fail(keys=[self._key(address_key(address))],
                   args=[now, _ms_delta(WINDOW), ADDRESS_FAILURES, _ms_delta(LOCKOUT), ttl])
        return bool(self._fail(keys=[self._key(pair_key(username, address))],
                               args=[now, _ms_delta(WINDOW), PAIR_FAILURES,
                                     _ms_delta(LOCKOUT), ttl]))

    def succeeded(self, username: str, address: str | None) -> None:
        self.redis.delete(self._key(pair_key(username, address)))

    def clear(self, username: str | None = None, address: str | None = None) -> int:
        keys: list[str] = []
        if username is not None:
            keys += self.redis.scan_iter(match=_glob(self._key(f"user:{user_part(username)}|"))
                                         + "*")
        if address is not None:
            keys.append(self._key(address_key(address)))
            keys += self.redis.scan_iter(match=_glob(self._key("user:")) + "*|"
                                         + _glob(address_part(address)))
        return self.redis.delete(*keys) if keys else 0

    def locks(self, username: str) -> list[tuple[str, datetime]]:
        now = self._now_ms()
        prefix = self._key(f"user:{user_part(username)}|")
        found = []
        for key in self.redis.scan_iter(match=_glob(prefix) + "*"):
            until = int(self.redis.hget(key, "locked_until") or 0)
            if until > now:
                found.append((key[len(prefix):], datetime.fromtimestamp(until / 1000,
                                                                         timezone.utc)))
        return sorted(found)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ms_delta(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def _glob(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def build_throttle(db: Database, clock: Clock | None = None,
                   redis_url: str | None = None) -> LoginThrottle:
    """Redis when ``MEDBOT_REDIS_URL`` is set (``redis_url``), else the database."""
    if redis_url:
        return RedisThrottle(redis_url, clock=clock)
    return DatabaseThrottle(db, clock)
