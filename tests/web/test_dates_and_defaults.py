"""Pages open on defaults taken from the data, and a cut-off in the future is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import active_case, household
from tests.web.conftest import logged_in

from minxin.auth.models import User
from minxin.core.errors import ValidationError
from minxin.infra.clock import today
from minxin.programs.models import Case
from minxin.programs.service import overdue_preview, suspend_overdue
from minxin.registry.service import declare_income


def test_the_low_income_report_opens_without_parameters_on_the_years_that_have_data(
        client: TestClient, session: Session, county_officer: User) -> None:
    h = household(session, county_officer, members=2)
    for year, yuan in ((2011, 800), (2012, 1000)):
        declare_income(session, actor=county_officer, household_id=h.id, monthly_income_fen=yuan * 100,
                       declared_on=today().replace(year=year, month=6, day=1))
    logged_in(client, county_officer)
    page = client.get("/reports/low-income")
    assert page.status_code == 200, page.text[:500]
    assert 'name="base_year"' in page.text and 'value="2011"' in page.text
    assert client.get("/reports/low-income.xlsx").status_code == 200


def test_the_overdue_preview_opens_without_parameters_on_today(client: TestClient, county_officer: User) -> None:
    logged_in(client, county_officer)
    page = client.get("/cases/suspend-overdue")
    assert page.status_code == 200, page.text[:500]


def test_a_cut_off_in_the_future_is_refused(session: Session, county_officer: User) -> None:
    case = active_case(session, household(session, county_officer))
    case.next_review_due = today()  # due today: not overdue yet
    session.flush()
    tomorrow = today() + timedelta(days=1)
    with pytest.raises(ValidationError, match="晚于今天"):
        overdue_preview(session, user=county_officer, program="dibao", overdue_before=tomorrow)
    with pytest.raises(ValidationError, match="晚于今天"):
        suspend_overdue(session, actor=county_officer, program="dibao", overdue_before=tomorrow)
    assert session.execute(select(func.count()).select_from(Case).where(Case.status == "suspended")).scalar_one() == 0
    assert suspend_overdue(session, actor=county_officer, program="dibao", overdue_before=today()) == 0


def test_the_page_refuses_a_future_cut_off_with_a_clear_message(client: TestClient, county_officer: User) -> None:
    token = logged_in(client, county_officer)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    preview = client.get(f"/cases/suspend-overdue?program=dibao&before={tomorrow}")
    assert preview.status_code == 422 and "晚于今天" in preview.text
    posted = client.post("/cases/suspend-overdue", data={"csrf_token": token, "program": "dibao", "before": tomorrow})
    assert posted.status_code == 422 and "晚于今天" in posted.text
