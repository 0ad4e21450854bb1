"""Social assistance (社会救助): 五保, premium subsidies, care institutions, medical assistance, charity
supermarkets and low-income tracking, all on the benefit engine (see `minxin.domains`).

One descriptor for the whole of assistance rather than one per sub-package: the sub-programs share
one menu drop-down (社会救助), one template folder (`assistance/templates/`) and the engine's case
permissions, and a bureau installs social assistance as a whole. A sub-package that grows its own
permissions declares them here, as the supermarkets do.
"""

from __future__ import annotations

from enum import StrEnum

from minxin.domains import Domain, Permission


class AssistancePerm(StrEnum):
    """Permissions social assistance adds to the platform's."""

    SUPERMARKETS_MANAGE = "supermarkets:manage"  # add supermarkets, book donations and distributions


DOMAIN = Domain(
    name="assistance",
    label="社会救助",
    # Menu order: 五保, premiums, institutions, supermarkets, medical, low income.
    web=(
        "minxin.assistance.views",
        "minxin.assistance.wubao.messages",
        "minxin.assistance.wubao.views",
        "minxin.assistance.premiums.messages",
        "minxin.assistance.premiums.views",
        "minxin.assistance.institutions.messages",
        "minxin.assistance.institutions.views",
        "minxin.assistance.supermarkets.views",
        "minxin.assistance.medical.views",
        "minxin.assistance.lowincome.views",
        "minxin.assistance.statistics.views",
    ),
    cli=(
        "minxin.assistance.institutions.cli",
        "minxin.assistance.premiums.cli",
        "minxin.assistance.wubao.cli",
        "minxin.assistance.supermarkets.cli",
        "minxin.assistance.lowincome.cli",
        "minxin.assistance.medical.cli",
    ),
    models=("minxin.assistance.medical.models", "minxin.assistance.supermarkets.models",
            "minxin.assistance.statistics.models"),
    permissions=(
        # Supermarkets are run by the county bureaus and the city.
        Permission(AssistancePerm.SUPERMARKETS_MANAGE, roles=("county_officer", "city_admin")),
    ),
    menu_group="nav.group.assistance",
    # The payment rules of 低保, 五保 and medical assistance (the engine finds them by the policy's name).
    calculators=(
        "minxin.assistance.dibao.calculator",
        "minxin.assistance.wubao.calculator",
        "minxin.assistance.medical.calculator",
    ),
)
