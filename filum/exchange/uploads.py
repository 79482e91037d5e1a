"""Deliveries uploaded on the platform's import page (issue 9 items 3 and 4; decision 0031).

An upload is ``<token>.zip`` under ``FILUM_IMPORT_DIR`` with ``<token>.json`` beside it (the
organisation chosen, the file's name, who uploaded it and when, whether the dry run passed)
and, once the readiness check ran, ``<token>.readiness.json`` (its language-neutral result).
They hold personal data: the import task removes them when its run ends, and
``purge_uploads`` (daily) removes what was left behind: uploads never imported, or whose
import stopped."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

SUFFIXES = (".zip", ".json", ".readiness.json")


def import_folder() -> Path:
    return Path(getattr(settings, "FILUM_IMPORT_DIR", settings.BASE_DIR / "var" / "imports"))


@dataclass(frozen=True)
class Upload:
    token: uuid.UUID
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / f"{self.token}.zip"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.token}.json"

    @property
    def readiness_path(self) -> Path:
        return self.folder / f"{self.token}.readiness.json"

    def meta(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return {}
        return data

    def remove(self) -> None:
        for suffix in SUFFIXES:
            (self.folder / f"{self.token}{suffix}").unlink(missing_ok=True)


def save_upload(
    chunks: Iterable[bytes], *, name: str, organisation_id: int, user_id: int | None
) -> Upload:
    folder = import_folder()
    folder.mkdir(parents=True, exist_ok=True)
    upload = Upload(uuid.uuid4(), folder)
    with upload.path.open("wb") as target:
        for chunk in chunks:
            target.write(chunk)
    meta = {
        "name": name[:200],
        "organisation": organisation_id,
        "by": user_id,
        "uploaded_at": timezone.now().isoformat(),
        "ok": False,
    }
    upload.meta_path.write_text(json.dumps(meta))
    return upload


def mark_checked(upload: Upload, *, ok: bool) -> None:
    upload.meta_path.write_text(json.dumps({**upload.meta(), "ok": ok}))


def find_upload(token: uuid.UUID | str) -> Upload | None:
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        return None
    upload = Upload(token, import_folder())
    return upload if upload.path.is_file() else None


def remove_upload_at(path: Path | str) -> None:
    """Remove an upload (its zip and what lies beside it) by the zip's path; a path outside
    the import folder is left alone (the task is also run on deliveries from elsewhere)."""
    path = Path(path)
    folder = import_folder()
    if path.parent.resolve() != folder.resolve() or path.suffix != ".zip":
        return
    try:
        token = uuid.UUID(path.stem)
    except ValueError:
        return
    Upload(token, folder).remove()


def purge_uploads(*, older_than: datetime.timedelta) -> int:
    """Remove the uploads uploaded more than ``older_than`` ago (by their zip's time; files
    left beside a zip already gone by their own); the number of uploads removed."""
    folder = import_folder()
    if not folder.is_dir():
        return 0
    before = (timezone.now() - older_than).timestamp()
    times: dict[uuid.UUID, float] = {}
    for path in folder.iterdir():
        if not path.name.endswith(SUFFIXES):
            continue
        try:
            token = uuid.UUID(path.name.split(".", 1)[0])
        except ValueError:
            continue  # not an upload
        upload = Upload(token, folder)
        times[token] = (upload.path if upload.path.exists() else path).stat().st_mtime
    removed = 0
    for token, uploaded in times.items():
        if uploaded < before:
            Upload(token, folder).remove()
            removed += 1
    return removed
