"""Secrets that must live outside the database: keys for anchors and pseudonyms.

Someone with access to the database alone must not be able to forge the
transcript anchors (``bot.store.anchors``) or link an erased patient's pseudonym
to a list of openids (``bot.retention_rules.pseudonym``). Each key is 32 random
bytes, read from ``MEDBOT_<NAME>_KEY`` (hex) when set -- every process of a
multi-host set-up must then share it -- else from ``<keys dir>/<name>.key``,
created 0600 on first use. Losing the file means old anchors cannot be checked
any more: back it up separately from the database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from bot.errors import ConfigError

KEY_BYTES = 32
NAMES = ("anchor", "erasure")


def load_key(name: str, keys_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The key ``name``, from the environment or its file (created when missing).

    Raises:
        ConfigError: a malformed key in the environment or the file.
    """
    if name not in NAMES:
        raise ValueError(f"unknown key {name!r}")
    env = os.environ if environ is None else environ
    variable = f"MEDBOT_{name.upper()}_KEY"
    raw = (env.get(variable) or "").strip()
    if raw:
        return _decode(raw, variable)
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
    return _decode(path.read_text().strip(), str(path))


def _decode(raw: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{where}: a key must be {KEY_BYTES} bytes written as "
                          f"{2 * KEY_BYTES} hex digits")
    return key
