"""WeChat channel configuration: credentials.yml values, overridden by ``MEDBOT_WECHAT_*``
(the ``wechat_*`` fields of ``Settings``, typed there).

Secrets never live in credentials.yml; they come from the environment. When neither
a token nor an app id is configured the channel is *disabled* (``enabled`` is
False) so ``medbot run`` starts without WeChat; a partial or invalid config raises
``ConfigError`` at start.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError
from bot.settings import Settings

MODES = ("plaintext", "compatible", "safe")
DEFAULT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"
REPLY_LIMIT_MAX = 2048  # WeChat's limit for one text message (passive or customer service)
REPLY_LIMIT_MIN = 512

# credentials.yml key -> environment variable
_ENV = {
    "token": "MEDBOT_WECHAT_TOKEN",
    "app_id": "MEDBOT_WECHAT_APP_ID",
    "app_secret": "MEDBOT_WECHAT_APP_SECRET",
    "encoding_aes_key": "MEDBOT_WECHAT_AES_KEY",
    "mode": "MEDBOT_WECHAT_MODE",
    "api_base": "MEDBOT_WECHAT_API_BASE",
    "template_id": "MEDBOT_WECHAT_TEMPLATE_ID",
    "reply_budget": "MEDBOT_WECHAT_REPLY_BUDGET",
    "replay_window": "MEDBOT_WECHAT_REPLAY_WINDOW",
    "max_body_bytes": "MEDBOT_WECHAT_MAX_BODY_BYTES",
    "reply_limit_bytes": "MEDBOT_WECHAT_REPLY_LIMIT_BYTES",
    "max_concurrent_turns": "MEDBOT_WECHAT_MAX_CONCURRENT_TURNS",
}


@dataclass(frozen=True)
class WeChatConfig:
    """Validated WeChat settings.

    Attributes:
        token: the server-configuration Token (signs every callback).
        app_id / app_secret: for the access_token of the outbound API.
        encoding_aes_key: 43-character EncodingAESKey (compatible and safe modes).
        mode: ``plaintext``, ``compatible`` or ``safe``.
        api_base: API root, e.g. the fake server in tests.
        template_id: template for proactive messages outside the 48-hour window.
        reply_budget: seconds to wait for the bot before answering ``success``.
        replay_window: maximum age/skew of a callback ``timestamp``, seconds.
        max_body_bytes: larger request bodies are refused with 413.
        reply_limit_bytes: maximum UTF-8 size of one text message (512-2048; WeChat's
            limit is 2048).
        max_concurrent_turns: bot turns run at once; the others wait (and are
            answered through the customer-service API if the budget runs out).
    """

    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    mode: str = "safe"
    api_base: str = DEFAULT_API_BASE
    template_id: str = ""
    reply_budget: float = 4.0
    replay_window: int = 300
    max_body_bytes: int = 16 * 1024
    reply_limit_bytes: int = 2048
    max_concurrent_turns: int = 4

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.app_id)

    @property
    def encrypted(self) -> bool:
        return self.mode in ("compatible", "safe")

    @classmethod
    def from_sources(cls, credentials: Mapping[str, Any] | None,
                     settings: Settings) -> WeChatConfig:
        """Credentials first, the environment (``settings``) wins; validated unless
        nothing is configured."""
        raw: dict[str, Any] = {k: v for k, v in (credentials or {}).items() if k in _ENV}
        for key, var in _ENV.items():
            value = settings.value_of(var)
            if value not in (None, ""):
                raw[key] = value
        config = cls(
            token=str(raw.get("token") or ""),
            app_id=str(raw.get("app_id") or ""),
            app_secret=str(raw.get("app_secret") or ""),
            encoding_aes_key=str(raw.get("encoding_aes_key") or ""),
            mode=str(raw.get("mode") or "safe"),
            api_base=str(raw.get("api_base") or DEFAULT_API_BASE),
            template_id=str(raw.get("template_id") or ""),
            reply_budget=_number(raw, "reply_budget", 4.0, float),
            replay_window=_number(raw, "replay_window", 300, int),
            max_body_bytes=_number(raw, "max_body_bytes", 16 * 1024, int),
            reply_limit_bytes=_number(raw, "reply_limit_bytes", REPLY_LIMIT_MAX, int),
            max_concurrent_turns=_number(raw, "max_concurrent_turns", 4, int),
        )
        if config.enabled:
            config.validate()
        return config

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the first problem."""
        missing = [_ENV[k] for k in ("token", "app_id", "app_secret")
                   if not getattr(self, k)]
        if self.encrypted and not self.encoding_aes_key:
            missing.append(_ENV["encoding_aes_key"])
        if missing:
            raise ConfigError("WeChat is partly configured; missing " + ", ".join(missing))
        if self.mode not in MODES:
            raise ConfigError(f"{_ENV['mode']} must be one of {MODES}, got {self.mode!r}")
        if self.encoding_aes_key:
            try:
                key = base64.b64decode(self.encoding_aes_key + "=", validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ConfigError("MEDBOT_WECHAT_AES_KEY is not base64") from exc
            if len(self.encoding_aes_key) != 43 or len(key) != 32:
                raise ConfigError("MEDBOT_WECHAT_AES_KEY must be 43 characters (32 bytes)")
        if not 0.5 <= self.reply_budget <= 4.8:
            raise ConfigError("reply_budget must be between 0.5 and 4.8 seconds")
        if min(self.replay_window, self.max_body_bytes, self.max_concurrent_turns) <= 0:
            raise ConfigError("replay_window, max_body_bytes, max_concurrent_turns must be > 0")
        if not REPLY_LIMIT_MIN <= self.reply_limit_bytes <= REPLY_LIMIT_MAX:
            raise ConfigError(
                f"{_ENV['reply_limit_bytes']} must be between {REPLY_LIMIT_MIN} and "
                f"{REPLY_LIMIT_MAX} bytes (WeChat's text limit is {REPLY_LIMIT_MAX}; a part "
                f"must hold its (i/n) label and the truncation note), got {self.reply_limit_bytes}")
        if not 3 <= len(self.token) <= 32 or not self.token.isalnum():
            raise ConfigError("MEDBOT_WECHAT_TOKEN must be 3-32 letters or digits")
        if not self.api_base.endswith("/"):
            object.__setattr__(self, "api_base", self.api_base + "/")


def _number(raw: Mapping[str, Any], key: str, default: Any, cast: type) -> Any:
    """``raw[key]`` as ``cast`` (credentials.yml gives text or numbers; the environment's
    values arrive typed); a bad value names its variable (fails at start)."""
    value = raw.get(key, default)
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        return cast(value)
    except (TypeError, ValueError) as exc:
        kind = "an integer" if cast is int else "a number"
        raise ConfigError(f"{_ENV[key]} must be {kind}, got {value!r}") from exc


CREDENTIALS_KEY = "channels.wechat.WeChatInput"


def load_wechat_config(settings: Settings) -> WeChatConfig:
    """credentials.yml's WeChat section with ``MEDBOT_WECHAT_*`` applied; must be enabled.

    For processes other than the Rasa server (CLI, the scheduler worker).
    """
    import yaml

    path = settings.project_root / "credentials.yml"
    section = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(CREDENTIALS_KEY) or {}
    config = WeChatConfig.from_sources(section, settings)
    if not config.enabled:
        raise ConfigError("WeChat is not configured: set MEDBOT_WECHAT_TOKEN, _APP_ID, "
                          "_APP_SECRET (and _AES_KEY for safe mode)")
    return config
