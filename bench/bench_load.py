"""A bounded load test of the web app on 127.0.0.1: anonymous tip submission and a month of incidents.

The app is served as ``openilp serve`` serves it (uvicorn, one process) over a store holding the
bundled St. Louis sample (2018–2019), on SQLite and, when ``OPENILP_BENCH_POSTGRES_URL`` names an
empty PostgreSQL database, on PostgreSQL too. :data:`CONCURRENCY` clients send requests back to
back:

* ``POST /api/v1/public/tips`` (anonymous; each tip is committed before its 201 is sent), and
* ``GET /api/v1/incidents.geojson`` for one month (a signed-in analyst; every request is audited).

The app's anonymous rate limit is raised for the run (it would answer 429 above 100 requests a
second, by design), so what is measured is the server's own capacity. Targets (issue 10): tips
≥ 50 requests/s with p99 < 250 ms, the month of incidents ≥ 30 requests/s with p99 < 1 s, 0 errors.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import write_result

#: Clients sending requests at once.
CONCURRENCY = 8
#: Requests per scenario (spread over the clients).
REQUESTS = {"tips": 800, "month_geojson": 240}
MONTH = {"date_from": "2019-06-01", "date_to": "2019-06-30"}
TARGETS = {"tips": (50.0, 0.25), "month_geojson": (30.0, 1.0)}
TIP = {
    "agency": "SLMPD",
    "kind": "tip",
    "narrative": "A grey van has been parked behind the corner shop every night this week.",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _load(data_dir: Path, database_url: str) -> dict[str, Any]:
    from openilp.config import Settings
    from openilp.core import OpenILP
    from openilp.services.imports.demo import load_demo

    core = OpenILP(Settings(data_dir=str(data_dir), database_url=database_url))
    core.migrate()
    started = time.perf_counter()
    demo = load_demo(core, None)
    core.engine.dispose()
    return {"incidents": demo.incidents, "load_s": round(time.perf_counter() - started, 1)}


def _serve(data_dir: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OPENILP_DATA_DIR": str(data_dir),
        "OPENILP_DATABASE_URL": database_url,
        "OPENILP_PUBLIC_RATE_PER_S": "1000000",
        "OPENILP_PUBLIC_BURST": "1000000",
        "OPENILP_AUDIT_ANCHOR_INTERVAL_S": "0",
    }
    command = [sys.executable, "-c", "from openilp.cli.main import app; app()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _signed_in_cookies(base: str) -> Any:
    import httpx

    from openilp.services.imports.demo import DEMO_PASSWORD, DEMO_USERNAME

    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token, "no CSRF token on the sign-in page"
        response = client.post(
            "/login", data={"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code in (200, 303), response.status_code
        return client.cookies


def _scenario(base: str, name: str, cookies: Any) -> dict[str, Any]:
    import httpx

    total = REQUESTS[name]
    expected = b""
    if name == "month_geojson":
        # The month is checked in full once (a FeatureCollection with features); under load each
        # response must equal it byte for byte, which costs the clients no JSON decoding. Decoding
        # 1.5 MB in eight client threads of this process took most of the CPU the server needed.
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
            first = client.get("/api/v1/incidents.geojson", params=MONTH)
        assert first.status_code == 200 and first.json()["features"], first.status_code
        expected = first.content
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [total]

    def client_loop() -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                start = time.perf_counter()
                try:
                    if name == "tips":
                        response = client.post("/api/v1/public/tips", json=TIP)
                        ok = response.status_code == 201
                    else:
                        response = client.get("/api/v1/incidents.geojson", params=MONTH)
                        ok = response.status_code == 200 and response.content == expected
                    problem = "" if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    problem = type(exc).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if problem:
                        errors.append(problem)

    threads = [threading.Thread(target=client_loop) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    rate, p99_limit = TARGETS[name]
    result = {
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(1000 * _percentile(latencies, 0.50), 1),
        "p99_ms": round(1000 * _percentile(latencies, 0.99), 1),
        "target_requests_per_s": rate,
        "target_p99_ms": p99_limit * 1000,
    }
    result["meets_target"] = (
        result["errors"] == 0 and result["requests_per_s"] >= rate and result["p99_ms"] <= p99_limit * 1000
    )
    return result


def _backend(name: str, database_url: str) -> dict[str, Any]:
    import httpx

    with tempfile.TemporaryDirectory(prefix=f"openilp-load-{name}-") as folder:
        data_dir = Path(folder)
        url = database_url or f"sqlite:///{data_dir / 'openilp.sqlite3'}"
        facts = _load(data_dir, url)
        port = _free_port()
        server = _serve(data_dir, url, port)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            cookies = _signed_in_cookies(base)
            return {
                **facts,
                "tips": _scenario(base, "tips", None),
                "month_geojson": _scenario(base, "month_geojson", cookies),
            }
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def run() -> dict[str, Any]:
    """Both scenarios on SQLite (and PostgreSQL when ``OPENILP_BENCH_POSTGRES_URL`` is set)."""
    result: dict[str, Any] = {"concurrency": CONCURRENCY, "month": MONTH, "sqlite": _backend("sqlite", "")}
    postgres = os.environ.get("OPENILP_BENCH_POSTGRES_URL", "")
    if postgres:
        result["postgresql"] = _backend("postgresql", postgres)
    write_result("load_web", result)
    return result
