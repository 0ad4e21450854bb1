"""The installed domains: one list, and the descriptor each domain package declares.

A domain package `minxin.<name>` declares what it brings in one place, its `domain.py`::

    DOMAIN = Domain(
        name="programs", label="救助业务",
        web=("minxin.programs.views",), api=("minxin.programs.api",), cli=("minxin.programs.cli",),
        models=("minxin.programs.models",),
        permissions=(Permission(Perm.CYCLES_RUN, roles=("county_officer", "city_admin")),),
        init=("minxin.programs.service:init_programs",),
        stats=("minxin.programs.service:program_counts",),
    )

and `INSTALLED` below lists the domain packages, in menu order. That one list feeds the app factory
(pages, API, menu, strings, templates), the `minxin` command (commands, `minxin init` seeding), the
model registry (`minxin.infra.models`, hence Alembic), `minxin stats` and the permission table.

The descriptor names modules and functions by import path (`"package.module"` or
`"package.module:function"`) rather than holding them, so reading it imports no web framework and
no other domain: the CLI does not load FastAPI, and the model registry does not load the pages. The
paths are resolved when a face is built; a path that does not import is an error there and then
(`tests/test_domains.py` resolves every path of every installed domain). Nothing is skipped
quietly: a domain in the list that fails to import stops the app and the command with its error.

This module imports nothing from any domain, so every layer (the web kit, auth, the CLI) may use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from types import ModuleType
from typing import Any

# The domain packages, in menu order (their pages' entries appear left to right in this order).
INSTALLED: tuple[str, ...] = (
    "minxin.auth",
    "minxin.registry",
    "minxin.programs",
    "minxin.assistance",
    "minxin.children",
    "minxin.veterans",
    "minxin.eldercare",
)

# Every role a permission may be granted to (the users table's check constraint holds the same list).
ROLES = ("community_worker", "town_officer", "county_officer", "city_admin", "call_agent", "auditor")


class DomainError(RuntimeError):
    """A domain descriptor that is missing, malformed or inconsistent with another one."""


@dataclass(frozen=True)
class Permission:
    """A permission a domain adds (`resource:action`) and the roles that hold it."""

    perm: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    """What one domain brings. Every field but `name` and `label` is optional.

    * `web`: modules the app factory takes `router` (pages behind login), `public_router` (pages
      without login), `NAV` (menu entries, in the order listed), `MESSAGES` (the string catalogue)
      and `templates/` (the folder next to the module) from.
    * `api`: modules whose `router` is served under /api/v1 behind `api_user`.
    * `cli`: modules with `register(app: typer.Typer)`, which adds the domain's commands.
    * `models`: modules whose tables join `minxin.infra.db.Base.metadata` (Alembic, tests).
    * `permissions`: the permissions the domain adds and which roles hold them.
    * `init`: `"module:function"` hooks called with the session at `minxin init` (seed data).
    * `stats`: `"module:function"` providers of `minxin stats` counts, called as
      `provider(session, scope_code=...)` and returning a mapping of name to count.
    * `calculators`: payment calculators the engine registers (import paths); `indicators`: the
      plan's targets the domain measures (import paths). Both are empty until the engine reads them.
    * `menu_group`: an i18n key; when set, the domain's menu entries share one drop-down.
    * `background`: `"module:function"` coroutines `function(app)` a running server keeps going (e.g.
      the call centre's escalation sweep); every worker process runs them, so they must be safe with
      several processes.
    * `worklist`: `"module:function"` providers of the domain's work queues (待办), each returning
      `minxin.worklist.Queue`s; `glance`: `"module:function"` providers of the home page's programs at a
      glance, called as `provider(session, user, today=...)` (see `minxin.worklist`).
    """

    name: str
    label: str
    web: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    cli: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    permissions: tuple[Permission, ...] = ()
    init: tuple[str, ...] = ()
    stats: tuple[str, ...] = ()
    calculators: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    menu_group: str | None = None
    background: tuple[str, ...] = ()
    worklist: tuple[str, ...] = ()
    glance: tuple[str, ...] = ()
    package: str = field(default="", compare=False)  # filled in by `load`: where DOMAIN was found


def resolve(path: str) -> object:
    """The object an import path names: `"pkg.module"` → the module, `"pkg.module:name"` → its attribute."""
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    if not attribute:
        return module
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise DomainError(f"{path}: {module_name} has no {attribute!r}") from None


def resolve_module(path: str) -> ModuleType:
    found = resolve(path)
    if not isinstance(found, ModuleType):
        raise DomainError(f"{path}: expected a module")
    return found


def resolve_callable(path: str) -> Callable[..., Any]:
    found = resolve(path)
    if not callable(found):
        raise DomainError(f"{path}: expected a function")
    return found


@cache
def load(packages: tuple[str, ...]) -> tuple[Domain, ...]:
    """The descriptors of these domain packages, in order; an import error propagates as it is."""
    domains: list[Domain] = []
    for package in packages:
        module = importlib.import_module(f"{package}.domain")
        descriptor = getattr(module, "DOMAIN", None)
        if not isinstance(descriptor, Domain):
            raise DomainError(f"{package}.domain must define DOMAIN = Domain(...)")
        if any(d.name == descriptor.name for d in domains):
            raise DomainError(f"two installed domains are named {descriptor.name!r}")
        domains.append(_with_package(descriptor, package))
    _check_permissions(domains)
    return tuple(domains)


def installed() -> tuple[Domain, ...]:
    """The installed domains, in `INSTALLED` order."""
    return load(INSTALLED)


def _with_package(descriptor: Domain, package: str) -> Domain:
    return replace(descriptor, package=package)


def _check_permissions(domains: Iterable[Domain]) -> None:
    owner: dict[str, str] = {}
    for domain in domains:
        for permission in domain.permissions:
            if permission.perm in owner:
                raise DomainError(f"permission {permission.perm} is declared by both {owner[permission.perm]} "
                                  f"and {domain.name}")
            owner[permission.perm] = domain.name
            unknown = [role for role in permission.roles if role not in ROLES]
            if unknown:
                raise DomainError(f"{domain.name}: permission {permission.perm} names unknown roles {unknown}")


# ---- what the faces read ---------------------------------------------------------------------------------

@cache
def _permission_table(packages: tuple[str, ...]) -> Mapping[str, frozenset[str]]:
    grants: dict[str, set[str]] = {role: set() for role in ROLES}
    for domain in load(packages):
        for permission in domain.permissions:
            for role in permission.roles:
                grants[role].add(permission.perm)
    return {role: frozenset(perms) for role, perms in grants.items()}


def permission_table() -> Mapping[str, frozenset[str]]:
    """Role → the permissions it holds, gathered from every installed domain's `permissions`."""
    return _permission_table(INSTALLED)


def model_modules() -> tuple[str, ...]:
    return tuple(path for domain in installed() for path in domain.models)


def import_models() -> None:
    """Import every installed domain's tables, so that `Base.metadata` knows them all."""
    for path in model_modules():
        resolve_module(path)


def init_hooks() -> list[Callable[..., Any]]:
    """The `minxin init` seeding hooks of the installed domains, in domain order."""
    return [resolve_callable(path) for domain in installed() for path in domain.init]


def stats_providers() -> list[Callable[..., Any]]:
    """The `minxin stats` count providers of the installed domains, in domain order."""
    return [resolve_callable(path) for domain in installed() for path in domain.stats]


def calculator_modules() -> tuple[str, ...]:
    """The modules of every installed domain that register a payment calculator when imported (the
    engine finds its calculators through here: it names no program itself)."""
    return tuple(path for domain in installed() for path in domain.calculators)


def background_tasks() -> list[Callable[..., Any]]:
    """The coroutines a running server keeps going, of the installed domains, in domain order."""
    return [resolve_callable(path) for domain in installed() for path in domain.background]
