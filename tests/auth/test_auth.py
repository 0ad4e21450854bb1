"""Accounts: argon2 passwords, lockout after repeated failures, API tokens, roles and scopes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import TEST_PASSWORD
from minxin.auth.models import ApiToken, AuditEvent
from minxin.auth.service import (
    LoginFailed,
    Perm,
    add_user,
    authenticate,
    can_see,
    create_token,
    ensure_system_user,
    has_perm,
    revoke_token,
    user_for_token,
)
from minxin.core.errors import Forbidden, ValidationError
from minxin.db import utcnow


def test_passwords_are_stored_as_argon2_hashes(session, city_admin):
    user = add_user(session, actor=city_admin, username="li.clerk", password="Secret123", role="community_worker",
                    scope_code="320706006001")
    assert user.password_hash.startswith("$argon2")
    assert "Secret123" not in user.password_hash
    assert authenticate(session, username="li.clerk", password="Secret123").id == user.id


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"role": "king"}, "role"),
    ({"scope_code": "999999"}, "scope"),
    ({"password": "short1"}, "password"),
    ({"password": "onlyletters"}, "password"),
    ({"role": "auditor", "scope_code": "320706"}, "scope"),
])
def test_bad_accounts_are_refused_naming_the_field(session, city_admin, kwargs, field):
    args = {"username": "x", "password": "Secret123", "role": "county_officer", "scope_code": "320706"} | kwargs
    with pytest.raises(ValidationError) as exc:
        add_user(session, actor=city_admin, **args)
    assert exc.value.field == field


def test_only_the_city_admin_adds_users(session, county_officer):
    with pytest.raises(Forbidden):
        add_user(session, actor=county_officer, username="x", password="Secret123", role="community_worker",
                 scope_code="320706006001")


def test_an_account_locks_after_repeated_failures_and_unlocks_in_time(session, county_officer):
    for _ in range(4):
        with pytest.raises(LoginFailed, match="用户名或密码错误"):
            authenticate(session, username=county_officer.username, password="wrong-password")
    with pytest.raises(LoginFailed, match="锁定"):
        authenticate(session, username=county_officer.username, password="wrong-password")
    with pytest.raises(LoginFailed, match="锁定"):
        authenticate(session, username=county_officer.username, password=TEST_PASSWORD)
    later = utcnow() + timedelta(minutes=16)
    assert authenticate(session, username=county_officer.username, password=TEST_PASSWORD, now=later)
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.actor == county_officer.username)).scalars()
    assert "user.locked" in list(actions)


def test_the_system_account_can_never_log_in(session):
    ensure_system_user(session)
    with pytest.raises(LoginFailed):
        authenticate(session, username="system", password="")


def test_tokens_authenticate_until_revoked_and_only_a_hash_is_kept(session, city_admin, county_officer):
    plain = create_token(session, actor=city_admin, user=county_officer)
    assert user_for_token(session, plain).id == county_officer.id
    stored = session.execute(select(ApiToken).where(ApiToken.user_id == county_officer.id)).scalar_one()
    assert plain not in (stored.token_hash, stored.prefix)
    assert user_for_token(session, plain + "x") is None
    revoke_token(session, actor=city_admin, token_id_or_prefix=plain[:10])
    assert user_for_token(session, plain) is None


def test_roles_hold_their_permissions(session, community_worker, auditor, call_agent, county_officer):
    assert has_perm(community_worker, Perm.REGISTRY_IMPORT)
    assert not has_perm(auditor, Perm.REGISTRY_WRITE) and has_perm(auditor, Perm.AUDIT_READ)
    assert not has_perm(call_agent, Perm.PII_VIEW)
    assert has_perm(county_officer, Perm.CASES_APPROVE) and not has_perm(community_worker, Perm.CASES_APPROVE)


def test_scope_is_a_region_prefix(session, county_officer, community_worker, city_admin):
    assert can_see(county_officer, "320706006001")
    assert not can_see(county_officer, "320707100001")
    assert can_see(community_worker, "320706006001") and not can_see(community_worker, "320706006002")
    assert can_see(city_admin, "320724100001")
