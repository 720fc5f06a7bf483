#!/usr/bin/env python3
"""Copy front-end packages from node_modules into the web app's static folder.

Run after ``npm ci`` (which installs the versions pinned in package-lock.json)::

    npm ci && python3 scripts/build_assets.py

Leaflet's ``dist/`` folder (scripts, stylesheet, images) and its licence are copied to
``openilp/web/static/vendor/leaflet/``, Cytoscape.js's minified build and licence (the link
charts) to ``openilp/web/static/vendor/cytoscape/``. That folder is git-ignored: it is built, never committed,
and the browser never fetches anything from a CDN. Uses only the standard library.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO_ROOT / "openilp" / "web" / "static" / "vendor"

#: package name -> files or folders inside the package to copy (relative to the package root).
PACKAGES: dict[str, dict[str, str]] = {
    "leaflet": {
        "dist/leaflet.js": "leaflet.js",
        "dist/leaflet.css": "leaflet.css",
        "dist/images": "images",
        "LICENSE": "LICENSE",
    },
    "cytoscape": {
        "dist/cytoscape.min.js": "cytoscape.min.js",
        "LICENSE": "LICENSE",
    },
}


def build(node_modules: Path, vendor_dir: Path) -> list[str]:
    """Copy every package in :data:`PACKAGES`; return one line per package copied."""
    done = []
    for package, files in PACKAGES.items():
        source_root = node_modules / package
        if not source_root.is_dir():
            raise FileNotFoundError(f"{source_root} is missing: run `npm ci` in {REPO_ROOT} first")
        target_root = vendor_dir / package
        if target_root.exists():
            shutil.rmtree(target_root)
        target_root.mkdir(parents=True)
        for source_name, target_name in files.items():
            source = source_root / source_name
            target = target_root / target_name
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
        version = json.loads((source_root / "package.json").read_text(encoding="utf-8"))["version"]
        (target_root / "VERSION").write_text(f"{package} {version}\n", encoding="utf-8")
        done.append(f"{package} {version} -> {target_root}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=REPO_ROOT / "node_modules",
        help="folder npm installed the packages into (default: ./node_modules)",
    )
    parser.add_argument(
        "--vendor-dir", type=Path, default=VENDOR_DIR, help="destination (default: openilp/web/static/vendor)"
    )
    args = parser.parse_args(argv)
    try:
        for line in build(args.node_modules, args.vendor_dir):
            print(line)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
