"""Start child processes, wait for them to be ready, stop them all cleanly.

Each child gets its own process group (so Ctrl-C in a terminal reaches only the
supervisor, which then stops children in order) and, on Linux, a parent-death
signal, so that a child never outlives a supervisor that was killed outright.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ServiceError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ChildSpec:
    """A child process and how to tell it is ready.

    Attributes:
        name: shown in logs.
        argv: the command.
        ready_url: polled until it answers 2xx (None: ready once started).
        env: full environment of the child.
        cwd: working directory.
        log_file: where its stdout/stderr go (None: inherit the terminal).
    """

    name: str
    argv: Sequence[str]
    ready_url: str | None = None
    env: dict[str, str] | None = None
    cwd: Path | None = None
    log_file: Path | None = None
    process: subprocess.Popen | None = field(default=None, init=False, repr=False)


class Supervisor:
    """Runs children until one exits or a stop is requested."""

    def __init__(self, children: Sequence[ChildSpec], *, stop_timeout: float = 15.0) -> None:
        self.children = list(children)
        self.stop_timeout = stop_timeout
        self._stop = threading.Event()

    def start(self, ready_timeout: float = 300.0) -> None:
        """Start every child in order, each after the previous one is ready."""
        for child in self.children:
            log.info("service.child.starting name=%s", child.name)
            output = None
            if child.log_file is not None:
                child.log_file.parent.mkdir(parents=True, exist_ok=True)
                output = open(child.log_file, "ab")  # noqa: SIM115 - owned by the child
            try:
                child.process = subprocess.Popen(
                    list(child.argv), env=child.env, cwd=child.cwd,
                    preexec_fn=_die_with_parent, stdout=output, stderr=output,
                )
            finally:
                if output is not None:
                    output.close()
            if child.ready_url:
                self._wait_ready(child, ready_timeout)
            log.info("service.child.ready name=%s pid=%s", child.name, child.process.pid)

    def _wait_ready(self, child: ChildSpec, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._stop.is_set():
                raise ServiceError("stopped while starting")
            if child.process is not None and child.process.poll() is not None:
                raise ServiceError(f"{child.name} exited with {child.process.returncode} "
                                   "while starting; see its output above")
            if _url_ok(child.ready_url or ""):
                return
            time.sleep(0.5)
        raise ServiceError(f"{child.name} was not ready after {timeout:.0f}s")

    def request_stop(self, *_args: object) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_stop)

    def wait(self, on_tick: Callable[[], None] | None = None) -> int:
        """Block until a stop is requested (0) or a child dies (1)."""
        while not self._stop.wait(0.5):
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    log.error("service.child.exited name=%s code=%s",
                              child.name, child.process.returncode)
                    return 1
            if on_tick:
                on_tick()
        return 0

    def stop(self) -> None:
        """Stop children in reverse order: SIGTERM their groups, then SIGKILL."""
        for child in reversed(self.children):
            proc = child.process
            if proc is None or proc.poll() is not None:
                continue
            log.info("service.child.stopping name=%s pid=%s", child.name, proc.pid)
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("service.child.killed name=%s pid=%s", child.name, proc.pid)
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
            # Whatever the child left in its group goes too.
            _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _url_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local URL
            return 200 <= resp.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
