"""Payment cycles: one program, one month, one county — run, arrears, approval, bank file, history.

The rooms: `run` computes a cycle (and every county's at once), `arrears` the 补发 a back-dated
standard adds, `approval` who may read, approve and pay a cycle, `bankfile` the bank file and the
bank's result file, `history` a case's lines as people read them, `scratch` what every run shares.
"""

from minxin.programs.cycles.approval import (
    CycleActions,
    approve_cycle,
    cycle_actions_for,
    get_cycle,
    get_cycle_for,
    get_cycle_to_pay,
    list_cycles_for,
    may_approve,
    may_read_cycles,
    runners,
    scoped_cycles,
)
from minxin.programs.cycles.arrears import FAST_ARREARS_CYCLES
from minxin.programs.cycles.bankfile import (
    BANK_HEADERS,
    RESULT_FAIL,
    RESULT_OK,
    ReconcileResult,
    bank_file_name,
    download_bank_file,
    export_cycle,
    payment_ref,
    reconcile_cycle,
    result_words_text,
)
from minxin.programs.cycles.history import (
    PaymentItem,
    carried_sources,
    case_payment_items,
    explain_payment,
    items_of_lines,
    payment_items,
    payments_of_case,
)
from minxin.programs.cycles.run import (
    CityRun,
    CycleSummary,
    Progress,
    city_counties,
    county_for_run,
    county_names,
    county_totals,
    run_county_cycles,
    run_cycle,
    runnable_counties_for,
    runs_every_county,
    summarize,
)
from minxin.programs.cycles.scratch import LINE_COLUMNS, county_bounds

__all__ = [
    "BANK_HEADERS", "FAST_ARREARS_CYCLES", "LINE_COLUMNS", "RESULT_FAIL", "RESULT_OK", "CityRun", "CycleActions",
    "CycleSummary", "PaymentItem", "Progress", "ReconcileResult", "approve_cycle", "bank_file_name",
    "carried_sources", "case_payment_items", "city_counties", "county_bounds", "county_for_run", "county_names",
    "county_totals", "cycle_actions_for", "download_bank_file", "explain_payment", "export_cycle", "get_cycle",
    "get_cycle_for", "get_cycle_to_pay", "items_of_lines", "list_cycles_for", "may_approve", "may_read_cycles",
    "payment_items", "payment_ref", "payments_of_case", "reconcile_cycle", "result_words_text", "run_county_cycles",
    "run_cycle",
    "runnable_counties_for", "runners", "runs_every_county", "scoped_cycles", "summarize",
]
