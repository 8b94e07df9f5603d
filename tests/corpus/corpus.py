"""The bad-input corpus: its manifest, laying it out in a root, and reading what became of it.

`MANIFEST.json` lists every case: the inbox it is dropped in, where its bytes come from (a file
under `files/`, or `make:<maker>` from `makers.py`), what the local exchange serves for it, and
its documented outcome: `quarantine` (stage and code), `done` (processed, with the alert codes
its announcement or filing raised), or `ignored` (a name the stage never takes). `outcome_of`
reads the same three things back from the root: quarantine records, ledger rows and alerts.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.corpus import makers
from tests.corpus.build_static import FILES
from tests.e2e.exchange import Exchange

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "MANIFEST.json"


@dataclass(frozen=True)
class Case:
    name: str  # as written in the manifest: `\xNN` escapes for raw bytes
    inbox: str
    source: str
    expect: dict[str, Any]
    why: str
    serve: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The root-relative path the daemon reports for it (printable)."""
        if self.source == "make:longest_name":
            return f"{self.inbox}/{makers.longest(self.name)}"
        return f"{self.inbox}/{self.name}"


def load_cases() -> list[Case]:
    return [Case(**case) for case in json.loads(MANIFEST.read_text())["cases"]]


def lay_out(cases: list[Case], root: Path, outside: Path, exchange: Exchange) -> None:
    """Every case in its inbox, announcement URLs pointing at `exchange`."""
    for case in cases:
        inbox = root / case.inbox
        inbox.mkdir(parents=True, exist_ok=True)
        if case.source.startswith("make:"):
            makers.MAKERS[case.source.removeprefix("make:")](inbox, case.name, outside)
        else:
            data = (HERE / case.source).read_bytes()
            (inbox / case.name).write_bytes(data.replace(b"http://EXCHANGE",
                                                         exchange.origin.encode()))
        for path, body in case.serve.items():
            exchange.files[path] = served_body(body)


def served_body(spec: Any) -> bytes | int | str:
    if isinstance(spec, int) or spec.startswith("redirect:"):
        return spec
    kind, _, value = spec.partition(":")
    if kind == "pdf":
        return (FILES / "pdf" / value).read_bytes()
    if kind == "make":
        return getattr(makers, value)()
    return value.encode()


@dataclass
class Outcomes:
    quarantined: dict[str, tuple[str, str]]  # source path -> (stage, code)
    done: dict[str, str]  # path -> stage
    states: dict[str, str]  # path -> state of its last row
    alerts_by_announcement: dict[str, list[str]]

    def of(self, case: Case, root: Path) -> dict[str, Any]:
        if case.key in self.quarantined:
            stage, code = self.quarantined[case.key]
            return {"quarantine": stage, "code": code}
        if case.key in self.done:
            return {"done": self.done[case.key], "alerts": self.alerts_of(case, root)}
        if case.key in self.states:
            return {"state": self.states[case.key]}
        return {"ignored": True}

    def alerts_of(self, case: Case, root: Path) -> list[str]:
        if case.inbox == "data/filings" or case.inbox == "data/parsed":
            record = read_json(root / "data/filings" / case.name) or {}
            return sorted(str(read_json(root / "alerts" / name).get("code"))
                          for name in record.get("alerts", []))
        if case.inbox != "data/announcements" or case.source.startswith("make:"):
            return []
        codes: list[str] = []
        for identity in announcement_ids(HERE / case.source):
            codes += self.alerts_by_announcement.get(identity, [])
        return sorted(codes)


def announcement_ids(source: Path) -> list[str]:
    data = json.loads(source.read_bytes() or b"null")
    return [str(item.get("Id")) for item in data if isinstance(item, dict)] \
        if isinstance(data, list) else []


def outcome_of(root: Path) -> Outcomes:
    quarantined = {}
    for record in (root / "quarantine").glob("*/*.error.json"):
        data = json.loads(record.read_text())
        quarantined[data["source_path"]] = (data["stage"], data["code"])
    done, states = {}, {}
    with sqlite3.connect(root / "state" / "ledger.sqlite3") as db:
        for stage, path, state in db.execute("SELECT stage, path, state FROM files ORDER BY id"):
            states[path] = state
            if state == "done":
                done[path] = stage
    by_announcement: dict[str, list[str]] = defaultdict(list)
    for path in (root / "alerts").glob("*.json"):
        alert = read_json(path)
        announcement = (alert.get("context") or {}).get("announcement") \
            if isinstance(alert.get("context"), dict) else None
        if isinstance(announcement, dict) and announcement.get("announcement_id"):
            by_announcement[str(announcement["announcement_id"])].append(str(alert.get("code")))
    return Outcomes(quarantined, done, states, dict(by_announcement))


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
