"""Files and commands that ``medbot run`` hands to the Rasa and action servers."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.errors import ConfigError
from bot.i18n import bilingual, t
from bot.service.supervisor import ChildSpec
from bot.settings import Settings
from bot.training import quiet_env


def endpoints_config(settings: Settings) -> dict:
    """Rasa endpoints: our action server, our database as tracker store, a lock store."""
    action: dict = {"url": settings.action_endpoint_url}
    if settings.action_secret:  # checked by components/action_server.py on every call
        action["headers"] = {"Authorization": f"Bearer {settings.action_secret}"}
    config: dict = {
        "action_endpoint": action,
        # `url` with a scheme is used as the full SQLAlchemy URL by SQLTrackerStore.
        "tracker_store": {"type": "SQL", "url": settings.database_url},
    }
    if settings.redis_url:
        parts = urlsplit(settings.redis_url)
        config["lock_store"] = {
            # Rasa's redis lock store, each lock change a Redis transaction (two
            # instances could lose a ticket and run one patient's turns at once)
            "type": "components.lock_store.AtomicRedisLockStore",
            "url": parts.hostname or "127.0.0.1",
            "port": parts.port or 6379,
            "db": int((parts.path or "/0").lstrip("/") or 0),
            "key_prefix": "medbot",
            **({"password": parts.password} if parts.password else {}),
        }
    else:
        config["lock_store"] = {"type": "in_memory"}
    return config


def check_workers(settings: Settings) -> None:
    """Several Rasa workers (``MEDBOT_WORKERS`` > 1) only on stores they all share.

    Rasa itself quietly falls back to one worker with the in-memory lock store
    (``rasa.core.utils.number_of_sanic_workers``), and each worker would have its
    own lock, so two messages of one patient could run at once; SQLite allows one
    writer at a time across processes. Stopping here says what to set instead.

    Raises:
        ConfigError: a bilingual message naming the variables to set.
    """
    if settings.workers <= 1:
        return
    missing = []
    if not settings.redis_url:
        missing.append(("utter_config_workers_need_redis", {}))
    if not settings.is_postgresql:
        dialect = settings.database_url.split(":", 1)[0] or "?"  # never the URL: it may hold a password
        missing.append(("utter_config_workers_need_postgresql", {"dialect": dialect}))
    if missing:
        separator = {"zh": "；", "en": "; "}
        raise ConfigError(bilingual(
            "utter_config_workers_need_shared_stores",
            lambda lang: {"missing": separator[lang].join(t(key, lang, **params)
                                                          for key, params in missing)},
            workers=settings.workers))


def write_endpoints(settings: Settings) -> Path:
    """Write the endpoints file under the data directory; returns its path."""
    runtime_dir = settings.data_dir / "runtime"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    path = runtime_dir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints_config(settings), sort_keys=False), encoding="utf-8")
    path.chmod(0o600)  # it may hold a database password
    return path


def action_server_spec(settings: Settings) -> ChildSpec:
    return ChildSpec(
        name="action-server",
        # rasa_sdk's app bound to MEDBOT_ACTION_HOST and guarded by MEDBOT_ACTION_SECRET
        argv=[sys.executable, "-m", "components.action_server",
              "--port", str(settings.action_port)],
        ready_url=f"http://{local_address(settings.action_host)}:{settings.action_port}/health",
        env=quiet_env(settings.as_child_env()),
        cwd=settings.project_root,
    )


def rasa_server_spec(settings: Settings, model: Path, endpoints: Path) -> ChildSpec:
    return ChildSpec(
        name="rasa-server",
        # Rasa's CLI after medbot's performance fixes (components/rasa_server.py)
        argv=[
            sys.executable, "-m", "components.rasa_server",
            "run",
            "--model", str(model),
            "--endpoints", str(endpoints),
            "--credentials", str(settings.project_root / "credentials.yml"),
            "--interface", settings.host,
            "--port", str(settings.rasa_port),
        ],
        ready_url=f"http://{local_address(settings.host)}:{settings.rasa_port}/health",
        env=quiet_env(settings.as_child_env()),
        cwd=settings.project_root,
    )


def local_address(host: str) -> str:
    """The address to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
