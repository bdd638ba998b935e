"""A local spool for what could not be written while the database was down.

When the database is unreachable, a patient still gets an answer (the 120
advice for a red flag, else "service busy"); what they wrote must not be lost.
``Spool.append`` adds one JSON line to a file outside the database (created
0600: it holds patients' messages), flushed and fsynced before the answer
goes out. ``Spool.drain(apply)`` hands the records, oldest first, to ``apply``
(``SpoolReplay``: the transcript, the emergency's triage record) and keeps
whatever it could not apply for the next attempt. Both hold an exclusive
``flock`` on the file, so any number of processes can share one spool.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _locked(self) -> Iterator[TextIO]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # patients' messages: the owner's only, whoever made the file
        with os.fdopen(fd, "r+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def append(self, record: dict[str, Any]) -> None:
        """Add one record durably (flushed and fsynced) before returning."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        with self._locked() as handle:
            handle.seek(0, os.SEEK_END)
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def pending(self) -> int:
        if not self.path.exists():
            return 0
        with self._locked() as handle:
            return sum(1 for line in handle if line.strip())

    def drain(self, apply: Callable[[dict[str, Any]], None]) -> int:
        """Apply records in order; stop at the first failure and keep it and the rest.

        ``apply`` may remove what it completed from the record before it fails: the
        record is kept as it is then, so a retry does not repeat those parts.

        A line that is not JSON (a write cut short by a crash) is logged and dropped.

        Returns:
            how many records were applied.
        """
        if not self.path.exists():
            return 0
        applied = 0
        with self._locked() as handle:
            lines = [line for line in handle.read().splitlines() if line.strip()]
            rest = lines
            for index, line in enumerate(lines):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    log.error("spool.bad_line index=%d length=%d", index, len(line))
                    rest = lines[index + 1:]
                    continue
                try:
                    apply(record)
                except Exception as exc:  # noqa: BLE001 - kept for the next attempt
                    log.warning("spool.drain_stopped applied=%d left=%d error=%s", applied,
                                len(lines) - index, type(exc).__name__)
                    # ``apply`` may have removed the parts it completed from the record
                    rest = [json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                            ] + lines[index + 1:]
                    break
                applied += 1
                rest = lines[index + 1:]
            handle.seek(0)
            handle.truncate()
            handle.write("".join(line + "\n" for line in rest))
            handle.flush()
            os.fsync(handle.fileno())
        if applied:
            log.info("spool.drained applied=%d left=%d", applied, len(rest))
        return applied
