"""berth_cli stays a standard-library package, so it can run anywhere and be zipped into one file."""

import ast
import sys
from pathlib import Path

from tests.stack import ROOT

PACKAGE = ROOT / "berth_cli"


def imported_top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_imports_only_the_standard_library_and_itself():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        foreign = imported_top_level_names(path) - set(sys.stdlib_module_names) - {"__future__", "berth_cli"}
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_every_command_module_registers_its_own_parser():
    from berth_cli.commands import MODULES

    for module in MODULES:
        assert callable(module.register) and callable(module.run), module.__name__
        assert len(Path(module.__file__).read_text().splitlines()) <= 300, module.__name__
