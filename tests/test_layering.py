"""The import rules of the layout, read from the source (every import, including those inside functions).

* `minxin.core` is pure: it imports nothing from minxin outside core.
* Services, rules and models never import the web kit or a command line module: only the faces
  (views, api, cli modules, the web kit, `minxin.cli`, `minxin.kit.clikit`) may.
* The engine (`minxin.programs`) imports no program: nothing from a program's package, and no module
  named for one (dibao, wubao, medical). Stronger: the engine's code names no program at all (its
  calculators are plug-ins of the programs' own packages).
* The web kit (`minxin.web`) knows no domain: of the domain packages it imports auth only (the current
  user); it reaches the others through `minxin.domains`.
* Views, API routes and the web kit neither read the database nor decide access: no query, no
  `session.get`, no SQLAlchemy construct, no role compared, no scope tested, no permission required
  (the few allowances are listed with their reason; `has_perm` only chooses what a page shows).
* No import cycle between packages. A package's faces are a node of their own: a domain's pages sit
  on top of the web kit, and the web kit needs auth's service for the current user, so counting
  `auth.views` with `auth.service` would make every domain a cycle with the kit.

Imports by string (`importlib.import_module`, the descriptors' paths) are not edges: that is how
`minxin.domains` loads the installed domains without the loader depending on them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "minxin"

FACE_NAMES = frozenset({"views", "api", "cli", "clikit", "web"})
# Packages of programs that pay through the engine; the engine may import none of them.
PROGRAM_PACKAGES = ("minxin.assistance", "minxin.veterans", "minxin.children", "minxin.eldercare")
PROGRAM_WORDS = ("dibao", "wubao", "medical")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. minxin.registry.service
    path: Path
    line: int
    target: str  # the imported module, e.g. minxin.auth.service

    def __str__(self) -> str:
        return f"{self.path.relative_to(SRC.parent)}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports_of(name: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from minxin.infra import db` imports the module minxin.infra.db; `from minxin.infra.db import Base` too.
            submodules = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES]
            targets = submodules or [module]
        found.extend(Import(name, path, node.lineno, t) for t in targets if t == "minxin" or t.startswith("minxin."))
    return found


IMPORTS: list[Import] = [imp for name, path in MODULES.items() for imp in _imports_of(name, path)]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_face(module: str) -> bool:
    """Views, API routes, command lines and the web kit: the modules allowed to know web and CLI."""
    parts = module.split(".")[1:]
    return any(p in FACE_NAMES or p.endswith(("_views", "_api", "_cli")) for p in parts)


def _domain_packages() -> set[str]:
    return {_module_name(p.parent) for p in PACKAGE.glob("*/domain.py")}


def _violations(rule: str, offending: list[Import]) -> str:
    return f"{rule}:\n  " + "\n  ".join(str(i) for i in offending)


def test_the_scan_sees_imports_inside_functions_and_relative_imports() -> None:
    # cli.py imports minxin.auth.service inside its commands only.
    assert any(i.source == "minxin.cli" and i.target == "minxin.auth.service" for i in IMPORTS)
    assert len(MODULES) > 50 and len(IMPORTS) > 300


def test_core_imports_nothing_from_minxin_outside_core() -> None:
    offending = [i for i in IMPORTS if _within(i.source, "minxin.core") and not _within(i.target, "minxin.core")]
    assert not offending, _violations("minxin.core must stay pure", offending)


def test_services_rules_and_models_never_import_the_web_or_a_command_line() -> None:
    offending = [i for i in IMPORTS if not is_face(i.source) and is_face(i.target)]
    assert not offending, _violations("only views/api/cli modules may import the web kit or a CLI", offending)


def test_the_engine_imports_no_program() -> None:
    offending = [i for i in IMPORTS if _within(i.source, "minxin.programs")
                 and (any(_within(i.target, p) for p in PROGRAM_PACKAGES)
                      or any(word in i.target for word in PROGRAM_WORDS))]
    assert not offending, _violations("the engine (minxin.programs) must import no program", offending)


PROGRAM_NAMES = (*PROGRAM_WORDS, "低保", "五保", "特困", "医疗救助")


def program_names_in_engine() -> list[str]:
    """Where an engine module names a program: identifiers, attributes and strings (docstrings aside)."""
    found: list[str] = []
    for name, path in MODULES.items():
        if not _within(name, "minxin.programs"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value
            elif isinstance(node, ast.Name):
                text = node.id
            elif isinstance(node, ast.Attribute):
                text = node.attr
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                text = node.name
            if text and any(word in text.lower() for word in PROGRAM_NAMES):
                found.append(f"{path.relative_to(SRC.parent)}:{getattr(node, 'lineno', '?')} names {text[:60]!r}")
    return found


def test_the_engine_names_no_program() -> None:
    found = program_names_in_engine()
    assert not found, "the engine (minxin.programs) must name no program:\n  " + "\n  ".join(found)


def test_the_engine_name_scan_sees_a_program_named_in_a_module(tmp_path, monkeypatch) -> None:
    """Keeps the rule above honest: the scan finds a program's name where an engine module holds one."""
    planted = tmp_path / "planted.py"
    planted.write_text('RULE = "dibao"\n', encoding="utf-8")
    monkeypatch.setitem(MODULES, "minxin.programs.planted", planted)
    monkeypatch.setitem(globals(), "SRC", tmp_path)
    assert any("dibao" in f for f in program_names_in_engine())


