"""The domain registry: one list of domains feeds the app, the CLI, the models, stats, permissions, menu."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from minxin import domains
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.domains import Domain, DomainError, Permission, installed, load, permission_table, resolve
from minxin.infra.db import Base
from minxin.stats import city_stats

COMMUNITY_UP = {"community_worker", "town_officer", "county_officer", "city_admin"}
TOWN_UP = {"town_officer", "county_officer", "city_admin"}
COUNTY_UP = {"county_officer", "city_admin"}
ALL = COMMUNITY_UP | {"call_agent", "auditor"}

# The table the roles held before the domains declared it (auth.service.ROLE_PERMS), plus the
# supermarkets' own permission, held by the two roles that ran them (MANAGER_ROLES).
EXPECTED_HOLDERS = {
    Perm.REGISTRY_READ: ALL,
    Perm.REGISTRY_WRITE: COMMUNITY_UP,
    Perm.REGISTRY_IMPORT: COMMUNITY_UP,
    Perm.PII_VIEW: COMMUNITY_UP,
    Perm.USERS_MANAGE: {"city_admin"},
    Perm.AUDIT_READ: {"city_admin", "auditor"},
    Perm.CASES_APPLY: COMMUNITY_UP,
    Perm.CASES_INVESTIGATE: COMMUNITY_UP,
    Perm.CASES_REVIEW: TOWN_UP,
    Perm.CASES_NOTICE: TOWN_UP,
    Perm.CASES_APPROVE: COUNTY_UP,
    Perm.STANDARDS_SET: COUNTY_UP,
    Perm.CYCLES_RUN: COUNTY_UP,
    Perm.CYCLES_APPROVE: COUNTY_UP,
    "supermarkets:manage": COUNTY_UP,
    # children: staff who look after children and the auditor read; the county bureau and the city import.
    "children:read": {"community_worker", "town_officer", "county_officer", "city_admin", "auditor"},
    "children:import": COUNTY_UP,
    "veterans:read": COMMUNITY_UP,
    "veterans:manage": COUNTY_UP,
    "veterans:services": TOWN_UP,
    # Elderly care: the call centre's agents and the city (the supervisor).
    "calls:intake": {"call_agent", "city_admin"},
    "calls:handle": {"call_agent", "city_admin"},
    "calls:supervise": {"city_admin"},
    "care:manage": {"town_officer", "county_officer", "city_admin"},
    # Government-purchased home care: read by staff, the centre and the auditor; orders recorded where the
    # service is arranged; providers contracted by the county and the city.
    "homecare:read": {"community_worker", "town_officer", "county_officer", "city_admin", "call_agent", "auditor"},
    "homecare:record": {"community_worker", "town_officer", "county_officer", "city_admin", "call_agent"},
    "homecare:manage": {"county_officer", "city_admin"},
}


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for throw-away domain packages, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("mx_domain_")]:
        del sys.modules[name]


def _package(root: Path, name: str, domain_py: str) -> str:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("", encoding="utf-8")
    (root / name / "domain.py").write_text(domain_py, encoding="utf-8")
    return name


def test_the_installed_domains_come_in_the_listed_order() -> None:
    assert [d.name for d in installed()] == ["auth", "registry", "programs", "assistance", "children", "veterans",
                                             "eldercare"]
    assert [d.package for d in installed()] == list(domains.INSTALLED)


def test_every_path_an_installed_domain_declares_resolves_to_what_its_face_needs() -> None:
    for domain in installed():
        for path in domain.web:
            module = resolve(path)
            assert isinstance(module, ModuleType)
            assert any(hasattr(module, attr) for attr in ("router", "public_router", "NAV", "MESSAGES")), path
        for path in domain.api:
            assert hasattr(resolve(path), "router"), path
        for path in domain.cli:
            assert callable(resolve(f"{path}:register")), path
        for path in domain.models:
            assert isinstance(resolve(path), ModuleType), path
        for path in (*domain.init, *domain.stats, *domain.indicators):
            assert callable(resolve(path)), path
        for path in domain.calculators:  # a module that registers its calculator on import
            assert hasattr(resolve(path), "CALCULATOR"), path


def test_the_permission_table_gives_each_role_what_it_held_before() -> None:
    table = permission_table()
    holders = {perm: {role for role, perms in table.items() if perm in perms} for perm in EXPECTED_HOLDERS}
    assert holders == EXPECTED_HOLDERS
    assert set().union(*table.values()) == set(EXPECTED_HOLDERS)  # no permission nobody expected


def test_a_user_holds_a_permission_through_the_role_table_only(session: Session, county_officer: User,
                                                               auditor: User) -> None:
    assert has_perm(county_officer, "supermarkets:manage") and not has_perm(auditor, "supermarkets:manage")
    assert has_perm(auditor, Perm.AUDIT_READ) and not has_perm(county_officer, Perm.AUDIT_READ)
    county_officer.is_active = False
    assert not has_perm(county_officer, Perm.CASES_APPLY)  # a disabled account holds nothing


def test_a_domain_in_the_list_that_fails_to_import_fails_loudly(scratch: Path) -> None:
    name = _package(scratch, "mx_domain_broken", "import mx_no_such_dependency\n")
    with pytest.raises(ModuleNotFoundError, match="mx_no_such_dependency"):
        load((*domains.INSTALLED, name))
    with pytest.raises(ModuleNotFoundError, match="mx_domain_absent"):
        load((*domains.INSTALLED, "mx_domain_absent"))


def test_a_package_without_a_descriptor_is_refused_by_name(scratch: Path) -> None:
    name = _package(scratch, "mx_domain_bare", "DOMAIN = {'name': 'bare'}\n")
    with pytest.raises(DomainError, match=r"mx_domain_bare\.domain must define DOMAIN"):
        load((name,))


def test_two_domains_may_not_declare_one_permission_or_grant_an_unknown_role(scratch: Path) -> None:
    grant = 'from minxin.domains import Domain, Permission\nDOMAIN = Domain(name="{n}", label="x", ' \
            'permissions=(Permission("x:read", roles=("{role}",)),))\n'
    first = _package(scratch, "mx_domain_first", grant.format(n="first", role="auditor"))
    second = _package(scratch, "mx_domain_second", grant.format(n="second", role="auditor"))
    with pytest.raises(DomainError, match="x:read is declared by both first and second"):
        load((first, second))
    kingly = _package(scratch, "mx_domain_king", grant.format(n="king", role="king"))
    with pytest.raises(DomainError, match=r"unknown roles \['king'\]"):
        load((kingly,))


def test_a_path_to_a_missing_function_names_the_path() -> None:
    with pytest.raises(DomainError, match=r"minxin\.stats has no 'no_such_provider'"):
        resolve("minxin.stats:no_such_provider")


def test_a_descriptor_is_data_and_the_installed_domains_bring_every_calculator_the_policy_names() -> None:
    from minxin.domains import calculator_modules
    from minxin.programs.calculator import registered
    from minxin.programs.policy import load_policy

    bare = Domain(name="x", label="测试", permissions=(Permission("x:read", roles=("auditor",)),))
    assert bare.web == bare.cli == bare.calculators == bare.indicators == ()
    assert "minxin.assistance.dibao.calculator" in calculator_modules()
    assert {p.calculator for p in load_policy().programs.values()} <= set(registered())


def test_the_model_registry_holds_every_installed_domains_tables() -> None:
    import minxin.infra.models  # noqa: F401 - imports every domain's models

    for table in ("users", "regions", "households", "cases", "charity_supermarkets", "medical_records"):
        assert table in Base.metadata.tables, table


def test_stats_gathers_every_domains_counts_in_domain_order(session: Session) -> None:
    keys = list(city_stats(session))
    assert keys[:4] == ["persons", "households", "users", "regions"]  # the registry's, first
    assert "cycles" in keys and keys.index("cycles") > 3  # then the engine's


def test_the_command_line_has_every_installed_domains_commands() -> None:
    from minxin.cli import app

    text = CliRunner().invoke(app, ["--help"], terminal_width=200).output
    for command in ("standard", "cycle", "case", "institution", "premium", "supermarket", "medical", "report"):
        assert f" {command} " in text, command


def test_a_domain_declares_the_background_tasks_a_server_keeps_going() -> None:
    from minxin.domains import background_tasks
    from minxin.eldercare.tasks import escalation_loop

    assert escalation_loop in background_tasks()
