"""Cheap resource exhaustion is refused before the work: request bodies and images by their size.

A 50 MB body used to be read, parsed and echoed back in a 422, and three 6300 × 6300 PNG
"pixel bombs" (a few kilobytes each) were decoded to 160 MB apiece on an anonymous tip.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile
from sqlalchemy import Engine
from web_support import make_client, seed_agency

from openilp.intel.images import MAX_PIXELS, strip_image

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def client(sqlite_engine: Engine, tmp_path: Path) -> TestClient:
    seed_agency(sqlite_engine)
    return make_client(sqlite_engine, tmp_path, max_body_bytes=10_000, max_upload_bytes=50_000)


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    body = b'{"narrative": "' + b"x" * 20_000 + b'"}'
    response = client.post("/api/v1/public/tips", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 10,000 bytes."}


def test_a_body_without_a_length_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1_000

    response = client.post("/api/v1/public/tips", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than 10,000 bytes" in response.text


def test_uploads_get_their_own_limit(client: TestClient) -> None:
    small = client.post("/tips", data={"narrative": "x" * 20_000}, files={"attachments": ("a.png", b"x" * 10)})
    assert small.status_code != 413  # 20 KB of form is under the upload limit (the CSRF check refuses it)
    big = client.post("/tips", data={"narrative": "x"}, files={"attachments": ("a.png", b"x" * 60_000)})
    assert big.status_code == 413


def test_a_pixel_bomb_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _png(6300, 6300)
    assert len(bomb) < 100_000 and MAX_PIXELS < 6300 * 6300

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ValueError, match=r"too large \(6300 × 6300 pixels; at most 16 megapixels"):
        strip_image(bomb)
    with pytest.raises(ValueError, match="10,000 pixels a side"):
        strip_image(_png(12_000, 10))


def test_a_phone_sized_photo_is_accepted() -> None:
    assert strip_image(_png(4000, 3000)).content_type == "image/png"