def test_the_web_kit_knows_no_domain_but_auth() -> None:
    domains = _domain_packages() - {"minxin.auth"}
    assert {"minxin.registry", "minxin.programs"} <= domains
    offending = [i for i in IMPORTS if _within(i.source, "minxin.web")
                 and any(_within(i.target, d) for d in domains)]
    assert not offending, _violations("the web kit may import auth and minxin.domains, no other domain", offending)


def node_of(module: str) -> str:
    """The package a module counts for: minxin.<top>, with a package's faces as a node of their own."""
    parts = module.split(".")
    top = ".".join(parts[:2])
    if len(parts) > 2 and top != "minxin.web" and is_face(module):
        return top + "[faces]"
    return top


def package_graph() -> dict[str, dict[str, list[Import]]]:
    graph: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for imp in IMPORTS:
        a, b = node_of(imp.source), node_of(imp.target)
        if a != b and b != "minxin":
            graph[a][b].append(imp)
    return graph


def find_cycle(graph: dict[str, dict[str, list[Import]]]) -> list[str] | None:
    """One cycle of the graph as [a, b, …, a], or None (depth-first search, deterministic order)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_cycle_finder_reports_a_cycle_with_its_imports() -> None:
    imp = Import("minxin.a", PACKAGE / "a.py", 1, "minxin.b")
    graph = {"minxin.a": {"minxin.b": [imp]}, "minxin.b": {"minxin.c": [imp]}, "minxin.c": {"minxin.a": [imp]}}
    assert find_cycle(graph) == ["minxin.a", "minxin.b", "minxin.c", "minxin.a"]
    assert find_cycle({"minxin.a": {"minxin.b": [imp]}}) is None


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph()
    cycle = find_cycle(graph)
    if cycle is not None:
        lines = [f"{a} -> {b}: " + "; ".join(str(i) for i in graph[a][b][:3]) for a, b in pairwise(cycle)]
        pytest.fail("import cycle " + " -> ".join(cycle) + ":\n  " + "\n  ".join(lines))


# ---- views and API routes parse, call, commit and render ----------------------------------------------

# What a page or API module may not do itself: read the database (a query, `session.get`, a SQLAlchemy
# construct) or decide access (a role compared, a scope tested, a permission required). Both belong to
# the domain's service (`get_<thing>_for(user, …)`, scoped list functions, `counties_for`), so the page
# and the JSON face of one thing cannot disagree. `has_perm` stays allowed: a page uses it to decide
# which forms and buttons to show, and the service the form posts to refuses the action itself.
SESSION_READS = frozenset({"execute", "scalars", "scalar", "scalar_one", "get", "query", "get_one"})
ACCESS_CALLS = frozenset({"require", "can_see", "scoped", "covers", "scope_prefix", "county_of", "role_perms"})
SQLALCHEMY_ALLOWED = frozenset({"Session", "sessionmaker"})

# (module, what) → why the face may do it.
FACE_ALLOWED: dict[tuple[str, str], str] = {
    ("minxin.auth.api", "role_perms"): "/api/v1/me reports the caller's own permissions; it decides nothing",
    ("minxin.auth.api", ".scope_code"): "/api/v1/me reports the caller's own scope",
    ("minxin.web.deps", ".scope_code"): "the layout's label of the current user's scope (a name shown)",
    ("minxin.web.uploads", ".scope_code"): "the region the audit entry of an error sheet is filed under",
    ("minxin.registry.views", ".scope_code"): "the export's file name names the scope it was taken from",
    ("minxin.registry.api", ".scope_code"): "/api/v1/stats names the scope its counts are of",
    ("minxin.eldercare.training.views", ".scope_code"): "the course form offers the user's own scope by name",
    ("minxin.web.logs", "sqlalchemy.inspect"): "the request log names the model of an object, reads nothing",
    ("minxin.web.logs", "sqlalchemy.exc.NoInspectionAvailable"): "the same, for objects that are no model",
    ("minxin.web.errors", "sqlalchemy.exc.DataError"): "a value the database refuses maps to 404/422, not 500",
}


def is_web_face(module: str) -> bool:
    """A page or JSON API module, or the web kit (the command lines are faces too, but not web ones)."""
    last = module.rsplit(".", 1)[-1]
    return (_within(module, "minxin.web") or last in ("views", "api") or last.endswith(("_views", "_api")))


def face_violations(name: str, path: Path) -> list[tuple[str, str]]:
    """(what, where) for each read or access rule in a face module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = f"{path.relative_to(SRC.parent)}"
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [(f"{node.module}.{a.name}", f"{where}:{line}") for a in node.names
                      if a.name not in SQLALCHEMY_ALLOWED]
        elif isinstance(node, ast.Import):
            found += [(a.name, f"{where}:{line}") for a in node.names if a.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in SESSION_READS and isinstance(func.value, ast.Name)
                    and func.value.id in ("session", "s", "db")):
                found.append((f"{func.value.id}.{func.attr}", f"{where}:{line}"))
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in ACCESS_CALLS or called == "select":
                found.append((called, f"{where}:{line}"))
        elif isinstance(node, ast.Compare):
            if any(isinstance(n, ast.Attribute) and n.attr == "role" for n in (node.left, *node.comparators)):
                found.append(("role compared", f"{where}:{line}"))
        elif isinstance(node, ast.Attribute) and node.attr == "scope_code" and isinstance(node.ctx, ast.Load):
            found.append((".scope_code", f"{where}:{line}"))
    return [(what, at) for what, at in found if (name, what) not in FACE_ALLOWED]


