"""One access_token for every process (wechatpy#684), kept in the database.

Each ``/cgi-bin/token`` call invalidates the previous token, so processes that
fetch their own tokens keep breaking each other. ``SharedTokenClient`` reads the
token from ``wechat_tokens`` and refreshes it under a row lock (SQLite: the
``BEGIN IMMEDIATE`` write lock; PostgreSQL: ``SELECT ... FOR UPDATE``): the first
process fetches, the others find the new token and use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy import WeChatClient

from bot.store.db import Database
from bot.store.models import utcnow
from bot.store.wechat_models import WeChatToken

log = logging.getLogger(__name__)

EARLY_REFRESH = timedelta(seconds=120)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class DatabaseTokenStore:
    """The shared token row of one app id."""

    def __init__(self, db: Database, key: str) -> None:
        self.db = db
        self.key = key

    def get(self) -> str | None:
        with self.db.begin() as session:
            row = session.get(WeChatToken, self.key)
            if row is None or _aware(row.expires_at) - EARLY_REFRESH <= utcnow():
                return None
            return row.value

    def refresh(self, fetch: Callable[[], dict], stale: str | None) -> str:
        """Fetch a new token unless another process already replaced ``stale``."""
        for _ in range(2):  # a lost first-insert race is retried once
            try:
                with self.db.begin() as session:
                    row = session.execute(select(WeChatToken).where(
                        WeChatToken.key == self.key).with_for_update()).scalar_one_or_none()
                    if (row is not None and row.value != stale
                            and _aware(row.expires_at) - EARLY_REFRESH > utcnow()):
                        return row.value
                    result = fetch()
                    expires = utcnow() + timedelta(seconds=int(result.get("expires_in", 7200)))
                    if row is None:
                        row = WeChatToken(key=self.key, value=result["access_token"],
                                          expires_at=expires, updated_at=utcnow())
                        session.add(row)
                    else:
                        row.value, row.expires_at = result["access_token"], expires
                    session.flush()
                    log.info("wechat.token.refreshed key=%s", self.key)
                    return row.value
            except IntegrityError:
                continue
        raise RuntimeError("could not store the WeChat access token")


class SharedTokenClient(WeChatClient):
    """wechatpy's client with the shared token and a configurable API root.

    ``auto_retry`` is off: wechatpy would refresh and retry without bound;
    ``bot.wechat.sender`` retries a bounded number of times instead.
    """

    def __init__(self, app_id: str, secret: str, api_base: str, store: DatabaseTokenStore,
                 timeout: float = 5.0) -> None:
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base
        self.store = store

    @property
    def access_token(self) -> str:  # type: ignore[override]
        return self.store.get() or self.refresh_token(stale=None)

    def refresh_token(self, stale: str | None) -> str:
        return self.store.refresh(self._fetch, stale)

    def fetch_access_token(self) -> dict:
        token = self.refresh_token(stale=self.store.get())
        return {"access_token": token}

    def _fetch(self) -> dict:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid,
                    "secret": self.secret},
        )
