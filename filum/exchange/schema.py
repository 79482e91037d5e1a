"""The published JSON Schemas of the intermediate format (``docs/exchange/*.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from filum.exchange.format import json_schemas


def schema_dir() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "exchange"


def rendered_schemas() -> dict[str, str]:
    """File name -> the text of the schema as published."""
    return {
        f"{kind}.schema.json": json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True)
        + "\n"
        for kind, schema in json_schemas().items()
    }
