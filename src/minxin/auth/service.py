"""Users, roles and scopes, passwords, login throttling, API tokens, web sessions."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Select, bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from minxin.auth import audit
from minxin.auth.models import ROLES, ApiToken, LoginThrottle, User, WebSession
from minxin.core.divisions import covers, scope_prefix
from minxin.core.errors import Forbidden, NotFound, ValidationError
from minxin.domains import permission_table
from minxin.infra.db import utcnow
from minxin.infra.settings import get_settings
from minxin.regions import Region

SYSTEM_USERNAME = "system"
# Roles whose work is the whole city: an account of one must have the city as its scope. (What a role
# may do is the permission table's business, `minxin.domains.permission_table`, never a role name.)
CITY_WIDE_ROLES = frozenset({"city_admin", "call_agent", "auditor"})

ROLE_NAMES = {
    "community_worker": "社区专干",
    "town_officer": "街道/乡镇",
    "county_officer": "县区民政局",
    "city_admin": "市民政局",
    "call_agent": "呼叫坐席",
    "auditor": "审计",
}


class Perm(StrEnum):
    """The platform's permissions, named resource:action.

    Which roles hold each one is declared by the domain that owns it (its `domain.py`, e.g. the
    registry's for REGISTRY_*, the engine's for CASES_*); `minxin.domains.permission_table()` gathers
    them. A new domain may name its own permissions in its own StrEnum (see
    `minxin.assistance.domain.AssistancePerm`): a permission is any `resource:action` string.
    """

    REGISTRY_READ = "registry:read"
    REGISTRY_WRITE = "registry:write"
    REGISTRY_IMPORT = "registry:import"
    PII_VIEW = "pii:view"  # may reveal an unmasked ID number (audited)
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    CASES_APPLY = "cases:apply"
    CASES_INVESTIGATE = "cases:investigate"
    CASES_REVIEW = "cases:review"
    CASES_NOTICE = "cases:notice"
    CASES_APPROVE = "cases:approve"
    STANDARDS_SET = "standards:set"
    CYCLES_RUN = "cycles:run"
    CYCLES_APPROVE = "cycles:approve"


def role_perms(role: str) -> frozenset[str]:
    """The permissions a role holds, from the installed domains' declarations."""
    return permission_table().get(role, frozenset())


_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def has_perm(user: User, perm: str) -> bool:
    """Whether the user's role holds the permission: the only way access is decided by role."""
    return user.is_active and perm in role_perms(user.role)


def require(user: User, perm: str) -> None:
    """Raise Forbidden unless the user's role holds the permission."""
    if not has_perm(user, perm):
        raise Forbidden(f"当前角色（{ROLE_NAMES.get(user.role, user.role)}）无此权限 (not permitted: {perm})")


def can_see(user: User, region_code: str | None) -> bool:
    return region_code is not None and covers(user.scope_code, region_code)


S = TypeVar("S", bound=Select[*tuple[Any, ...]])  # a select of any columns


def scoped(stmt: S, user: User, region_column: ColumnElement[Any] | Any) -> S:
    """The one place lists are narrowed to the user's region: code starts with the scope prefix."""
    prefix = scope_prefix(user.scope_code)
    return stmt.where(region_column.like(prefix + "%"))


# ---- passwords and users -------------------------------------------------------------------------

def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"密码至少 {MIN_PASSWORD_LENGTH} 位 (password too short)", field="password")
    if password.isdigit() or password.isalpha():
        raise ValidationError("密码须同时包含字母和数字 (use letters and digits)", field="password")


def display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """username → the name people are shown by (姓名/display name; the username when it has none)."""
    names = {u for u in usernames if u}
    if not names:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(names)))
    return {u: d or u for u, d in rows}


def get_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"用户不存在：{username} (no such user)", field="username")
    return user


def ensure_system_user(session: Session) -> User:
    """The built-in actor for unattended commands. It holds city scope and can never log in."""
    user = session.execute(select(User).where(User.username == SYSTEM_USERNAME)).scalar_one_or_none()
    if user is None:
        user = User(
            username=SYSTEM_USERNAME, display_name="系统", role="city_admin",
            scope_code=get_settings().city_code, password_hash=None, is_system=True,
        )
        session.add(user)
        session.flush()
    return user


