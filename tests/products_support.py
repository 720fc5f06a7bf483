"""What the products' tests share: a PDF's text per page, its structure tree, its pages as PNG images,
a mail sink and a map tile server, both on 127.0.0.1, and the St. Louis store the bulletins read."""

from __future__ import annotations

import email
import email.message
import io
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pypdf
from sqlalchemy import Engine

#: St. Louis, June 2018 to June 2019: the bulletins' recent weeks and the year their analyses learn from.
BULLETIN_FILES = [("2018", m) for m in ("june", "july", "august", "september", "october", "november", "december")]
BULLETIN_FILES += [("2019", m) for m in ("january", "february", "march", "april", "may", "june")]


def bulletin_store(backend: str, folder: Path) -> Engine:
    """A migrated store on ``backend`` (``"sqlite"`` in ``folder``, or the test PostgreSQL emptied)
    holding :data:`BULLETIN_FILES`."""
    from conftest import _postgres_engine, _truncate_postgres, shared_file
    from store_support import import_source

    from openilp.db import make_engine, migrate
    from openilp.ingest.spec import load_source_spec

    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'openilp.sqlite3'}")
        migrate(engine)
    else:
        engine = _postgres_engine()
        _truncate_postgres(engine)
    files = [shared_file("stlouis", "monthly", year, f"{month}{year}.csv") for year, month in BULLETIN_FILES]
    import_source(engine, load_source_spec("stlouis"), files)
    return engine


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page of ``pdf`` (pypdf's extraction)."""
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def structure(node: Any, found: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(role, alt text) of every element of a tagged PDF's structure tree, depth first."""
    found = [] if found is None else found
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, pypdf.generic.DictionaryObject):
        if "/S" in node:
            found.append((str(node["/S"]), str(node.get("/Alt", ""))))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, pypdf.generic.ArrayObject) else [kids] if kids is not None else []:
            structure(kid, found)
    return found


def structure_of(pdf: bytes) -> tuple[bool, list[tuple[str, str]]]:
    """Whether ``pdf`` is marked (tagged), and its structure elements."""
    catalog = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    return bool(catalog["/MarkInfo"]["/Marked"]), structure(catalog["/StructTreeRoot"])


def pdftoppm_pages(pdf: bytes, *, dpi: int = 50) -> list[bytes]:
    """Each page of ``pdf`` as a grayscale PNG image, drawn by poppler's ``pdftoppm`` (poppler-utils)."""
    binary = shutil.which("pdftoppm")
    if binary is None:
        raise FileNotFoundError("pdftoppm is missing: install poppler-utils (.ci/run does)")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "product.pdf"
        source.write_bytes(pdf)
        subprocess.run([binary, "-png", "-gray", "-r", str(dpi), str(source), str(Path(folder) / "page")], check=True)
        return [path.read_bytes() for path in sorted(Path(folder).glob("page-*.png"))]


class SmtpSink:
    """A mail server on 127.0.0.1 that keeps every message it is given (aiosmtpd), for ``with``.

    ``port`` is free when it starts; ``wait(n)`` waits until ``n`` messages have arrived and returns them.
    """

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope.content)
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def wait(self, count: int) -> list[email.message.Message]:
        for _ in range(100):
            if len(self.messages) >= count:
                break
            threading.Event().wait(0.05)
        return [email.message_from_bytes(m) for m in self.messages]


class TileServer:
    """An XYZ tile server on 127.0.0.1 (for ``with``): every ``/z/x/y.png`` is the same flat grey PNG.

    ``requests`` lists the paths asked for; with ``failing=True`` every answer is a 500.
    ``url`` is the template to give as the setting ``tile_url``.
    """

    GREY = 100

    def __init__(self, *, failing: bool = False) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("L", (256, 256), self.GREY).save(buffer, format="PNG")
        tile = buffer.getvalue()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if failing:
                    self.send_error(500, "tile server down")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
