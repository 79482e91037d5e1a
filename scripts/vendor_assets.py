#!/usr/bin/env python3
"""Copy the front-end files Filum serves from node_modules/ to filum/web/static/vendor/.

Stdlib only: the run and test commands call it right after `npm ci`. The vendor folder is
git-ignored; package-lock.json pins what lands in it. Source maps referenced by a file
are copied too, because ManifestStaticFilesStorage rewrites `sourceMappingURL` and fails
in collectstatic when the map is missing.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO_DIR / "node_modules"
VENDOR_DIR = REPO_DIR / "filum" / "web" / "static" / "vendor"

# source in node_modules/ -> name in static/vendor/
ASSETS = {
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
    "chart.js/dist/chart.umd.min.js": "chart.umd.min.js",
    "@picocss/pico/css/pico.min.css": "pico.min.css",
    "axe-core/axe.min.js": "axe.min.js",  # only loaded by the browser accessibility tests
}
# licences travel with the files (MIT / MPL-2.0 require the notice)
LICENSES = {
    "htmx.org/LICENSE": "htmx.LICENSE.txt",
    "chart.js/LICENSE.md": "chart.js.LICENSE.txt",
    "@picocss/pico/LICENSE.md": "pico.LICENSE.txt",
    "axe-core/LICENSE": "axe-core.LICENSE.txt",
}
SOURCE_MAP = re.compile(rb"sourceMappingURL=([^\s*]+)")


def _copy_if_changed(src: Path, dst: Path) -> bool:
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return False
    shutil.copyfile(src, dst)
    return True


def vendor_assets() -> int:
    missing = [name for name in {**ASSETS, **LICENSES} if not (NODE_MODULES / name).is_file()]
    if missing:
        print(f"vendor_assets: missing in node_modules/ (run npm ci): {', '.join(missing)}")
        return 1
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    changed = 0
    for name, target in {**ASSETS, **LICENSES}.items():
        src = NODE_MODULES / name
        changed += _copy_if_changed(src, VENDOR_DIR / target)
        if name in ASSETS:
            for map_name in SOURCE_MAP.findall(src.read_bytes()):
                map_src = src.parent / map_name.decode()
                changed += _copy_if_changed(map_src, VENDOR_DIR / map_src.name)
    if changed:
        print(f"vendor_assets: {changed} file(s) updated in {VENDOR_DIR.relative_to(REPO_DIR)}/")
    return 0


if __name__ == "__main__":
    sys.exit(vendor_assets())