def add_user(
    session: Session, *, actor: User, username: str, password: str, role: str, scope_code: str,
    display_name: str | None = None,
) -> User:
    """Create a staff account (argon2 hash); refuse unknown roles, regions and weak passwords."""
    if not has_perm(actor, Perm.USERS_MANAGE):
        raise Forbidden("只有市民政局管理员可以添加用户 (only city_admin may add users)")
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        raise ValidationError("用户名只能包含字母、数字、下划线和点 (bad username)", field="username")
    if role not in ROLES:
        raise ValidationError(f"未知角色：{role}；可选：{', '.join(ROLES)} (unknown role)", field="role")
    if session.get(Region, scope_code) is None:
        raise ValidationError(f"未知区划代码：{scope_code} (unknown region)", field="scope")
    if role in CITY_WIDE_ROLES and not covers(scope_code, get_settings().city_code):
        raise ValidationError(f"角色 {role} 的范围必须是全市 (scope must be the city)", field="scope")
    check_password_strength(password)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ValidationError(f"用户名已存在：{username} (username taken)", field="username")
    user = User(
        username=username, display_name=display_name or username, role=role, scope_code=scope_code,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor.username, action="user.add", entity="user", entity_id=user.id,
                 region_code=scope_code, detail={"username": username, "role": role, "scope": scope_code})
    return user


def set_password(session: Session, *, actor: User, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == name_key(user.username)))
    audit.record(session, actor=actor.username, action="user.password", entity="user", entity_id=user.id)


# ---- login: throttled, the password hashed outside any write lock ---------------------------------

GENERIC_LOGIN_FAILURE = "用户名或密码错误"
# The longest wait failures for one user name can impose, in seconds. Short on purpose: anyone may
# type `admin`, so the name alone must never lock its owner out; the client address carries the
# long waits (up to MINXIN_LOGIN_LOCKOUT_MINUTES).
LOGIN_NAME_MAX_WAIT = 10
_PURGE_ONE_IN = 64


class LoginFailed(Exception):
    """A refused login; `retry_after` (seconds) when refused by the throttle, without a password check."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def address_key(host: str | None) -> str | None:
    """`addr:<client address>`; an IPv6 client by its /64 (one host is given a whole /64)."""
    if not host:
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "addr:" + host[:120]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "addr:" + str(ip.ipv4_mapped)
        return "addr:" + str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return "addr:" + str(ip)


def _typed_name(username: str) -> str:
    """The name as typed, stripped; NUL (which PostgreSQL text cannot hold) becomes U+FFFD, which no
    user name contains."""
    return username.strip().replace("\x00", "\ufffd")


def name_key(username: str) -> str:
    """`name:<user name>`, the same for known and unknown names (no enumeration through the throttle)."""
    return "name:" + _typed_name(username)[:128]


def throttle_wait(failures: int, *, cap_seconds: float) -> timedelta:
    """The wait after `failures` failures in a row: none below MINXIN_LOGIN_MAX_FAILURES, then 1 s,
    2 s, 4 s … doubling, never more than the cap."""
    over = failures - get_settings().login_max_failures
    if over < 0:
        return timedelta(0)
    return timedelta(seconds=min(cap_seconds, 2.0 ** min(over, 30)))


def _failures_now(row: LoginThrottle, now: datetime, window: timedelta) -> int:
    """The row's count, or 0 once it has been quiet for the window after its wait ended."""
    return 0 if now - row.next_allowed_at > window else row.failures


def _cap_seconds(key: str) -> float:
    lockout = get_settings().login_lockout_minutes * 60
    return float(min(LOGIN_NAME_MAX_WAIT, lockout) if key.startswith("name:") else lockout)


@dataclass(frozen=True)
class _Claim:
    key: str
    before: datetime  # next_allowed_at before this attempt claimed it (restored on success)
    claimed: datetime  # next_allowed_at this attempt set


@dataclass(frozen=True)
class LoginAttempt:
    """An attempt the throttle let through, counted as a failure in advance."""

    username: str
    address: str | None
    user_id: int | None  # None: unknown, disabled or system account (checked against a dummy hash)
    password_hash: str | None
    name_failures: int
    claims: tuple[_Claim, ...]


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    rehash: str | None = None  # a fresh hash when the stored one uses outdated parameters


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _wait_text(seconds: int) -> str:
    return f"{seconds} 秒" if seconds < 60 else f"{(seconds + 59) // 60} 分钟"


