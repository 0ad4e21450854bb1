"""Uploads for importers: read the file (refusing missing, empty and oversized ones in Chinese) and keep
an error sheet that only the uploading user can download.

Error sheets live under `<tmp>/minxin-import-errors/<user id>/<random token>.xlsx` for a day. Any
importer (households, cases, bank results) can use `store_error_sheet` and link to
`/import/errors/<token>.xlsx`, which `minxin.web.views` serves to the same user only.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import UploadFile

from minxin.auth.models import User
from minxin.core.errors import ValidationError
from minxin.settings import get_settings
from minxin.web.errors import megabytes

ERROR_SHEET_DIR = "minxin-import-errors"
ERROR_SHEET_HOURS = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


def upload_limit() -> int:
    """The largest file an import accepts: the smaller of the web limit and the importer's own."""
    return get_settings().max_upload_bytes


def read_upload(file: UploadFile | None, *, field: str = "file") -> tuple[bytes, str]:
    """The file's bytes and name; ValidationError (naming `field`) if absent, empty or too large."""
    if file is None or not file.filename:
        raise ValidationError("请选择要上传的文件 (no file uploaded)", field=field)
    limit = upload_limit()
    too_large = "文件过大（{size}），单次导入上限 {limit}，请拆分后分批导入 (file too large)"
    if file.size is not None and file.size > limit:
        raise ValidationError(too_large.format(size=megabytes(file.size), limit=megabytes(limit)), field=field)
    file.file.seek(0)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(too_large.format(size=f"> {megabytes(limit)}", limit=megabytes(limit)), field=field)
    if not data.strip():
        raise ValidationError("文件是空的 (the file is empty)", field=field)
    return data, file.filename


def _user_dir(user: User) -> Path:
    folder = Path(tempfile.gettempdir()) / ERROR_SHEET_DIR / str(user.id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _sweep(root: Path) -> None:
    cutoff = time.time() - ERROR_SHEET_HOURS * 3600
    for path in root.glob("*/*.xlsx"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass  # another process swept it first


def store_error_sheet(user: User, write: Callable[[Path], None]) -> str:
    """Write an error sheet for this user (`write(path)`), return the token that names it."""
    folder = _user_dir(user)
    _sweep(folder.parent)
    token = secrets.token_urlsafe(24)
    write(folder / f"{token}.xlsx")
    return token


def error_sheet_path(user: User, token: str) -> Path | None:
    """The stored sheet if this user uploaded it and it has not expired."""
    if not _TOKEN.fullmatch(token):
        return None
    path = Path(tempfile.gettempdir()) / ERROR_SHEET_DIR / str(user.id) / f"{token}.xlsx"
    if not path.is_file() or path.stat().st_mtime < time.time() - ERROR_SHEET_HOURS * 3600:
        return None
    return path
