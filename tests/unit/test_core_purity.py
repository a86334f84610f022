"""The scheduling core stays pure: standard library only, no clock, no I/O, no randomness.

Checked statically (the AST of every module in ``bot/scheduling``) and at run time (what importing it loads).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "bot" / "scheduling"
CORE_FILES = sorted(CORE.rglob("*.py"))

# Standard-library modules the core must not use even so: I/O, processes, clocks, randomness, the network.
FORBIDDEN_STDLIB = {
    "asyncio",
    "glob",
    "http",
    "io",
    "logging",
    "multiprocessing",
    "os",
    "pathlib",
    "random",
    "secrets",
    "select",
    "shutil",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "sys",
    "tempfile",
    "threading",
    "time",
    "urllib",
    "uuid",
}
# Attribute calls that read the clock (datetime.now, date.today, time.time, ...).
CLOCK_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "time_ns",
    "monotonic",
    "monotonic_ns",
    "perf_counter",
    "perf_counter_ns",
    "process_time",
    "localtime",
    "ctime",
}
# Builtins that do I/O or reach outside.
FORBIDDEN_BUILTINS = {"open", "input", "print", "exec", "eval", "compile", "__import__", "breakpoint"}


def violations(source: str, *, package: str = "bot.scheduling") -> list[str]:
    """Every impurity in one module's source, as 'line: what'."""
    tree = ast.parse(source)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the package by construction, but say so explicitly
                if node.level > 1 or package != "bot.scheduling":
                    found.append(f"{node.lineno}: relative import leaving the package")
                continue
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            root = name.split(".")[0]
            if name == package or name.startswith(package + "."):
                continue
            if root not in sys.stdlib_module_names:
                found.append(f"{node.lineno}: imports {name} (not the standard library)")
            elif root in FORBIDDEN_STDLIB:
                found.append(f"{node.lineno}: imports {name} (I/O, clock or randomness)")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                found.append(f"{node.lineno}: calls .{func.attr}() (reads the clock; pass `now` in)")
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
                found.append(f"{node.lineno}: calls {func.id}()")
            # fromtimestamp(x) without a zone, and astimezone() without one, read the machine's local zone.
            zoned = len(node.args) >= 2 or any(k.arg == "tz" for k in node.keywords)
            if isinstance(func, ast.Attribute) and func.attr == "fromtimestamp" and not zoned:
                found.append(f"{node.lineno}: fromtimestamp() without a zone (uses the machine's zone)")
            if isinstance(func, ast.Attribute) and func.attr == "astimezone" and not node.args and not node.keywords:
                found.append(f"{node.lineno}: astimezone() without a zone (uses the machine's zone)")
        if isinstance(node, ast.Name) and node.id == "open" and isinstance(node.ctx, ast.Load):
            found.append(f"{node.lineno}: refers to open")
    return sorted(set(found))


def test_the_core_has_modules() -> None:
    names = {p.name for p in CORE_FILES}
    assert {"__init__.py", "intervals.py", "localtime.py", "model.py", "search.py", "wire.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=[str(p.relative_to(ROOT)) for p in CORE_FILES])
def test_core_module_is_pure(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import sqlmodel", ["1: imports sqlmodel (not the standard library)"]),
        ("from slack_sdk import WebClient", ["1: imports slack_sdk (not the standard library)"]),
        ("from bot.storage import repo", ["1: imports bot.storage (not the standard library)"]),
        ("from bot.providers.ics import load_ics_file", ["1: imports bot.providers.ics (not the standard library)"]),
        ("import os.path", ["1: imports os.path (I/O, clock or randomness)"]),
        ("from time import time", ["1: imports time (I/O, clock or randomness)"]),
        ("from ..cli import slots", ["1: relative import leaving the package"]),
        ("from datetime import datetime\nx = datetime.now()", ["2: calls .now() (reads the clock; pass `now` in)"]),
        ("import datetime\nx = datetime.date.today()", ["2: calls .today() (reads the clock; pass `now` in)"]),
        ("x = clock.time()", ["1: calls .time() (reads the clock; pass `now` in)"]),
        ("x = datetime.utcnow()", ["1: calls .utcnow() (reads the clock; pass `now` in)"]),
        ("data = open('f').read()", ["1: calls open()", "1: refers to open"]),
        ("reader = open", ["1: refers to open"]),
        ("x = datetime.fromtimestamp(0)", ["1: fromtimestamp() without a zone (uses the machine's zone)"]),
        ("x = moment.astimezone()", ["1: astimezone() without a zone (uses the machine's zone)"]),
        ("from datetime import UTC, datetime\nx = datetime.fromtimestamp(0, UTC)", []),
        ("x = datetime.fromtimestamp(0, tz=zone)", []),
        ("from __future__ import annotations\nimport math\nfrom zoneinfo import ZoneInfo", []),
        ("from bot.scheduling.model import Slot\nfrom . import intervals", []),
    ],
)
def test_the_checker_itself(source: str, expected: list[str]) -> None:
    assert violations(source) == expected


def test_importing_the_core_loads_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "before = set(sys.modules)\n"
        "import bot.scheduling\n"
        + "".join(f"import bot.scheduling.{p.stem}\n" for p in CORE_FILES if p.name != "__init__.py")
        + "new = sorted(set(sys.modules) - before)\n"
        "bad = [m for m in new if m.split('.')[0] not in sys.stdlib_module_names"
        " and m != 'bot' and not m.startswith('bot.scheduling')"
        " and not m.startswith('_sysconfigdata_')]\n"  # the interpreter's own build settings (zoneinfo reads them)
        "print('\\n'.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