def test_views_and_api_routes_neither_read_the_database_nor_decide_access() -> None:
    faces = {name: path for name, path in MODULES.items() if is_web_face(name)}
    assert {"minxin.programs.views", "minxin.programs.api", "minxin.veterans.views", "minxin.web.deps"} <= set(faces)
    found = [f"{at}: {what}" for name, path in faces.items() for what, at in face_violations(name, path)]
    assert not found, ("a view or API module reads the database or decides access itself; move it into the "
                       "domain's service:\n  " + "\n  ".join(found))


def test_every_face_allowance_is_still_needed() -> None:
    """An allowance whose use has gone is removed, so the list stays the list of real exceptions."""
    used = set()
    for (name, what) in FACE_ALLOWED:
        saved = dict(FACE_ALLOWED)
        FACE_ALLOWED.pop((name, what))
        try:
            if any(w == what for w, _ in face_violations(name, MODULES[name])):
                used.add((name, what))
        finally:
            FACE_ALLOWED.clear()
            FACE_ALLOWED.update(saved)
    assert used == set(FACE_ALLOWED), f"allowances no longer used: {set(FACE_ALLOWED) - used}"


@pytest.mark.parametrize("source", [
    "def page(session):\n    return session.execute(q)\n",
    "from sqlalchemy import select\n",
    "def page(session, Case, i):\n    return session.get(Case, i)\n",
    "def page(user):\n    require(user, 'x')\n",
    "def page(user):\n    return user.role == 'city_admin'\n",
    "def page(user, r):\n    return covers(user.scope_code, r)\n",
])
def test_the_face_scan_sees_a_read_or_a_rule_in_a_view(tmp_path, monkeypatch, source: str) -> None:
    """Keeps the rule above honest: each kind of read or rule planted in a view module is found."""
    planted = tmp_path / "minxin" / "planted" / "views.py"
    planted.parent.mkdir(parents=True)
    planted.write_text(source, encoding="utf-8")
    monkeypatch.setitem(globals(), "SRC", tmp_path)
    assert face_violations("minxin.planted.views", planted)
