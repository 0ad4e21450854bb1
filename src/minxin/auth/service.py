"""Users, roles and scopes, passwords, login lockout, API tokens, web sessions."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import ROLES, ApiToken, User, WebSession
from minxin.core.divisions import covers, scope_prefix
from minxin.core.errors import Forbidden, NotFound, ValidationError
from minxin.db import utcnow
from minxin.domains import permission_table
from minxin.regions import Region
from minxin.settings import get_settings

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
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, actor=actor.username, action="user.password", entity="user", entity_id=user.id)


class LoginFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def authenticate(session: Session, *, username: str, password: str, now: datetime | None = None) -> User:
    """Check a password; count failures and lock the account after too many. Raises LoginFailed.

    The caller must commit even on failure, so the failure count is kept.
    """
    settings = get_settings()
    now = now or utcnow()
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    generic = "用户名或密码错误"
    if user is None or user.is_system or not user.is_active or not user.password_hash:
        _hasher_dummy_verify(password)
        raise LoginFailed(generic)
    if user.locked_until and user.locked_until > now:
        minutes = int((user.locked_until - now).total_seconds() // 60) + 1
        raise LoginFailed(f"连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        detail: dict[str, Any] = {"failures": user.failed_logins}
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            detail["locked_until"] = user.locked_until.isoformat()
            audit.record(session, actor=user.username, action="user.locked", entity="user",
                         entity_id=user.id, detail=detail)
            raise LoginFailed(
                f"连续登录失败次数过多，账号已锁定 {settings.login_lockout_minutes} 分钟"
            ) from None
        audit.record(session, actor=user.username, action="user.login_failed", entity="user",
                     entity_id=user.id, detail=detail)
        raise LoginFailed(generic) from None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, actor=user.username, action="user.login", entity="user", entity_id=user.id)
    return user


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


def user_for_token(session: Session, plain: str) -> User | None:
    token = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _sha256(plain), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
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
