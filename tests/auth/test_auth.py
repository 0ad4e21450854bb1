"""Accounts: argon2 passwords, login throttling by address and name, API tokens, roles and scopes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import TEST_PASSWORD
from minxin.auth.models import ApiToken, AuditEvent, LoginThrottle
from minxin.auth.service import (
    LOGIN_NAME_MAX_WAIT,
    LoginFailed,
    Perm,
    add_user,
    address_key,
    authenticate,
    can_see,
    clear_login_throttle,
    create_token,
    ensure_system_user,
    has_perm,
    login_wait,
    revoke_token,
    user_for_token,
)
from minxin.core.errors import Forbidden, ValidationError
from minxin.infra.db import utcnow


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


def _fail(session, username: str, at, *, address: str | None = "10.0.0.1", match: str = "用户名或密码错误") -> None:
    with pytest.raises(LoginFailed, match=match):
        authenticate(session, username=username, password="wrong-password", address=address, now=at)


def test_failures_beyond_the_limit_make_each_next_try_wait_longer(session, county_officer):
    t0 = utcnow()
    for _ in range(5):  # MINXIN_LOGIN_MAX_FAILURES: the fifth failure starts the wait
        _fail(session, county_officer.username, t0)
    with pytest.raises(LoginFailed, match="登录尝试过于频繁，请 1 秒后再试") as refused:
        authenticate(session, username=county_officer.username, password=TEST_PASSWORD, address="10.0.0.1", now=t0)
    assert refused.value.retry_after == 1
    _fail(session, county_officer.username, t0 + timedelta(seconds=1))  # sixth: now 2 s
    _fail(session, county_officer.username, t0 + timedelta(seconds=1.5), match="请 2 秒后再试")
    user = authenticate(session, username=county_officer.username, password=TEST_PASSWORD, address="10.0.0.1",
                        now=t0 + timedelta(seconds=3))
    assert user.id == county_officer.id
    assert login_wait(session, username=county_officer.username, now=t0 + timedelta(seconds=3)) is None
    failed = session.execute(select(AuditEvent.detail).where(AuditEvent.actor == county_officer.username,
                                                             AuditEvent.action == "user.login_failed")).scalars().all()
    assert len(failed) == 6 and '"address": "10.0.0.1"' in failed[-1]


def test_hammering_a_name_from_one_address_slows_the_address_for_up_to_the_lockout_not_the_name(
    session, city_admin,
):
    at = utcnow()
    for _ in range(16):  # 2 ** (16 - 5) s > 15 minutes
        row = session.get(LoginThrottle, "addr:203.0.113.9")
        if row is not None and row.next_allowed_at > at:
            at = row.next_allowed_at
        _fail(session, city_admin.username, at, address="203.0.113.9")
    address_wait = session.get(LoginThrottle, "addr:203.0.113.9").next_allowed_at - at
    assert address_wait == timedelta(minutes=15)  # MINXIN_LOGIN_LOCKOUT_MINUTES
    assert login_wait(session, username=city_admin.username, now=at) is None
    assert authenticate(session, username=city_admin.username, password=TEST_PASSWORD, address="198.51.100.7",
                        now=at).id == city_admin.id
    _fail(session, city_admin.username, at + timedelta(minutes=1), address="203.0.113.9", match="频繁")


def test_failures_from_many_addresses_make_a_name_wait_never_longer_than_the_short_cap(session, city_admin):
    at = utcnow()
    for i in range(16):
        wait = login_wait(session, username=city_admin.username, now=at)
        at = max(at, wait or at)
        _fail(session, city_admin.username, at, address=f"192.0.2.{i}")
    name_wait = session.get(LoginThrottle, f"name:{city_admin.username}").next_allowed_at - at
    assert name_wait == timedelta(seconds=LOGIN_NAME_MAX_WAIT)
    _fail(session, city_admin.username, at, address="198.51.100.7", match=f"请 {LOGIN_NAME_MAX_WAIT} 秒后再试")
    later = at + timedelta(seconds=LOGIN_NAME_MAX_WAIT)
    assert authenticate(session, username=city_admin.username, password=TEST_PASSWORD, address="198.51.100.7",
                        now=later).id == city_admin.id


def test_unknown_and_known_names_are_counted_and_refused_alike(session, county_officer):
    at = utcnow()
    for name in (county_officer.username, "nobody_here"):
        for i in range(5):
            _fail(session, name, at, address=f"10.1.0.{i}")
        with pytest.raises(LoginFailed) as refused:
            authenticate(session, username=name, password="wrong-password", address="10.2.0.1", now=at)
        assert refused.value.message == "登录尝试过于频繁，请 1 秒后再试"


@pytest.mark.parametrize("name", ["ad\x00min", "x" * 5000, " ", "王" * 70, "admin'--"])
def test_a_hostile_user_name_is_refused_like_any_wrong_one(session, city_admin, name):
    with pytest.raises(LoginFailed, match=r"^用户名或密码错误$"):
        authenticate(session, username=name, password="wrong-password", address="10.9.0.1")


def test_an_ipv6_client_is_counted_by_its_64_bit_prefix():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "addr:2001:db8:1:2::/64"
    assert address_key("::ffff:10.0.0.1") == address_key("10.0.0.1") == "addr:10.0.0.1"
    assert address_key(None) is None


def test_unlock_ends_the_wait_of_a_user_name(session, county_officer, city_admin):
    at = utcnow()
    for i in range(5):
        _fail(session, county_officer.username, at, address=f"10.3.0.{i}")
    assert login_wait(session, username=county_officer.username, now=at) is not None
    clear_login_throttle(session, actor=city_admin, username=county_officer.username)
    assert login_wait(session, username=county_officer.username, now=at) is None
    assert authenticate(session, username=county_officer.username, password=TEST_PASSWORD, address="10.4.0.1",
                        now=at).id == county_officer.id


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
