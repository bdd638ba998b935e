"""Secrets that must live outside the database: keys for anchors and pseudonyms.

Someone with access to the database alone must not be able to forge the
transcript anchors (``bot.store.anchors``) or link an erased patient's pseudonym
to a list of openids (``bot.retention_rules.pseudonym``). Each key is 32 random
bytes: ``MEDBOT_<NAME>_KEY`` (hex, a field of ``Settings``) when set -- every process of a
multi-host set-up must then share it -- else from ``<keys dir>/<name>.key``,
created 0600 on first use. Losing the file means old anchors cannot be checked
any more: back it up separately from the database.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import KEY_BYTES, decode_key

NAMES = ("anchor", "erasure")


def load_key(name: str, keys_dir: Path, configured: bytes | None = None) -> bytes:
    """The key ``name``: ``configured`` (``settings.anchor_key`` / ``erasure_key``) when
    given, else its file (created when missing).

    Raises:
        ConfigError: a malformed key in the file.
    """
    if name not in NAMES:
        raise ValueError(f"unknown key {name!r}")
    if configured:
        return configured
    path = keys_dir / f"{name}.key"
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = keys_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # atomic; another process may have been first
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return decode_key(path.read_text().strip(), str(path))
