"""The package's structure: layers import only layers below them, no circles, small modules.

Layers, from the bottom: scenario (files -> Scenario), model (Scenario + seed -> columns),
experiment (many replications, anywhere), analysis (runs -> numbers and figures), teach
(page, exercises, handouts), cli (the command line); the root package (the public face)
sits on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"
LAYERS = ("scenario", "model", "experiment", "analysis", "teach", "cli")
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def imported(module: str) -> set[str]:
    """Modules of sim that ``module`` imports at runtime (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and "TYPE_CHECKING" in ast.unparse(block.test)
               for stmt in block.body for node in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name.startswith("sim") and name != module \
                    and not module.startswith(name + "."):
                found.add(name)
    return found


GRAPH = nx.DiGraph([(m, t) for m in MODULES for t in imported(m)])


def test_there_are_no_import_circles():
    assert list(nx.simple_cycles(GRAPH)) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_import_only_layers_below(module):
    upward = [t for t in imported(module) if layer(t) > layer(module)]
    assert not upward, f"{module} imports {upward} from a layer above its own"


def test_the_scenario_layer_imports_nothing_else_of_sim():
    for module in MODULES:
        if layer(module) == 0:
            assert all(layer(t) == 0 for t in imported(module)), module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_is_small_and_says_its_job_in_its_first_line(module):
    text = MODULES[module].read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{module} has over {MAX_LINES} lines"
    doc = ast.get_docstring(ast.parse(text))
    assert doc, f"{module} has no docstring"
    first = doc.splitlines()[0]
    assert first.endswith(".") and len(first) > 20, f"{module}: first line '{first}'"


def test_the_checker_sees_a_circle_and_an_upward_import():
    graph = nx.DiGraph([("sim.model.a", "sim.model.b"), ("sim.model.b", "sim.model.a")])
    assert list(nx.simple_cycles(graph))
    assert layer("sim.cli.run") > layer("sim.analysis.compare") > layer("sim.scenario.load")


def test_the_public_api_resolves_and_is_documented():
    import sim

    for name in sim.__all__:
        value = getattr(sim, name)
        assert value.__doc__, name
    assert sim.load("baseline").name == "baseline"
