"""One frozen settings object, built from an environment mapping.

Nothing here reads ``os.environ`` at import time: call ``Settings.from_env()``
(or pass a dict in tests).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LANGUAGES = ("zh", "en")
MAX_CLOCK_OFFSET_SECONDS = 366 * 24 * 3600


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from exc


def _secret(env: Mapping[str, str], key: str) -> str | None:
    raw = (env.get(key) or "").strip()
    if raw and len(raw) < 16:
        raise ConfigError(f"{key} must have at least 16 characters (use a random string, "
                          f"e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return raw or None


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of medbot.

    Attributes:
        project_root: checkout root (config.yml, knowledge_base/, nlu_data/).
        data_dir: where the SQLite database and other runtime files live.
        database_url: SQLAlchemy URL of the app database (also Rasa's tracker store).
        models_dir: where trained Rasa models are written.
        rasa_port: port of the Rasa server (REST/WeChat channels).
        action_port: port of the rasa_sdk action server.
        default_language: language used before anything is detected.
        timezone: default patient time zone.
        redis_url: optional Redis for the lock store / shared tokens.
        host: interface of the Rasa server (REST, WeChat, console) and the worker's
            outbox endpoint; beyond loopback only with ``rest_token``.
        rest_token: bearer token every REST (and outbox) request must carry when set.
        action_host: interface the action server binds (loopback by default).
        action_url: where the Rasa server calls the action server (another host in a
            multi-host set-up); default ``http://127.0.0.1:<action_port>/webhook``.
        action_secret: shared secret the Rasa server sends to the action server and
            the action server checks on every call; required beyond loopback.
        clock_offset_seconds: ``MEDBOT_CLOCK_OFFSET``, seconds added to the clock of
            every service (booking, reminders, handoff, the worker) in every process;
            0 (the default) in production. Tests and drills use it to run the whole
            service at a chosen time of day (``bot.clock.offset_until``).
    """

    project_root: Path = PROJECT_ROOT
    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""
    models_dir: Path = PROJECT_ROOT / "models"
    rasa_port: int = 5005
    action_port: int = 5055
    host: str = "127.0.0.1"
    default_language: str = "zh"
    timezone: str = "Asia/Shanghai"
    redis_url: str | None = None
    rest_token: str | None = field(default=None, repr=False)
    action_host: str = "127.0.0.1"
    action_url: str | None = None
    action_secret: str | None = field(default=None, repr=False)
    clock_offset_seconds: int = 0
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.database_url:
            url = f"sqlite:///{(self.data_dir / 'medbot.db').as_posix()}"
            object.__setattr__(self, "database_url", url)
        if self.default_language not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                f"MEDBOT_DEFAULT_LANGUAGE must be one of {SUPPORTED_LANGUAGES}, "
                f"got {self.default_language!r}"
            )
        if abs(self.clock_offset_seconds) > MAX_CLOCK_OFFSET_SECONDS:
            raise ConfigError(f"MEDBOT_CLOCK_OFFSET must be within a year "
                              f"(±{MAX_CLOCK_OFFSET_SECONDS} s), got {self.clock_offset_seconds}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        root = Path(env.get("MEDBOT_PROJECT_ROOT", PROJECT_ROOT))
        data_dir = Path(env.get("MEDBOT_DATA_DIR", root / "data"))
        return cls(
            project_root=root,
            data_dir=data_dir,
            database_url=env.get("MEDBOT_DATABASE_URL", ""),
            models_dir=Path(env.get("MEDBOT_MODELS_DIR", root / "models")),
            rasa_port=_int(env, "MEDBOT_PORT", 5005),
            action_port=_int(env, "MEDBOT_ACTION_PORT", 5055),
            host=env.get("MEDBOT_HOST", "127.0.0.1"),
            default_language=env.get("MEDBOT_DEFAULT_LANGUAGE", "zh"),
            timezone=env.get("MEDBOT_TIMEZONE", "Asia/Shanghai"),
            redis_url=env.get("MEDBOT_REDIS_URL") or None,
            rest_token=_secret(env, "MEDBOT_REST_TOKEN"),
            action_host=env.get("MEDBOT_ACTION_HOST") or "127.0.0.1",
            action_url=env.get("MEDBOT_ACTION_URL") or None,
            action_secret=_secret(env, "MEDBOT_ACTION_SECRET"),
            clock_offset_seconds=_int(env, "MEDBOT_CLOCK_OFFSET", 0),
            extra={k: v for k, v in env.items() if k.startswith("MEDBOT_")},
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (CLI flags win over the environment)."""
        return replace(self, **changes)

    @property
    def knowledge_base_dir(self) -> Path:
        return self.project_root / "knowledge_base"

    @property
    def keys_dir(self) -> Path:
        """Keys kept outside the database (``bot.store.keys``)."""
        return self.data_dir / "keys"

    @property
    def spool_path(self) -> Path:
        """Where messages wait while the database is down (``bot.store.spool``)."""
        return self.data_dir / "spool" / "inbound.jsonl"

    @property
    def anchor_path(self) -> Path:
        """Signed anchors of the hash chains, outside the database (``bot.store.anchors``);
        ``MEDBOT_ANCHOR_FILE`` moves it (e.g. to storage the database host cannot write)."""
        override = self.extra.get("MEDBOT_ANCHOR_FILE")
        return Path(override) if override else self.data_dir / "anchors" / "chain.jsonl"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def as_child_env(self) -> dict[str, str]:
        """Environment variables that reproduce these settings in a child process."""
        return {
            "MEDBOT_PROJECT_ROOT": str(self.project_root),
            "MEDBOT_DATA_DIR": str(self.data_dir),
            "MEDBOT_DATABASE_URL": self.database_url,
            "MEDBOT_MODELS_DIR": str(self.models_dir),
            "MEDBOT_PORT": str(self.rasa_port),
            "MEDBOT_ACTION_PORT": str(self.action_port),
            "MEDBOT_HOST": self.host,
            "MEDBOT_DEFAULT_LANGUAGE": self.default_language,
            "MEDBOT_TIMEZONE": self.timezone,
            "MEDBOT_ACTION_HOST": self.action_host,
            **({"MEDBOT_REDIS_URL": self.redis_url} if self.redis_url else {}),
            **({"MEDBOT_REST_TOKEN": self.rest_token} if self.rest_token else {}),
            **({"MEDBOT_ACTION_URL": self.action_url} if self.action_url else {}),
            **({"MEDBOT_ACTION_SECRET": self.action_secret} if self.action_secret else {}),
            **({"MEDBOT_CLOCK_OFFSET": str(self.clock_offset_seconds)}
               if self.clock_offset_seconds else {}),
        }

    @property
    def action_endpoint_url(self) -> str:
        return self.action_url or f"http://127.0.0.1:{self.action_port}/webhook"
