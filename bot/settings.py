"""One frozen, typed settings object, built from an environment mapping.

Every ``MEDBOT_*`` variable medbot reads is a field of ``Settings``, declared once
below with its variable, type, default and a one-line description. ``from_env``
parses them all, so a bad value stops start-up with a ``ConfigError`` naming its
variable, and the modules read the typed fields instead of the environment.
``variables()`` lists them; the README's configuration table is generated from it
(``python -m bot.settings``) and a test holds the two together. Nothing here reads
``os.environ`` at import time: call ``Settings.from_env()`` (or pass a dict in tests).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LANGUAGES = ("zh", "en")
MAX_CLOCK_OFFSET_SECONDS = 366 * 24 * 3600
MIN_RETENTION_DAYS = 1096  # 3 years (3 x 365 + a leap day), the legal minimum
KEY_BYTES = 32
MAX_WORKERS = 64  # Sanic workers of one Rasa server; more hosts scale further (docs/deployment.md)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# (raw text, variable) -> value; raises ConfigError naming the variable
Parser = Callable[[str, str], Any]
# value -> what is wrong with it ("must be ..."), or None
Check = Callable[[Any], "str | None"]
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


# ---------------------------------------------------------------- parsers
def _text(raw: str, _var: str) -> str:
    return raw


def _path(raw: str, _var: str) -> Path:
    return Path(raw)


def _integer(raw: str, var: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{var} must be an integer, got {raw!r}") from exc


def _number(unit: str = "") -> Parser:
    def parse(raw: str, var: str) -> float:
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"{var} must be a number{unit}, got {raw!r}") from exc
    return parse


def _flag(raw: str, var: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{var} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _secret(raw: str, var: str) -> str:
    if len(raw) < 16:
        raise ConfigError(f"{var} must have at least 16 characters (use a random string, "
                          f"e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return raw


def decode_key(raw: str, where: str) -> bytes:
    """A key written as hex (``bot.store.keys``); ``where`` names its variable or file."""
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{where}: a key must be {KEY_BYTES} bytes written as "
                          f"{2 * KEY_BYTES} hex digits")
    return key


def _names(raw: str, _var: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _networks(raw: str, var: str) -> tuple[Network, ...]:
    found = []
    for part in _names(raw, var):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ConfigError(f"{var}: {part!r} is not an IP address or network "
                              f"(e.g. 127.0.0.1,10.0.0.0/8)") from exc
    return tuple(found)


# ---------------------------------------------------------------- checks
def _at_least(minimum: float) -> Check:
    def check(value: float) -> str | None:
        return None if value >= minimum else f"must be at least {minimum}, got {value}"
    return check


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be positive"


def _language(value: str) -> str | None:
    return (None if value in SUPPORTED_LANGUAGES
            else f"must be one of {SUPPORTED_LANGUAGES}, got {value!r}")


def _zone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"must be a time zone such as Asia/Shanghai, got {value!r}"
    return None


def _between(low: int, high: int) -> Check:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}, got {value}"
    return check


def _port(value: int) -> str | None:
    return None if 0 <= value <= 65535 else f"must be a port (0-65535), got {value}"


def _within_a_year(value: int) -> str | None:
    return (None if abs(value) <= MAX_CLOCK_OFFSET_SECONDS else
            f"must be within a year (±{MAX_CLOCK_OFFSET_SECONDS} s), got {value}")


# ---------------------------------------------------------------- declaration
def setting(variable: str, default: Any, description: str, *, parse: Parser = _text,
            check: Check | None = None, shown: str | None = None, secret: bool = False,
            derive: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """A field of ``Settings`` read from ``variable``.

    Args:
        default: the value when the variable is unset or empty.
        description: one line for the README's configuration table.
        parse: text -> value (``ConfigError`` naming the variable when it cannot).
        check: what is wrong with a value, or None; also applied to values given directly.
        shown: the default as the README shows it (default: ``default`` itself).
        secret: kept out of ``repr``.
        derive: the default from the fields read before it (``from_env`` only).
    """
    meta = {"variable": variable, "description": description, "parse": parse,
            "check": check, "derive": derive,
            "shown": shown if shown is not None else _shown(default)}
    return field(default=default, repr=not secret, metadata=meta)


def _shown(default: Any) -> str:
    if default is None:
        return "unset"
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return str(default)
    return f"`{default}`"


class Variable(NamedTuple):
    """One ``MEDBOT_*`` variable: its field, default (as shown) and description."""

    name: str
    field: str
    default: str
    description: str


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of medbot: one field per ``MEDBOT_*`` variable, each
    described where it is declared (``variables()`` lists them)."""

    project_root: Path = setting(
        "MEDBOT_PROJECT_ROOT", PROJECT_ROOT, parse=_path, shown="the checkout",
        description="checkout root: config.yml, knowledge_base/, nlu_data/, credentials.yml")
    data_dir: Path = setting(
        "MEDBOT_DATA_DIR", PROJECT_ROOT / "data", parse=_path, shown="`./data`",
        derive=lambda v: v["project_root"] / "data",
        description="runtime data: SQLite database, generated endpoints, logs")
    database_url: str = setting(
        "MEDBOT_DATABASE_URL", "", shown="`sqlite:///<data dir>/medbot.db`",
        description="app database **and** Rasa tracker store, e.g. "
                    "`postgresql+psycopg2://user@127.0.0.1:5432/medbot`")
    models_dir: Path = setting(
        "MEDBOT_MODELS_DIR", PROJECT_ROOT / "models", parse=_path, shown="`./models`",
        derive=lambda v: v["project_root"] / "models",
        description="where trained Rasa models and the triage understanding layer are written")
    rasa_port: int = setting(
        "MEDBOT_PORT", 5005, parse=_integer, check=_port,
        description="port of the Rasa server (REST, WeChat, console)")
    workers: int = setting(
        "MEDBOT_WORKERS", 1, parse=_integer, check=_between(1, MAX_WORKERS),
        description="Rasa server worker processes on the one port (Rasa's `SANIC_WORKERS`, "
                    "`medbot run --workers N`); above 1 only with `MEDBOT_REDIS_URL` (lock "
                    "store) and a PostgreSQL `MEDBOT_DATABASE_URL` (`medbot run` refuses "
                    "otherwise)")
    action_port: int = setting(
        "MEDBOT_ACTION_PORT", 5055, parse=_integer, check=_port,
        description="port of the rasa_sdk action server")
    host: str = setting(
        "MEDBOT_HOST", "127.0.0.1",
        description="interface of the Rasa server (REST, WeChat, console) and the worker's "
                    "outbox; beyond loopback only with `MEDBOT_REST_TOKEN` (`medbot run` "
                    "refuses otherwise)")
    default_language: str = setting(
        "MEDBOT_DEFAULT_LANGUAGE", "zh", check=_language,
        description="language before anything is detected (`zh` or `en`)")
    timezone: str = setting(
        "MEDBOT_TIMEZONE", "Asia/Shanghai", check=_zone,
        description="default patient time zone")
    redis_url: str | None = setting(
        "MEDBOT_REDIS_URL", None,
        shown="unset (in-memory lock store, WeChat token in the database)",
        description="Redis for the Rasa lock store when running several Rasa processes, and "
                    "for the WeChat access_token, replay guard and login throttle shared by "
                    "all processes (set it for every process or for none)")
    rest_token: str | None = setting(
        "MEDBOT_REST_TOKEN", None, parse=_secret, secret=True,
        description="when set, every REST and outbox request needs "
                    "`Authorization: Bearer <token>` (at least 16 characters)")
    action_host: str = setting(
        "MEDBOT_ACTION_HOST", "127.0.0.1",
        description="interface the action server binds; beyond loopback only with "
                    "`MEDBOT_ACTION_SECRET`")
    action_url: str | None = setting(
        "MEDBOT_ACTION_URL", None, shown="`http://127.0.0.1:<action port>/webhook`",
        description="where the Rasa server calls the action server (another host in a "
                    "multi-host set-up)")
    action_secret: str | None = setting(
        "MEDBOT_ACTION_SECRET", None, parse=_secret, secret=True,
        description="shared secret the Rasa server sends and the action server checks on "
                    "every call (at least 16 characters); mandatory beyond loopback")
    clock_offset_seconds: int = setting(
        "MEDBOT_CLOCK_OFFSET", 0, parse=_integer, check=_within_a_year,
        description="seconds added to the service clock in every process (booking, "
                    "reminders, handoff, worker); for tests and drills only, never in "
                    "production (logged as `clock.offset`)")
    trusted_proxies: tuple[Network, ...] = setting(
        "MEDBOT_TRUSTED_PROXIES", (), parse=_networks, shown="unset",
        description="reverse proxies (addresses or networks, comma-separated) whose "
                    "`X-Forwarded-For` / `X-Forwarded-Proto` the console believes")
    console_secure_cookies: bool = setting(
        "MEDBOT_CONSOLE_SECURE_COOKIES", False, parse=_flag, shown="unset",
        description="set to 1 behind HTTPS so console cookies are `Secure`")
    anchor_file: Path | None = setting(
        "MEDBOT_ANCHOR_FILE", None, parse=_path, shown="`<data dir>/anchors/chain.jsonl`",
        description="signed anchors of the transcript and audit chains, outside the "
                    "database (`medbot transcript verify`); e.g. on storage the database "
                    "host cannot write")
    anchor_key: bytes | None = setting(
        "MEDBOT_ANCHOR_KEY", None, parse=decode_key, secret=True,
        shown="generated in `<data dir>/keys/`",
        description="32-byte hex key that signs the anchors, kept outside the database; "
                    "back it up separately")
    erasure_key: bytes | None = setting(
        "MEDBOT_ERASURE_KEY", None, parse=decode_key, secret=True,
        shown="generated in `<data dir>/keys/`",
        description="32-byte hex key of the pseudonyms of erased patients, kept outside the "
                    "database; back it up separately")
    anchor_interval_seconds: int = setting(
        "MEDBOT_ANCHOR_INTERVAL_SECONDS", 300, parse=_integer, check=_at_least(1),
        description="how often the worker signs the heads of the chains into the anchor file")
    worker_port: int | None = setting(
        "MEDBOT_WORKER_PORT", None, parse=_integer, check=_port, shown="Rasa port + 51",
        description="scheduler worker's health / outbox endpoint")
    outbound_senders: tuple[str, ...] = setting(
        "MEDBOT_OUTBOUND_SENDERS", (), parse=_names, shown="unset (REST; WeChat when configured)",
        description="comma-separated `module:factory` of the worker's extra outbound "
                    "senders (`factory(settings, db)`)")
    reminder_reply_minutes: float = setting(
        "MEDBOT_REMINDER_REPLY_MINUTES", 60.0, parse=_number(" of minutes"), check=_positive,
        shown="60", description="no reply this long after a reminder: one nudge; as long "
                                "again: the dose is missed")
    reminder_grace_minutes: float = setting(
        "MEDBOT_REMINDER_GRACE_MINUTES", 30.0, parse=_number(" of minutes"), check=_positive,
        shown="30", description="a reminder due longer ago than this (after downtime) is "
                                "marked missed, not sent")
    reminder_lease_minutes: float = setting(
        "MEDBOT_REMINDER_LEASE_MINUTES", 2.0, parse=_number(" of minutes"), check=_positive,
        shown="2", description="how long a worker holds a claimed job before another may "
                               "take it over")
    reminder_snooze_minutes: float = setting(
        "MEDBOT_REMINDER_SNOOZE_MINUTES", 30.0, parse=_number(" of minutes"), check=_positive,
        shown="30", description="snooze of a \"later\" without a duration")
    handoff_claim_timeout_minutes: int | None = setting(
        "MEDBOT_HANDOFF_CLAIM_TIMEOUT_MINUTES", None, parse=_integer, check=_at_least(1),
        shown="15 (`knowledge_base/handoff.yml`)",
        description="a handoff no doctor claims in this time ends; the patient is offered "
                    "the phone/visit")
    handoff_expiry_seconds: int = setting(
        "MEDBOT_HANDOFF_EXPIRY_SECONDS", 30, parse=_integer, check=_at_least(1),
        description="how often the worker looks for unclaimed handoffs")
    retention_days: int = setting(
        "MEDBOT_RETENTION_DAYS", MIN_RETENTION_DAYS, parse=_integer, check=_at_least(1),
        description="retention of chat records (refused below 3 years unless "
                    "`MEDBOT_RETENTION_ALLOW_SHORT=1`)")
    retention_allow_short: bool = setting(
        "MEDBOT_RETENTION_ALLOW_SHORT", False, parse=_flag, shown="unset",
        description="set to 1 to allow a retention shorter than 3 years (tests and "
                    "demonstrations only)")
    retention_interval_hours: int = setting(
        "MEDBOT_RETENTION_INTERVAL_HOURS", 24, parse=_integer, check=_at_least(1),
        description="how often the worker runs the purge")
    migration_reseal_broken: bool = setting(
        "MEDBOT_MIGRATION_RESEAL_BROKEN", False, parse=_flag, shown="unset",
        description="set to 1 to let migration 0009 reseal transcript chains that are "
                    "already broken (after keeping the evidence)")
    wechat_token: str = setting(
        "MEDBOT_WECHAT_TOKEN", "", secret=True, shown="unset (WeChat disabled)",
        description="WeChat Official Account server Token (3-32 letters or digits); "
                    "reminders then go out over WeChat too")
    wechat_app_id: str = setting(
        "MEDBOT_WECHAT_APP_ID", "", shown="unset (WeChat disabled)",
        description="WeChat AppID")
    wechat_app_secret: str = setting(
        "MEDBOT_WECHAT_APP_SECRET", "", secret=True, shown="unset",
        description="WeChat AppSecret (for the access_token of the outbound API)")
    wechat_aes_key: str = setting(
        "MEDBOT_WECHAT_AES_KEY", "", secret=True, shown="unset",
        description="WeChat EncodingAESKey, 43 characters (compatible and safe modes)")
    wechat_mode: str = setting(
        "MEDBOT_WECHAT_MODE", "", shown="`safe`",
        description="WeChat message encryption: `plaintext`, `compatible` or `safe`")
    wechat_api_base: str = setting(
        "MEDBOT_WECHAT_API_BASE", "", shown="`https://api.weixin.qq.com/cgi-bin/`",
        description="WeChat API root (e.g. a fake server in tests)")
    wechat_template_id: str = setting(
        "MEDBOT_WECHAT_TEMPLATE_ID", "", shown="unset",
        description="general template for proactive messages WeChat's customer-service "
                    "quota does not allow (when the kind has none of its own)")
    wechat_subscriptions_file: str = setting(
        "MEDBOT_WECHAT_SUBSCRIPTIONS_FILE", "",
        shown="`knowledge_base/wechat_subscriptions.yml`",
        description="subscription and template message ids and fields per message kind")
    wechat_reply_budget: float | None = setting(
        "MEDBOT_WECHAT_REPLY_BUDGET", None, parse=_number(), shown="4",
        description="seconds to wait for the bot before answering WeChat `success` "
                    "(0.5-4.8)")
    wechat_replay_window: int | None = setting(
        "MEDBOT_WECHAT_REPLAY_WINDOW", None, parse=_integer, shown="300",
        description="maximum age/skew of a WeChat callback timestamp, seconds")
    wechat_max_body_bytes: int | None = setting(
        "MEDBOT_WECHAT_MAX_BODY_BYTES", None, parse=_integer, shown="16384",
        description="larger WeChat request bodies are refused with 413")
    wechat_reply_limit_bytes: int | None = setting(
        "MEDBOT_WECHAT_REPLY_LIMIT_BYTES", None, parse=_integer, shown="2048",
        description="maximum UTF-8 size of one WeChat text message (512-2048)")
    wechat_max_concurrent_turns: int | None = setting(
        "MEDBOT_WECHAT_MAX_CONCURRENT_TURNS", None, parse=_integer, shown="4",
        description="WeChat bot turns run at once; the others wait")

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url(self.data_dir))
        for f in _declared():
            value, check = getattr(self, f.name), f.metadata["check"]
            problem = check(value) if check is not None and value is not None else None
            if problem:
                raise ConfigError(f"{f.metadata['variable']} {problem}")
        if self.retention_days < MIN_RETENTION_DAYS and not self.retention_allow_short:
            raise ConfigError(
                f"MEDBOT_RETENTION_DAYS={self.retention_days} is shorter than the legal minimum "
                f"of 3 years ({MIN_RETENTION_DAYS} days); set MEDBOT_RETENTION_ALLOW_SHORT=1 "
                "only for tests or demonstrations")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (``os.environ`` by default); an
        unset or empty variable takes its default.

        Raises:
            ConfigError: a value that does not parse or check, naming its variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in _declared():
            meta = f.metadata
            raw = (env.get(meta["variable"]) or "").strip()
            if raw:
                values[f.name] = meta["parse"](raw, meta["variable"])
            elif meta["derive"] is not None:
                values[f.name] = meta["derive"](values)
            else:
                values[f.name] = f.default
        return cls(**values)

    @staticmethod
    def variables() -> list[Variable]:
        """Every ``MEDBOT_*`` variable, in declaration order."""
        return [Variable(f.metadata["variable"], f.name, f.metadata["shown"],
                         f.metadata["description"]) for f in _declared()]

    def value_of(self, variable: str) -> Any:
        """The typed value of the field read from ``variable``."""
        for f in _declared():
            if f.metadata["variable"] == variable:
                return getattr(self, f.name)
        raise KeyError(variable)

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
        """Signed anchors of the hash chains, outside the database (``bot.store.anchors``)."""
        return self.anchor_file or self.data_dir / "anchors" / "chain.jsonl"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def wechat_configured(self) -> bool:
        """A WeChat token or app id is set in the environment (the channel is on)."""
        return bool(self.wechat_token or self.wechat_app_id)

    def as_child_env(self) -> dict[str, str]:
        """Environment variables that reproduce these settings in a child process: every
        variable, an empty one for a field at its unset default."""
        return {f.metadata["variable"]: _as_text(getattr(self, f.name)) for f in _declared()}

    @property
    def action_endpoint_url(self) -> str:
        return self.action_url or f"http://127.0.0.1:{self.action_port}/webhook"


def default_database_url(data_dir: Path) -> str:
    """The SQLite database under ``data_dir`` (when ``MEDBOT_DATABASE_URL`` is unset)."""
    return f"sqlite:///{(data_dir / 'medbot.db').as_posix()}"


def _declared() -> tuple[Field, ...]:
    return tuple(f for f in fields(Settings) if "variable" in f.metadata)


def _as_text(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def configuration_table() -> str:
    """The README's configuration table (Markdown), one row per variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.default} | {v.description} |" for v in Settings.variables()]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(configuration_table(), end="")
