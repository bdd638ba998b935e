"""bot/ is plain Python: importing all of it loads neither rasa nor TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from bot.settings import PROJECT_ROOT


def test_bot_package_imports_without_rasa_or_tensorflow() -> None:
    code = (
        "import pkgutil, importlib, sys, bot\n"
        "for m in pkgutil.walk_packages(bot.__path__, 'bot.'):\n"
        "    if '.migrations' in m.name or m.name == 'bot.__main__':\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('rasa', 'tensorflow'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, check=True)
    assert out.stdout.strip() == ""
