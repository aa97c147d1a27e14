"""The import graph: asgihost.api imports the runtime, no runtime module imports asgihost.api
(not even for types), and asgihost.settings (Config, recipes) imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import asgihost

PACKAGE = Path(asgihost.__file__).parent


def imported(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports, wherever the import is (in a function, or
    under ``if TYPE_CHECKING:``: naming another module's types depends on it too)."""
    module = "asgihost." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module.rsplit(".", 1)[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - child.level + 1] if child.level else []
                source = ".".join([*base, *([child.module] if child.module else [])])
                names.add(source)
                names.update(f"{source}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return names


def test_no_runtime_module_imports_the_api():
    modules = [*sorted((PACKAGE / "runtime").glob("*.py")), PACKAGE / "settings.py"]
    offenders = {
        path.name: sorted(n for n in imported(path) if n == "asgihost.api" or n.startswith("asgihost.api."))
        for path in modules
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_settings_imports_no_runtime():
    assert not [n for n in imported(PACKAGE / "settings.py") if n.startswith("asgihost.runtime")]


def test_the_api_imports_the_runtime():
    assert {"asgihost.runtime.reload", "asgihost.runtime.supervisor"} <= imported(PACKAGE / "api.py")


def test_the_public_names_and_the_spawn_targets():
    from asgihost import api, settings
    from asgihost.runtime import child

    assert asgihost.Config is api.Config is settings.Config
    assert api.config_from_recipe is settings.config_from_recipe and asgihost.run is api.run
    assert asgihost.Server.__module__ == "asgihost.runtime.worker"
    for target in (child.serve_worker, child.serve_recipe):  # spawn pickles them by name
        assert (target.__module__, target.__qualname__) == ("asgihost.runtime.child", target.__name__)
