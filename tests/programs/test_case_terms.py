"""One check for every new case, whatever the face: eligibility, category, institution.

The API once opened a 五保 case with no category for an urban 64-year-old; the apply service (pages and
API), the spreadsheet import and the pure rule now answer alike.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from tests.factories import household

from minxin.core.errors import ValidationError
from minxin.infra.clock import today
from minxin.programs.eligibility import Beneficiary, check_case_terms
from minxin.programs.models import Case
from minxin.programs.service import apply, program_policy
from minxin.registry.service import add_institution

RURAL = "320706100201"  # a village of 锦屏镇, 海州区
ON = date(2012, 6, 1)


def _person(*, age: int, hukou: str = "农村", disability: int | None = None, region: str = RURAL) -> Beneficiary:
    return Beneficiary(birth_date=date(ON.year - age, 1, 1), disability_grade=disability, hukou=hukou,
                       region_code=region)


def _refusal(program: str, **kwargs) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    kwargs.setdefault("institution_region", None)
    kwargs.setdefault("on", ON)
    with pytest.raises(ValidationError) as exc:
        check_case_terms(program_policy(program), **kwargs)
    return exc.value.field, exc.value.message


# ---- the rule ------------------------------------------------------------------------------------

def test_an_urban_64_year_old_is_no_wubao_case_whatever_the_category():
    for category in (None, "", "分散", "集中"):
        field, message = _refusal("wubao", category=category, beneficiary=_person(age=64, hukou="城镇"))
        assert field == "eligibility" and "农村" in message


def test_a_wubao_case_needs_its_category():
    assert _refusal("wubao", category="", beneficiary=_person(age=70)) == (
        "category", "请填写类别：集中/分散 (category required)")
    assert _refusal("wubao", category="城镇", beneficiary=_person(age=70))[0] == "category"
    assert check_case_terms(program_policy("wubao"), category="分散", institution_region=None,
                            beneficiary=_person(age=70), on=ON) == "分散"


def test_centralized_support_needs_an_institution_of_the_persons_county():
    assert _refusal("wubao", category="集中", beneficiary=_person(age=70))[0] == "institution"
    field, message = _refusal("wubao", category="集中", institution_region="320707100", beneficiary=_person(age=70))
    assert field == "institution" and "县区" in message
    assert check_case_terms(program_policy("wubao"), category="集中", institution_region="320706100",
                            beneficiary=_person(age=70), on=ON) == "集中"
    assert _refusal("wubao", category="分散", institution_region="320706100", beneficiary=_person(age=70))[0] == \
        "institution"


def test_dibao_takes_the_category_of_the_household_hukou():
    policy = program_policy("dibao")
    assert check_case_terms(policy, category=None, institution_region=None, beneficiary=_person(age=30),
                            on=ON) == "农村"
    assert check_case_terms(policy, category="城镇", institution_region=None,
                            beneficiary=_person(age=30, hukou="城镇"), on=ON) == "城镇"
    field, message = _refusal("dibao", category="城镇", beneficiary=_person(age=30, hukou="农村"))
    assert field == "category" and "户籍类别" in message


def test_a_program_without_categories_takes_none():
    assert _refusal("medical", category="集中", beneficiary=_person(age=30))[0] == "category"
    assert check_case_terms(program_policy("medical"), category="", institution_region=None,
                            beneficiary=_person(age=30), on=ON) == ""


def test_without_the_person_only_what_needs_no_person_is_checked():
    assert check_case_terms(program_policy("wubao"), category="分散", institution_region=None, beneficiary=None,
                            on=ON) == "分散"
    assert _refusal("wubao", category="", beneficiary=None)[0] == "category"


# ---- the apply service (pages and API) ---------------------------------------------------------------

def _urban_64(session, actor):  # type: ignore[no-untyped-def]
    h = household(session, actor, members=1, hukou="城镇")
    head = h.members[0]
    head.birth_date = today().replace(year=today().year - 64, day=1)
    session.flush()
    return h


def _rural_70(session, actor):  # type: ignore[no-untyped-def]
    h = household(session, actor, members=1, hukou="农村", community=RURAL)
    h.members[0].birth_date = date(today().year - 70, 1, 1)
    session.flush()
    return h


def _cases(session) -> int:  # type: ignore[no-untyped-def]
    return session.execute(select(func.count()).select_from(Case).where(Case.program_code == "wubao")).scalar_one()


def test_applying_for_wubao_for_an_urban_64_year_old_is_refused_and_nothing_stored(session, county_officer):
    h = _urban_64(session, county_officer)
    before = _cases(session)
    for category in (None, "分散"):
        with pytest.raises(ValidationError) as exc:
            apply(session, actor=county_officer, program="wubao", household_id=h.id, category=category)
        assert exc.value.field == "household_id" and "农村" in exc.value.message
    assert _cases(session) == before


def test_a_wubao_application_without_a_category_is_refused(session, county_officer):
    h = _rural_70(session, county_officer)
    with pytest.raises(ValidationError) as exc:
        apply(session, actor=county_officer, program="wubao", household_id=h.id)
    assert exc.value.field == "category"


def test_a_centralized_application_names_its_institution_and_is_paid_there(session, county_officer,
                                                                           other_county_officer):
    home = add_institution(session, actor=county_officer, name="锦屏镇敬老院", region_code="320706100",
                           bank_account="320706100000000001")
    elsewhere = add_institution(session, actor=other_county_officer, name="赣榆敬老院", region_code="320707100")
    h = _rural_70(session, county_officer)
    with pytest.raises(ValidationError) as exc:
        apply(session, actor=county_officer, program="wubao", household_id=h.id, category="集中")
    assert exc.value.field == "institution_id"
    with pytest.raises(ValidationError, match="县区"):
        apply(session, actor=county_officer, program="wubao", household_id=h.id, category="集中",
              institution_id=elsewhere.id)
    with pytest.raises(ValidationError, match="不存在"):
        apply(session, actor=county_officer, program="wubao", household_id=h.id, category="集中",
              institution_id=2**40)
    case = apply(session, actor=county_officer, program="wubao", household_id=h.id, category="集中",
                 institution_id=home.id)
    assert (case.category, case.institution_id, case.bank_account) == ("集中", home.id, "320706100000000001")


def test_a_dibao_application_still_takes_the_hukou_category(session, community_worker):
    h = household(session, community_worker, members=2)
    case = apply(session, actor=community_worker, program="dibao", household_id=h.id)
    assert case.category == "城镇"
    with pytest.raises(ValidationError, match="户籍类别"):
        apply(session, actor=community_worker, program="dibao",
              household_id=household(session, community_worker, members=1).id, category="农村")


def test_an_application_reason_keeps_its_limit_and_its_line_breaks(session, community_worker):
    h = household(session, community_worker, members=1)
    with pytest.raises(ValidationError, match="申请说明过长"):
        apply(session, actor=community_worker, program="dibao", household_id=h.id, reason="说" * 2001)
    with pytest.raises(ValidationError, match="文字方向"):
        apply(session, actor=community_worker, program="dibao", household_id=h.id, reason="说明\u202e")
    case = apply(session, actor=community_worker, program="dibao", household_id=h.id, reason="第一行\n第二行")
    assert case.events[0].reason == "第一行\n第二行"
