"""Import runs' pages: the list of a scope's imports (/imports), one run with its row errors, the error sheet
and 标记为已处理 (/imports/<id>); the work queue 待处理导入错误 links here (see `minxin.registry.import_runs`)."""

from __future__ import annotations

import io
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm
from minxin.core.errors import ValidationError
from minxin.kit.tabular import write_csv, write_xlsx
from minxin.registry import import_runs as service
from minxin.web.deps import current_user, get_session, writes
from minxin.web.forms import XLSX, see_other
from minxin.web.nav import NavItem
from minxin.web.templating import render

router = APIRouter()

NAV = [NavItem(label="nav.imports", path="/imports", perm=Perm.REGISTRY_IMPORT, group="nav.group.registry")]

MESSAGES = {"zh": {"nav.imports": "导入记录"}, "en": {"nav.imports": "Import runs"}}

MEDIA = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8"}
STATUS_FILTERS = {"": "全部", "open": "待处理", "failed": "有错误", "refused": "文件被拒收", "stored": "已导入"}


@router.get("/imports", name="import_runs")
def runs_page(request: Request, status: str = Query("", max_length=8), page: int = Query(1, ge=1, le=100_000),
              user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The imports of the user's scope and kinds, newest first, by status."""
    found = service.list_import_runs(session, user=user, status=status, page=page)
    return render(request, "registry/import_runs.html", {
        "page": found, "status": status, "filters": STATUS_FILTERS, "names": service.names_of(session, found.items)})


@router.get("/imports/{run_id:int}", name="import_run")
def run_page(request: Request, run_id: int, page: int = Query(1, ge=1, le=100_000),
             user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One run: file, who, when, counts, its row errors (paged), the error sheet, what to do next."""
    run = service.get_import_run_for(session, user, run_id)
    return render(request, "registry/import_run.html", {
        "run": run, "kind": run.import_kind, "page": service.run_errors(run, page=page),
        "names": service.names_of(session, [run]), "place": service.place_of(session, run)})


@router.get("/imports/{run_id:int}/errors.{fmt}", name="import_run_errors")
@writes
def run_errors(run_id: int, fmt: str, user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """The run's row errors as a spreadsheet (xlsx, or csv with a BOM)."""
    if fmt not in MEDIA:
        raise ValidationError("格式必须是 xlsx 或 csv (format must be xlsx or csv)", field="format")
    run = service.download_errors(session, user=user, run_id=run_id)
    buffer = io.BytesIO()
    if fmt == "xlsx":
        write_xlsx(buffer, service.ERROR_HEADERS, service.error_rows(run), sheet="导入错误",
                   widths={"原因": 80})
    else:
        write_csv(buffer, service.ERROR_HEADERS, service.error_rows(run))
    session.commit()  # the download's audit entry
    name = f"导入错误-{run.id}.{fmt}"
    return Response(buffer.getvalue(), media_type=MEDIA[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"import-errors-{run.id}.{fmt}\"; "
                               f"filename*=UTF-8''{quote(name)}"})


@router.post("/imports/{run_id:int}/resolve", name="import_run_resolve")
def run_resolve(run_id: int, user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    """标记为已处理 (audited)."""
    service.mark_resolved(session, user=user, run_id=run_id)
    session.commit()
    return see_other(f"/imports/{run_id}", resolved="1")
