"""What ``medbot run`` may expose to the network, checked before anything starts.

Nothing listens beyond loopback unless configured, and then only with
authentication: the Rasa server (REST, WeChat, console) and the worker's
outbox endpoint need ``MEDBOT_REST_TOKEN`` when ``MEDBOT_HOST`` is not a
loopback address; the action server needs ``MEDBOT_ACTION_SECRET`` when
``MEDBOT_ACTION_HOST`` is not. (WeChat requests are signed and the console has
its own logins; the REST channel and the action server have no other guard.)
"""

from __future__ import annotations

import ipaddress

from bot.errors import ConfigError
from bot.settings import Settings


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback interface (``127.0.0.0/8``, ``::1``, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or "0.0.0.0": reachable from elsewhere


def check_exposure(settings: Settings) -> None:
    """Refuse to start a network-facing server without its authentication.

    Raises:
        ConfigError: a bilingual message naming the variable to set.
    """
    if not is_loopback(settings.host) and not settings.rest_token:
        raise ConfigError(
            f"MEDBOT_HOST={settings.host} 会让服务对本机以外开放，必须同时设置 MEDBOT_REST_TOKEN"
            f"（至少16个字符的随机字符串）。/ MEDBOT_HOST={settings.host} listens beyond "
            "loopback: set MEDBOT_REST_TOKEN (a random string of at least 16 characters) so "
            "that every REST request must carry it.")
    if not is_loopback(settings.action_host) and not settings.action_secret:
        raise ConfigError(
            f"MEDBOT_ACTION_HOST={settings.action_host} 会让动作服务器对本机以外开放，必须同时设置 "
            "MEDBOT_ACTION_SECRET（至少16个字符的随机字符串）。/ "
            f"MEDBOT_ACTION_HOST={settings.action_host} listens beyond loopback: set "
            "MEDBOT_ACTION_SECRET (a random string of at least 16 characters), shared by the "
            "Rasa server and the action server.")
