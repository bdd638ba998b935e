"""Imports point down only (docs/ARCHITECTURE.md, "Allowed imports").

Every ``import`` of every module is read with ``ast`` (imports inside functions
too) and its target placed in a layer:

    entry points    bot.cli, bot.__main__                 may import anything below
    adapters        actions, channels, components         bot only; never one another
    composition     bot.app, bot.service                  features and core
    features        every other bot.<name>                one another and core
    core            bot.settings, bot.errors, ...         core only

and nothing outside tests/ imports a test helper (``tests``, ``*.testing``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

ENTRY = {"bot.cli", "bot.__main__"}
ADAPTERS = {"actions", "channels", "components"}
COMPOSITION = {"bot.app", "bot.service"}
# plain helpers every feature may use; they import nothing above them
CORE = {"bot.settings", "bot.errors", "bot.logs", "bot.identity", "bot.i18n", "bot.kb",
        "bot.store", "bot.text", "bot.clock", "bot.masking"}
PACKAGES = ("bot", "actions", "channels", "components")
TEST_HELPERS = ("tests", "channels.wechat.testing")
OUR_TOPS = {"bot", "actions", "channels", "components", "tests"}

ENTRY_RANK, ADAPTER_RANK, COMPOSITION_RANK, FEATURE_RANK, CORE_RANK = range(5)


def unit(module: str) -> str:
    """``bot.reminders.service`` -> ``bot.reminders``; ``channels.rest`` -> ``channels``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bot" and len(parts) > 1 else parts[0]


def rank(module: str) -> int:
    name = unit(module)
    if name in ENTRY:
        return ENTRY_RANK
    if name in ADAPTERS:
        return ADAPTER_RANK
    if name in COMPOSITION:
        return COMPOSITION_RANK
    if name in CORE:
        return CORE_RANK
    return FEATURE_RANK


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every absolute import of one of our packages in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module]
            if node.module in ("bot", "channels", "actions", "components"):  # from bot import app
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in OUR_TOPS:
                yield node.lineno, target


def sources(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (PROJECT_ROOT / top).rglob("*.py")
                  if "migrations" not in p.parts)


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(PROJECT_ROOT)}:{line}"


def test_imports_point_down_only() -> None:
    wrong = []
    for path in sources(*PACKAGES):
        importer = module_name(path)
        for line, target in imports(path):
            if target.split(".")[0] == "tests" or unit(target) == unit(importer):
                continue
            low, high = rank(importer), rank(target)
            if high < low:
                wrong.append(f"{where(path, line)}: {unit(importer)} imports {target} "
                             "(a layer above it)")
            elif low == high == ADAPTER_RANK:
                wrong.append(f"{where(path, line)}: {unit(importer)} imports {target} "
                             "(adapters share services through bot, not one another)")
    assert not wrong, "\n".join(wrong)


def test_no_test_helper_outside_the_tests() -> None:
    wrong = [f"{where(path, line)}: {target}"
             for path in sources(*PACKAGES, "bench", "scripts")
             if not any(part == "testing" for part in path.parts)
             for line, target in imports(path)
             if target.split(".")[0] == "tests" or any(
                 target == helper or target.startswith(f"{helper}.") for helper in TEST_HELPERS)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("importer", "target", "allowed"), [
    ("bot.console.factory", "bot.cli.worker", False),  # the core never imports the CLI
    ("bot.cli.wechat", "channels.wechat.peer", True),
    ("bot.reminders.service", "bot.store.db", True),
    ("bot.store.models", "bot.reminders.service", False),  # the core never imports a feature
    ("channels.rest", "bot.app", True),
    ("bot.handoff.factory", "bot.app", False),  # the app is handed down, not reached for
    ("actions.triage", "channels.boundary", False),
])
def test_the_layers_say_what_the_architecture_page_says(importer: str, target: str,
                                                         allowed: bool) -> None:
    low, high = rank(importer), rank(target)
    same_adapter_layer = low == high == ADAPTER_RANK and unit(importer) != unit(target)
    assert (high >= low and not same_adapter_layer) is allowed
