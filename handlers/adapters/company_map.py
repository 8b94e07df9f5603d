"""The company map: symbol ("SRTG.JK") -> name, sector, sub-sector, last close price and date.

Every stage that needs an issuer's name or sector reads `ctx.company_map`. It is loaded once per
context from the local cache (`state/company/company_map.json`) or, when no cache exists yet,
from the snapshot bundled with the package, and replaced in place after a refresh. This module
owns the files and their meta (`generated_at`, `row_count`, the original's checksum); where the
rows come from (Supabase, an external script) lives in `handlers/company_source.py`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.files import write_json_atomic
from handlers import paths

BUNDLED_DIR = paths.BUNDLED / "company"
MAP_NAME = "company_map.json"
META_NAME = "company_map.meta.json"
FIELDS = ("company_name", "sector", "sub_sector", "last_close_price", "latest_close_date")

CompanyMap = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class LoadedMap:
    """A map with where it came from: `cache` or `bundled`."""

    rows: CompanyMap
    meta: dict[str, Any]
    origin: str


def load_local(root: Path) -> LoadedMap:
    """The cached map under the root, else the bundled snapshot."""
    cache = cache_paths(root)
    if cache[0].is_file():
        return LoadedMap(_read_json(cache[0]), _read_meta(cache[1]), "cache")
    bundled = bundled_paths()
    return LoadedMap(_read_json(bundled[0]), _read_meta(bundled[1]), "bundled")


def cache_paths(root: Path) -> tuple[Path, Path]:
    return root / paths.COMPANY_CACHE / MAP_NAME, root / paths.COMPANY_CACHE / META_NAME


def bundled_paths() -> tuple[Path, Path]:
    return BUNDLED_DIR / MAP_NAME, BUNDLED_DIR / META_NAME


def checksum(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The original's checksum: sha256 over `SYM|name|sector|sub_sector|price|date` lines."""
    lines = [_checksum_line(symbol, rows[symbol]) for symbol in sorted(rows)]
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _checksum_line(symbol: str, row: Mapping[str, Any]) -> str:
    return "|".join([symbol, *(_text(row.get(name)) for name in FIELDS)])


def _text(value: Any) -> str:
    # The original formatted values with Python's str(); None became an empty field.
    return "" if value is None else str(value)


def build_meta(rows: Mapping[str, Mapping[str, Any]], *, source: str, table: str,
               generated_at: datetime) -> dict[str, Any]:
    stamp = generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "generated_at": stamp,
        "report_table": table,
        "row_count": len(rows),
        "row_count_report": len(rows),
        "checksum": checksum(rows),
        "source": source,
        "columns": "symbol," + ",".join(FIELDS),
    }


def save_cache(root: Path, rows: CompanyMap, meta: dict[str, Any], *,
               durable: bool = True) -> LoadedMap:
    """Write map then meta (the meta names a complete map); returns the map now in the cache."""
    map_path, meta_path = cache_paths(root)
    write_json_atomic(map_path, rows, durable=durable)
    write_json_atomic(meta_path, meta, durable=durable)
    return LoadedMap(rows, meta, "cache")


def generated_at_of(meta: Mapping[str, Any]) -> datetime | None:
    raw = meta.get("generated_at")
    if not isinstance(raw, str):
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _read_json(path: Path) -> CompanyMap:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return data


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return meta if isinstance(meta, dict) else {}