def begin_login(session: Session, *, username: str, address: str | None = None,
                now: datetime | None = None) -> LoginAttempt:
    """Step 1 of a login, a short write: refuse while the client's address or the user name must wait;
    otherwise count this attempt as a failure in advance, so a burst of parallel attempts cannot
    outrun the count, and return what the password check needs. Raises LoginFailed (throttled).

    1. Make sure both throttle rows exist, then read them locked (in key order: no deadlock).
    2. A row quiet for MINXIN_LOGIN_LOCKOUT_MINUTES after its wait ended starts again from 0.
    3. Any remaining wait refuses the attempt without looking at the password (cheap for the server).
    4. Otherwise each row counts one more failure and sets its next allowed time; the name's row only
       while the address is still within MINXIN_LOGIN_MAX_FAILURES (see `offender`).
    """
    settings = get_settings()
    now = now or utcnow()
    window = timedelta(minutes=settings.login_lockout_minutes)
    addr = address_key(address)
    keys = sorted({k for k in (addr, name_key(username)) if k})
    insert = _insert(session)
    session.execute(
        insert(LoginThrottle)
        .values([{"key": k, "failures": 0, "last_failure_at": now, "next_allowed_at": now} for k in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = session.execute(
        select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key).with_for_update()
    ).scalars().all()
    wait = max((r.next_allowed_at - now).total_seconds() for r in rows)
    if wait > 0:
        seconds = math.ceil(wait)
        raise LoginFailed(f"登录尝试过于频繁，请 {_wait_text(seconds)}后再试", retry_after=seconds)
    claims = []
    name_failures = 0
    addr_row = next((r for r in rows if r.key == addr), None)
    # An address already past the limit is slowed by its own row; its failures stop counting against
    # the name, so one attacker cannot keep a name waiting and race its owner for every free slot.
    offender = addr_row is not None and _failures_now(addr_row, now, window) >= settings.login_max_failures
    for row in rows:
        if row.key.startswith("name:") and offender:
            name_failures = _failures_now(row, now, window)
            continue
        failures = _failures_now(row, now, window) + 1
        before = row.next_allowed_at
        row.failures = failures
        row.last_failure_at = now
        row.next_allowed_at = now + throttle_wait(failures, cap_seconds=_cap_seconds(row.key))
        claims.append(_Claim(key=row.key, before=before, claimed=row.next_allowed_at))
        if row.key.startswith("name:"):
            name_failures = failures
    if secrets.randbelow(_PURGE_ONE_IN) == 0:
        session.execute(delete(LoginThrottle).where(LoginThrottle.next_allowed_at < now - window))
    user = None
    typed = _typed_name(username)
    if len(typed) <= 64:
        user = session.execute(select(User).where(User.username == typed)).scalar_one_or_none()
    usable = user is not None and not user.is_system and user.is_active and bool(user.password_hash)
    session.flush()
    return LoginAttempt(
        username=typed, address=address, user_id=user.id if usable and user else None,
        password_hash=user.password_hash if usable and user else None, name_failures=name_failures,
        claims=tuple(claims),
    )


def check_password(attempt: LoginAttempt, password: str) -> PasswordCheck:
    """Step 2, no database: argon2 against the account's hash, or against a dummy hash for an unknown
    name, so both take the same time."""
    if attempt.password_hash is None:
        _hasher_dummy_verify(password)
        return PasswordCheck(ok=False)
    try:
        _hasher.verify(attempt.password_hash, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(ok=False)
    rehash = hash_password(password) if _hasher.check_needs_rehash(attempt.password_hash) else None
    return PasswordCheck(ok=True, rehash=rehash)


def finish_login(session: Session, *, attempt: LoginAttempt, check: PasswordCheck) -> User:
    """Step 3, a short write: on success undo this attempt's advance count (the name starts over, the
    address keeps its earlier failures) and return the user; on failure record it and raise LoginFailed."""
    user = session.get(User, attempt.user_id) if attempt.user_id is not None else None
    if user is None or not check.ok:
        if user is not None:
            audit.record(session, actor=user.username, action="user.login_failed", entity="user",
                         entity_id=user.id, detail={"failures": attempt.name_failures, "address": attempt.address})
        raise LoginFailed(GENERIC_LOGIN_FAILURE)
    if user.is_system or not user.is_active or user.password_hash != attempt.password_hash:
        raise LoginFailed(GENERIC_LOGIN_FAILURE)  # changed between the steps
    for claim in attempt.claims:
        row = session.get(LoginThrottle, claim.key, with_for_update=True)
        if row is None:
            continue
        if claim.key.startswith("name:"):
            session.delete(row)
            continue
        row.failures = max(0, row.failures - 1)
        if row.next_allowed_at == claim.claimed:  # nobody failed from there since: as before this attempt
            row.next_allowed_at = claim.before
    if check.rehash:
        user.password_hash = check.rehash
    audit.record(session, actor=user.username, action="user.login", entity="user", entity_id=user.id)
    return user


def authenticate(session: Session, *, username: str, password: str, address: str | None = None,
                 now: datetime | None = None) -> User:
    """The three steps of a login in the caller's one transaction (CLI, tests). Raises LoginFailed;
    the caller must commit even then, so the count is kept. The web login commits between the steps
    instead, so the password hash never runs inside a write transaction."""
    attempt = begin_login(session, username=username, address=address, now=now)
    return finish_login(session, attempt=attempt, check=check_password(attempt, password))


def login_wait(session: Session, *, username: str, now: datetime | None = None) -> datetime | None:
    """When the user name may next try to log in, if it must wait now."""
    row = session.get(LoginThrottle, name_key(username))
    now = now or utcnow()
    return row.next_allowed_at if row is not None and row.next_allowed_at > now else None


def clear_login_throttle(session: Session, *, actor: User, username: str) -> None:
    """`minxin user unlock`: forget the failed logins counted against a user name."""
    user = get_user(session, username)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == name_key(username)))
    audit.record(session, actor=actor.username, action="user.unlock", entity="user", entity_id=user.id)


def _hasher_dummy_verify(password: str) -> None:
    """Spend the same time for unknown users as for a wrong password (no user enumeration)."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---- API tokens ----------------------------------------------------------------------------------

TOKEN_PREFIX = "mx_"  # noqa: S105 - a label, not a secret


def create_token(session: Session, *, actor: User, user: User) -> str:
    """Issue a bearer token; the plain value is returned once and only its hash is kept."""
    if user.is_system:
        raise ValidationError("系统账号不能拥有令牌 (system account cannot hold tokens)", field="username")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=_sha256(plain), prefix=plain[:10])
    session.add(token)
    session.flush()
    audit.record(session, actor=actor.username, action="token.create", entity="api_token",
                 entity_id=token.id, detail={"user": user.username, "prefix": token.prefix})
    return plain


def revoke_token(session: Session, *, actor: User, token_id_or_prefix: str) -> ApiToken:
    stmt = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if token_id_or_prefix.isdigit():
        stmt = stmt.where(ApiToken.id == int(token_id_or_prefix))
    else:
        stmt = stmt.where(ApiToken.prefix == token_id_or_prefix[:10])
    tokens = session.execute(stmt).scalars().all()
    if not tokens:
        raise NotFound(f"没有有效的令牌：{token_id_or_prefix} (no such active token)")
    if len(tokens) > 1:
        raise ValidationError("前缀匹配到多个令牌，请使用编号 (ambiguous prefix; use the id)")
    token = tokens[0]
    token.revoked_at = utcnow()
    audit.record(session, actor=actor.username, action="token.revoke", entity="api_token",
                 entity_id=token.id, detail={"prefix": token.prefix})
    return token


# One query for the token and its user, built once: it runs on every API request, and a revocation
# or a deactivated account takes effect at the next one.
_TOKEN_LOOKUP = (select(ApiToken).options(joinedload(ApiToken.user, innerjoin=True))
                 .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None)))


def user_for_token(session: Session, plain: str) -> User | None:
    token = session.execute(_TOKEN_LOOKUP, {"token_hash": _sha256(plain)}).scalar_one_or_none()
    if token is None or not token.user.is_active:
        return None
    now = utcnow()
    # Stamp at most every few minutes, so read-only requests need not write.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token.user


# ---- web sessions --------------------------------------------------------------------------------

def start_session(session: Session, *, user: User) -> tuple[str, WebSession]:
    key = secrets.token_urlsafe(32)
    ws = WebSession(
        key_hash=_sha256(key), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=get_settings().session_hours),
    )
    session.add(ws)
    session.flush()
    return key, ws


def session_for_key(session: Session, key: str) -> WebSession | None:
    ws = session.execute(select(WebSession).where(WebSession.key_hash == _sha256(key))).scalar_one_or_none()
    if ws is None or ws.expires_at <= utcnow() or not ws.user.is_active:
        return None
    return ws


def end_session(session: Session, key: str) -> None:
    ws = session.execute(select(WebSession).where(WebSession.key_hash == _sha256(key))).scalar_one_or_none()
    if ws is not None:
        audit.record(session, actor=ws.user.username, action="user.logout", entity="user", entity_id=ws.user_id)
        session.delete(ws)
