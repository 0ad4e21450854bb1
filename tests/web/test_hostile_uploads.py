"""Every hostile spreadsheet against a real server process: 422, nothing stored, and the server still up.

Before the guard, the 1.7 KB far-cell file made the xlsx reader ask for 512 GiB and abort the whole
server process. So these tests start `minxin serve` as its own process (memory-limited to 3 GiB so a
regression aborts it quickly instead of swapping the machine), upload each bomb to the household
import page, the API and the medical import page, then check the server still answers and the
database holds no household. The CLI gets the same files and must exit 1 with one line on stderr.
"""

from __future__ import annotations

import os
import re
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.conftest import minxin_serve

from hostile_files import ALL_BOMBS, many_rows
from minxin.kit.tabular import MAX_IMPORT_ROWS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PASSWORD = "Hostile-passw0rd"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

BOMBS: dict[str, Callable[[], bytes]] = {**ALL_BOMBS, "rows_past_the_limit": lambda: many_rows(MAX_IMPORT_ROWS + 50)}
# A word of each refusal, as the page shows it.
EXPECTED = {
    "far_cell": "1048576", "far_cell_hidden": "1048576", "wide_row": "列", "declares_20m_rows": "20000000",
    "deflate_bomb": "解压后", "ratio_bomb": "压缩比异常", "lying_bomb": "超过其声明",
    "huge_shared_strings": "sharedStrings", "not_a_zip": "不是有效的 Excel 文件", "truncated": "损坏",
    "rows_past_the_limit": "数据行过多",
}


@dataclass
class LiveServer:
    url: str
    db: Path
    token: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def households(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM households").fetchone()[0])

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"the server process died (exit {self.process.returncode})"
        assert httpx.get(f"{self.url}/login", timeout=30).status_code == 200


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=300, check=False)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("hostile")
    db = root / "city.db"
    env = {**os.environ, "MINXIN_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}
    for args, stdin in ((["init"], None),
                        (["user", "add", "clerk", "--role", "county_officer", "--scope", "320706",
                          "--password-stdin"], PASSWORD + "\n")):
        done = _cli(env, *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
    token = _cli(env, "token", "create", "clerk").stdout.strip()
    with minxin_serve(env, log=root / "server.log", timeout=60, preexec_fn=_limit_memory) as (url, process):
        yield LiveServer(url=url, db=db, token=token, process=process, env=env)


@pytest.fixture(scope="module")
def clerk(server: LiveServer) -> Iterator[httpx.Client]:
    """A browser-like session of the county officer, logged in through the form."""
    with httpx.Client(base_url=server.url, timeout=120, follow_redirects=False) as client:
        page = client.get("/login")
        done = client.post("/login", data={"username": "clerk", "password": PASSWORD, "next": "/",
                                           "csrf_token": _csrf(page.text)})
        assert done.status_code == 303, done.text
        yield client


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {name: build() for name, build in BOMBS.items()}


@pytest.mark.parametrize("name", list(BOMBS))
def test_each_bomb_uploaded_to_the_import_page_is_refused_with_422_and_the_server_stays_up(
        server: LiveServer, clerk: httpx.Client, bombs: dict[str, bytes], name: str) -> None:
    token = _csrf(clerk.get("/import").text)
    response = clerk.post("/import", data={"csrf_token": token},
                          files={"file": (f"{name}.xlsx", bombs[name], XLSX)})
    assert response.status_code == 422, response.text[:500]
    assert EXPECTED[name] in response.text
    server.assert_alive()
    assert server.households() == 0


@pytest.mark.parametrize("name", list(BOMBS))
def test_each_bomb_posted_to_the_import_api_is_refused_with_422_and_the_server_stays_up(
        server: LiveServer, bombs: dict[str, bytes], name: str) -> None:
    response = httpx.post(f"{server.url}/api/v1/imports/households", timeout=120,
                          headers={"Authorization": f"Bearer {server.token}"},
                          files={"file": (f"{name}.xlsx", bombs[name], XLSX)})
    assert response.status_code == 422, response.text[:500]
    errors = response.json()["errors"]
    assert len(errors) == 1 and errors[0]["row"] == 1 and EXPECTED[name] in errors[0]["reason"]
    server.assert_alive()
    assert server.households() == 0


@pytest.mark.parametrize("name", ["far_cell", "deflate_bomb", "lying_bomb", "declares_20m_rows"])
def test_the_medical_import_page_refuses_the_same_bombs(server: LiveServer, clerk: httpx.Client,
                                                        bombs: dict[str, bytes], name: str) -> None:
    token = _csrf(clerk.get("/medical").text)
    response = clerk.post("/medical/import", data={"csrf_token": token},
                          files={"file": (f"{name}.xlsx", bombs[name], XLSX)})
    assert response.status_code == 422, response.text[:500]
    assert EXPECTED[name] in response.text
    server.assert_alive()


def test_after_every_bomb_a_good_file_still_imports(server: LiveServer, clerk: httpx.Client) -> None:
    from tests.factories import new_id

    from minxin.registry.importer import HEADERS

    rows = ",".join(HEADERS) + f"\nHB1,张三,{new_id()},户主,320706006001,城镇,100,,\n"
    token = _csrf(clerk.get("/import").text)
    response = clerk.post("/import", data={"csrf_token": token},
                          files={"file": ("good.csv", rows.encode(), "text/csv")})
    assert response.status_code == 200, re.findall(r"row \d+[^<]*", response.text)
    assert server.households() == 1


@pytest.mark.parametrize(("command", "name"), [
    (["import", "households"], "far_cell"), (["import", "households"], "deflate_bomb"),
    (["import", "households"], "not_a_zip"), (["case", "import", "dibao"], "far_cell"),
    (["medical", "import"], "lying_bomb"),
])
def test_the_cli_refuses_a_bomb_with_exit_1_and_one_line_on_stderr(
        server: LiveServer, bombs: dict[str, bytes], tmp_path: Path, command: list[str], name: str) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bombs[name])
    done = _cli(server.env, *command, str(path))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and EXPECTED[name] in lines[0] and "Traceback" not in done.stderr, done.stderr
