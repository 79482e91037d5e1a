"""A synthetic delivery for the import's benchmark (issue 9, "Benchmarks"; decision 0029).

``write_synthetic_delivery`` writes a delivery folder in the exchange format with N dossiers,
one client person each, M journal entries spread over them and optionally small documents.
Its values are realistic because they are taken from a real delivery (the demo's largest
service exported, ``template``): each synthetic dossier copies a template dossier (domain,
stage, dates, segment ...) and the journal entries of that dossier in turn, with new source
ids; persons get names drawn from the template's persons with a seeded random generator, and
no AHV number (an AHV number is unique in Filum: two imports of the same delivery into two
organisations would otherwise share their persons). The same template, sizes and seed give
the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filum.exchange import format as fmt

DOCUMENT_BYTES = 2048


@dataclass
class Synthetic:
    path: Path
    counts: dict[str, int]


class _File:
    """One JSON Lines file of the delivery, hashed and counted as it is written."""

    def __init__(self, root: Path, kind: str) -> None:
        self.name = fmt.file_name(kind)
        self.stream: IO[bytes] = (root / self.name).open("wb")
        self.sha, self.count = hashlib.sha256(), 0

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.sha.update(line)
        self.stream.write(line)
        self.count += 1

    def close(self) -> fmt.FileEntry:
        self.stream.close()
        return fmt.FileEntry(count=self.count, sha256=self.sha.hexdigest())


def _read(template: Path, kind: str) -> list[dict[str, Any]]:
    path = template / fmt.file_name(kind)
    if not path.exists():
        return []
    with path.open("rb") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def write_synthetic_delivery(
    template: Path,
    out: Path,
    *,
    dossiers: int,
    journal: int,
    documents: int = 0,
    seed: int = 7,
) -> Synthetic:
    """Write a delivery of ``dossiers`` dossiers (and their clients), ``journal`` journal
    entries and ``documents`` small documents into the folder ``out``, modelled on the
    delivery in ``template``. Journal entries and documents are read one file at a time from
    the template and written as they are made: memory stays bounded by the template."""
    rng = random.Random(seed)  # noqa: S311 (benchmark data)
    manifest = json.loads((template / fmt.MANIFEST).read_text(encoding="utf-8"))
    entries: dict[str, list[dict[str, Any]]] = {}
    for entry in _read(template, "journal"):
        if entry.get("supersedes") is None and not entry.get("is_retracted"):
            entries.setdefault(entry["dossier"], []).append(entry)
    models = [d for d in _read(template, "dossiers") if d["source_id"] in entries]
    if not models:
        raise ValueError("the template delivery has no dossier with journal entries")
    persons = {p["source_id"]: p for p in _read(template, "persons")}
    first_names = sorted({p["first_name"] for p in persons.values()})
    last_names = sorted({p["last_name"] for p in persons.values()})
    users = _read(template, "users")
    out.mkdir(parents=True)
    files: dict[str, fmt.FileEntry] = {}

    def dossier_id(n: int) -> str:
        return f"synthetic:dossier:{n}"

    chosen = [rng.randrange(len(models)) for _ in range(dossiers)]
    people, cases = _File(out, "persons"), _File(out, "dossiers")
    for n in range(dossiers):
        model = models[chosen[n]]
        client = persons[model["client"]]
        person_id = f"synthetic:person:{n}"
        people.write(
            {
                **client,
                "source_id": person_id,
                "first_name": rng.choice(first_names),
                "last_name": rng.choice(last_names),
                "ahv_number": None,
            }
        )
        cases.write({**model, "source_id": dossier_id(n), "client": person_id, "household": None})
    files[people.name], files[cases.name] = people.close(), cases.close()

    written = _File(out, "users")
    for user in users:
        written.write(user)
    files[written.name] = written.close()

    lines = _File(out, "journal")
    for i in range(journal):
        n = i * dossiers // journal if dossiers else 0
        model = models[chosen[n]]
        own = entries[model["source_id"]]
        entry = own[i % len(own)]
        lines.write({**entry, "source_id": f"synthetic:journal:{i}", "dossier": dossier_id(n)})
    files[lines.name] = lines.close()

    if documents:
        folder = out / fmt.DOCUMENTS_DIR
        folder.mkdir()
        uploader = users[0]["source_id"]
        docs = _File(out, "documents")
        for i in range(documents):
            n = i * dossiers // documents if dossiers else 0
            body = rng.randbytes(DOCUMENT_BYTES // 2).hex().encode()
            path = f"{fmt.DOCUMENTS_DIR}synthetic-{i}.txt"
            (out / path).write_bytes(body)
            docs.write(
                {
                    "source_id": f"synthetic:document:{i}",
                    "dossier": dossier_id(n),
                    "task": None,
                    "path": path,
                    "original_name": f"note-{i}.txt",
                    "content_type": "text/plain",
                    "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "uploaded_by": uploader,
                    "uploaded_at": models[chosen[n]]["opened_on"] + "T09:00:00Z",
                }
            )
        files[docs.name] = docs.close()

    manifest["producer"] = "Filum synthetic delivery"
    manifest["files"] = {name: files[name].model_dump() for name in sorted(files)}
    (out / fmt.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Synthetic(path=out, counts={n.removesuffix(".jsonl"): e.count for n, e in files.items()})
