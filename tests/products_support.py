"""What the products' tests share: a PDF's text per page, its structure tree, and its pages as PNG images."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pypdf


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
