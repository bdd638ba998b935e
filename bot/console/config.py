"""Where console requests come from: trusted proxies, the client address, HTTPS.

``MEDBOT_TRUSTED_PROXIES`` (``127.0.0.1,10.0.0.0/8``): the reverse proxies in
front of the console. Only when the socket peer is one of them are
``X-Forwarded-For`` / ``X-Real-IP`` / ``X-Forwarded-Proto`` believed; from anyone
else those headers are ignored, so a client cannot choose the address that the
audit log records and the login throttle counts. ``X-Forwarded-For`` is read
from the right: the first hop that is not a trusted proxy is the client.

``MEDBOT_CONSOLE_SECURE_COOKIES`` (``1``/``true``/``yes``/``on`` or
``0``/``false``/``no``/``off``): mark the cookies ``Secure`` behind a
TLS-terminating proxy. Without it they are ``Secure`` when the connection is
TLS, or a trusted proxy says ``X-Forwarded-Proto: https``.

Both are fields of ``Settings``: a bad value stops start-up naming the variable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import Network, Settings


@dataclass(frozen=True)
class ConsoleConfig:
    secure_cookies: bool = False
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleConfig:
        return cls(secure_cookies=settings.console_secure_cookies,
                   trusted_proxies=settings.trusted_proxies)

    def trusted(self, peer: str | None) -> bool:
        address = _ip(peer)
        return address is not None and any(address in net for net in self.trusted_proxies)

    def client_address(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The client's address: the socket peer, unless the peer is a trusted proxy
        that names the client (``X-Forwarded-For``, then ``X-Real-IP``)."""
        peer = peer or ""
        if not self.trusted(peer):
            return str(_ip(peer) or peer)
        hops = [hop.strip() for hop in (headers.get("x-forwarded-for") or "").split(",")]
        for hop in reversed([h for h in hops if h]):
            address = _ip(hop)
            if address is None:
                break  # garbage in the chain: stop believing it
            if not any(address in net for net in self.trusted_proxies):
                return str(address)
        real = _ip(headers.get("x-real-ip"))
        return str(real) if real is not None else str(_ip(peer) or peer)

    def https(self, peer: str | None, tls: bool, headers: Mapping[str, str]) -> bool:
        """Whether the browser reached us over HTTPS (cookies get ``Secure``)."""
        if self.secure_cookies or tls:
            return True
        proto = (headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
        return proto == "https" and self.trusted(peer)


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, also from ``1.2.3.4:5678`` and ``[::1]:5678``; None if it is none."""
    text = (value or "").strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address

