"""Eldercare fixtures: a home-care provider (elderly people come from tests/factories.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from minxin.eldercare.models import ServiceProvider


@pytest.fixture
def provider(session: Session) -> ServiceProvider:
    p = ServiceProvider(name="海州区居家养老服务中心", county_code="320706", phone="051800000", is_active=True)
    session.add(p)
    session.flush()
    return p
