"""The supervisor stops every child and grandchild; none outlives it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bot.service.supervisor import ChildSpec, Supervisor

CHILD = textwrap.dedent("""
    import subprocess, sys, time, pathlib
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pathlib.Path(sys.argv[1]).write_text(str(grandchild.pid))
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


def _wait_file(path: Path) -> int:
    for _ in range(100):
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError("child did not start")


def test_stop_kills_children_and_grandchildren(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    sup = Supervisor([ChildSpec("c", [sys.executable, "-c", CHILD, str(pid_file)])],
                     stop_timeout=5)
    sup.start()
    grandchild = _wait_file(pid_file)
    child = sup.children[0].process.pid
    assert _alive(child) and _alive(grandchild)
    sup.stop()
    time.sleep(0.2)
    assert not _alive(child) and not _alive(grandchild)


def test_children_die_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import sys, pathlib
        from bot.service.supervisor import ChildSpec, Supervisor
        sup = Supervisor([ChildSpec("c", [sys.executable, "-c",
                          "import os, pathlib, time; pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(600)"])])
        sup.start()
        sup.wait()
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    child = _wait_file(pid_file)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)


def test_wait_reports_a_dead_child(tmp_path: Path) -> None:
    sup = Supervisor([ChildSpec("short", [sys.executable, "-c", "pass"])])
    sup.start()
    assert sup.wait() == 1
    sup.stop()
