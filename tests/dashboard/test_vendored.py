"""The browser files we ship and test with are exactly the ones the vendoring script fetched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [ROOT / "service/web/static/vendor", ROOT / "tests/dashboard/vendor"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name if p.name != "vendor" else p.parent.name)
def test_vendored_files_match_their_sha256sums(folder: Path) -> None:
    listed = [line.split(maxsplit=1) for line in (folder / "SHA256SUMS").read_text().splitlines() if line]
    assert listed
    for digest, name in listed:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert {name for _, name in listed} == {p.name for p in folder.iterdir()} - {"SHA256SUMS"}


def test_htmx_is_the_pinned_2x_release_with_its_licence() -> None:
    folder = FOLDERS[0]
    assert (folder / "VERSIONS").read_text().startswith("htmx.org 2.")
    assert (
        "BSD" in (folder / "htmx.LICENSE").read_text()
        or "Zero-Clause" in (folder / "htmx.LICENSE").read_text()
    )
    script = (ROOT / ".ci/vendor-assets").read_text()
    version = (folder / "VERSIONS").read_text().split()[1]
    assert f"HTMX_VERSION={version}" in script
