"""Screenshots of every page at 1400 px wide, so the pictures in the docs stay current.

Builds a fresh store in a temporary folder from the bundled St. Louis sample (2018-2019), adds the
people a first day meets (an analyst, a supervisor with an authenticator, a partner agency's
user), opens a problem from scanning with its comparison areas and assessment, sends a tip, then
serves the app on 127.0.0.1 and drives the system Chromium through each page::

    .venv/bin/python scripts/screenshots.py                       # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --only home,problem   # some pages
    .venv/bin/python scripts/screenshots.py --list

Nothing is fetched from outside the machine. The index of the pictures is docs/screenshots.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
import uvicorn

from openilp.config import Settings
from openilp.core import OpenILP
from openilp.db import make_engine, migrate, session_scope
from openilp.services import problems
from openilp.services.accounts.records import ensure_agency, user_info
from openilp.services.accounts.users import CreateUserRequest, create_user
from openilp.services.imports.demo import load_demo
from openilp.web import create_app

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1400
PASSWORD = "screenshots-password-1"


@dataclass(frozen=True)
class Shot:
    """One page: its file name, who looks at it, the path, and an element to wait for."""

    name: str
    user: str
    path: str
    wait_for: str = "main"
    caption: str = ""
    #: Seconds to wait for ``wait_for`` (a long analysis first shows its progress page).
    timeout_s: float = 120.0


def _shots(problem_id: int, tip_id: str) -> list[Shot]:
    return [
        Shot("home", "analyst", "/", "#holdings", "Home: holdings and what waits today"),
        Shot(
            "map",
            "analyst",
            "/map",
            "#map[data-markers-drawn]:not([data-markers-drawn=''])",
            "Incident map: the newest 20,000 points",
        ),
        Shot(
            "hotspots",
            "analyst",
            "/analysis/hotspots?category=burglary&date_from=2019-12-01&date_to=2019-12-31",
            "#map[data-streets-drawn]",
            "Hot spots (KDE and Gi*) of a month, over the city's streets",
        ),
        Shot("near-repeat", "analyst", "/analysis/near-repeat?category=burglary", "#knox-heat", "Near repeats"),
        Shot("trends", "analyst", "/analysis/trends", "#compstat-table", "Trends in the CompStat layout"),
        Shot("problems", "analyst", "/problems", "#dashboard", "Problems and the goals dashboard"),
        Shot(
            "problems-scan",
            "analyst",
            "/problems/new?scan=1&category=burglary&periods=2&period_days=182",
            "#candidates",
            "Scanning for candidate problems",
        ),
        Shot("problem", "analyst", f"/problems/{problem_id}", "#assessment-chart", "A problem through SARA"),
        Shot("intel-search", "analyst", "/intel/search", "main", "Intelligence search"),
        Shot("intel-submit", "analyst", "/intel/records/new", "main", "Intelligence submission"),
        Shot("tips", "analyst", "/intel/tips", "main", "Tip inbox"),
        Shot("tip", "analyst", f"/intel/tips/{tip_id}", "#dialogue", "One tip with its photo"),
        Shot("tips-public", "", "/tips", "main", "The public tip form"),
        Shot("deploy", "analyst", "/deploy", "main", "Deployment form"),
        Shot("supervisor-home", "supervisor", "/", "main", "A supervisor's navigation"),
        Shot("audit", "supervisor", "/audit", "main", "Audit log"),
        Shot("intel-settings", "supervisor", "/intel/settings", "main", "Sharing agreements"),
        Shot("received", "partner", "/intel/received", "main", "A partner agency's received releases"),
        Shot("entities", "analyst", "/entities", "main", "Entity search"),
        Shot("networks", "analyst", "/networks", "main", "Link chart"),
        Shot("series", "analyst", "/series", "main", "Crime series"),
        Shot("admin-users", "admin", "/admin/users", "main", "Users, roles and reviewer training"),
        Shot("transparency", "", "/transparency", "main", "The public transparency report"),
        # Last: the first load of a forecast trains its method and replays twelve weeks (a job with a progress bar).
        Shot(
            "forecast",
            "analyst",
            "/forecast?category=burglary",
            "#map[data-cells-drawn]:not([data-cells-drawn=''])",
            "This week's forecast with its measured accuracy",
            timeout_s=1200.0,
        ),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(core: OpenILP) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(core), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _prepare(data_dir: Path, log: Callable[[str], None]) -> tuple[OpenILP, int, str]:
    """The demo store with the users, one assessed problem and one tip with a photo."""
    engine = make_engine(f"sqlite:///{data_dir / 'openilp.sqlite3'}")
    migrate(engine)
    core = OpenILP(Settings(data_dir=str(data_dir), secret_key="screenshots-secret-key-0123456789"), engine)
    log("importing the bundled St. Louis sample")
    load_demo(core, None)
    with session_scope(engine) as session:
        ensure_agency(session, "PARTNER", "Partner County Police", "America/Chicago", "ESRI:102696")
    people = (
        ("analyst", "analyst", "SLMPD", "Alex Analyst"),
        ("supervisor", "supervisor", "SLMPD", "Sam Supervisor"),
        ("partner", "partner", "PARTNER", "Pat Partner"),
        ("admin", "administrator", "SLMPD", "Ada Administrator"),
    )
    ids = {}
    for username, role, agency, name in people:
        ids[username] = create_user(core, None, CreateUserRequest(username, PASSWORD, role, agency, name)).user.id
    with session_scope(engine) as session:
        analyst = user_info(session, ids["analyst"])
    assert analyst is not None
    log("scanning and opening a problem")
    scan = problems.scan_candidates(core, analyst, problems.ScanRequest(periods=2, period_days=182)).as_dict()
    first = scan["candidates"][0]
    opened = problems.open_problem(
        core,
        analyst,
        problems.OpenProblemRequest(
            title=first["title"],
            categories=first["categories"],
            target_reduction_pct=first["target_reduction_pct"],
            baseline_start=first["baseline_start"],
            evaluation_start=first["evaluation_start"],
            evaluation_end=first["evaluation_end"],
            area=first["area"],
            area_name=first["name"],
            goal=first["goal"],
            origin="hotspot",
        ),
    )
    problems.propose_areas(core, analyst, problems.ProposeAreasRequest(opened.id))
    problems.add_intervention(
        core,
        analyst,
        problems.InterventionRequest(
            opened.id,
            kind="directed patrol",
            start=first["evaluation_start"],
            end=first["evaluation_end"],
            dosage_value=45,
            dosage_unit="patrol minutes per day",
        ),
    )
    problems.power_check(core, analyst, problems.PowerCheckRequest(opened.id))
    problems.run_assessment(core, analyst, problems.RunAssessmentRequest(opened.id))
    log("sending a tip with a photo")
    from io import BytesIO

    from PIL import Image

    from openilp.services.intel.tips import TipRequest, submit_tip

    image = Image.new("RGB", (320, 200), (120, 140, 90))
    buffer = BytesIO()
    image.save(buffer, format="JPEG")
    narrative = "Stolen bicycles are repainted in the yard behind 4100 Olive St every Saturday morning."
    created = submit_tip(core, None, TipRequest("SLMPD", "tip", narrative, None, (buffer.getvalue(),)))
    return core, opened.id, created.tip_id


def _sign_in(page: object, server: str, username: str, secrets: dict[str, str]) -> None:
    page.goto(f"{server}/login")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    url = page.url  # type: ignore[attr-defined]
    if "/login/totp" not in url:
        return
    if url.endswith("/login/totp/setup"):
        secrets[username] = page.locator("#totp-secret").inner_text().strip()  # type: ignore[attr-defined]
    page.fill("#code", pyotp.TOTP(secrets[username]).now())  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the page names and exit")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG files")
    args = parser.parse_args(argv)
    if args.list:
        for shot in _shots(0, "T-…"):
            print(f"{shot.name:16} {shot.user or 'public':11} {shot.path}")
        return 0
    if not CHROMIUM.exists():
        print(f"Chromium is not installed at {CHROMIUM}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="openilp-screenshots-") as folder:
        core, problem_id, tip_id = _prepare(Path(folder), log)
        shots = [s for s in _shots(problem_id, tip_id) if not wanted or s.name in wanted]
        secrets: dict[str, str] = {}
        written = []
        with _serve(core) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            contexts: dict[str, object] = {}
            for shot in shots:
                context = contexts.get(shot.user)
                if context is None:
                    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
                    contexts[shot.user] = context
                    if shot.user:
                        _sign_in(context.new_page(), server, shot.user, secrets)  # type: ignore[attr-defined]
                page = context.new_page()  # type: ignore[attr-defined]
                page.goto(f"{server}{shot.path}", timeout=180_000)
                try:
                    page.wait_for_selector(shot.wait_for, state="attached", timeout=shot.timeout_s * 1000)
                    page.wait_for_load_state("networkidle", timeout=shot.timeout_s * 1000)
                except Exception as exc:  # a page that shows an error is still worth a picture
                    log(f"{shot.name}: {type(exc).__name__}")
                path = args.out / f"{shot.name}.png"
                page.screenshot(path=str(path), full_page=True)
                page.close()
                written.append(shot)
                log(f"{shot.name}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
            browser.close()
    if not wanted:
        _index(written, args.out)
    return 0


def _index(shots: list[Shot], out: Path) -> None:
    """docs/screenshots.md: one heading and picture per page, with the date they were taken."""
    lines = [
        "# Screenshots",
        "",
        f"Every page at {WIDTH} px wide on the bundled St. Louis sample, taken "
        f"{dt.date.today().isoformat()} by `scripts/screenshots.py` (run it again after changing a page).",
        "",
    ]
    for shot in shots:
        relative = re.sub(r"^.*?docs/", "", str(out / f"{shot.name}.png"))
        who = shot.user or "a member of the public"
        lines += [f"## {shot.caption or shot.name}", "", f"`{shot.path}` as {who}", ""]
        lines += [f"![{shot.caption or shot.name}]({relative})", ""]
    (out.parent / "screenshots.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
