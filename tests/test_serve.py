"""`minxin serve --workers N` as an operator starts it: real processes on a loopback port."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "MINXIN_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ready_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("serve") / "serve.db"
    r = subprocess.run([sys.executable, "-m", "minxin.cli", "init"], env=_env(db), capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return db


def test_serve_with_two_workers_answers_healthz_and_logs_json_lines(ready_db, tmp_path):
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "minxin.cli", "serve", "--workers", "2", "--host",
                                 "127.0.0.1", "--port", str(port)], env=_env(ready_db), stdout=log, stderr=log,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the server did not come up in 60 s"
            time.sleep(0.3)
        for _ in range(6):
            response = httpx.get(f"{base}/healthz", timeout=5)
            assert response.status_code == 200 and response.json() == {"status": "ok"}
            assert response.headers["X-Request-ID"]
        login = httpx.get(f"{base}/login", headers={"X-Request-ID": "serve-test-1"}, timeout=5)
        assert login.status_code == 200 and login.headers["X-Request-ID"] == "serve-test-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    workers = {m.group(1) for line in lines if (m := re.match(r"Started server process \[(\d+)\]", line["message"]))}
    assert len(workers) == 2
    (access,) = [line for line in lines
                 if line.get("request_id") == "serve-test-1" and line["logger"] == "minxin.access"]
    assert access["path"] == "/login" and access["status"] == 200 and str(access["pid"]) in workers
    assert proc.returncode == 0


def test_serve_refuses_reload_with_several_workers(ready_db):
    r = subprocess.run([sys.executable, "-m", "minxin.cli", "serve", "--workers", "2", "--reload"],
                       env=_env(ready_db), capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "--reload" in r.stderr
