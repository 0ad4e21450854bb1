"""Who am I: the API caller's account, role, scope and permissions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import ROLE_NAMES, role_perms
from minxin.web.deps import api_user, get_session, scope_label

router = APIRouter(tags=["auth"])


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_name: str
    scope_code: str
    scope_name: str
    permissions: list[str]


@router.get("/me", response_model=MeOut, summary="The calling user")
def me(request: Request, user: User = Depends(api_user), session: Session = Depends(get_session)) -> MeOut:
    return MeOut(
        username=user.username, display_name=user.display_name, role=user.role,
        role_name=ROLE_NAMES.get(user.role, user.role), scope_code=user.scope_code,
        scope_name=scope_label(request, session, user.scope_code),
        permissions=sorted(role_perms(user.role)),
    )
