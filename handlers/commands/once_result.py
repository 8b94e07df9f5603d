"""What `idxd once` did, for the person or script that ran it: a summary, or JSON.

Only what happened is said: an email is "sent" when an SMTP server accepted it, "written to
outbox/" when no server is set (that is its delivery), "not delivered" while it waits in
`outbox/`, and "none" for a window with nothing to mail. Every reason the run is a failure is
one short phrase (`reasons`), the first of which names the ingest when the exchange could not
be read: "ingest failed: exchange unreachable (ConnectError), 0 announcements".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.runner import DrainResult
from handlers.domain.windows import Window
from handlers.jobs.ingest import Outcome
from handlers.jobs.rollover import CLOSED, SENDING, SENT


@dataclass(frozen=True)
class OnceResult:
    window: str
    ingest: dict[str, Any] | None  # None: --no-ingest
    files: dict[str, int]
    email: dict[str, Any]
    artifacts: str | None
    alerts: int
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    @classmethod
    def of(cls, root: Path, window: Window, fetched: Outcome | None, drained: DrainResult,
           state: str, closed: dict[str, Any]) -> OnceResult:
        ingest = None if fetched is None else {
            "ok": fetched.ok, "announcements": fetched.announcements, "error": fetched.error,
            "batch": str(fetched.path) if fetched.path else None}
        files = {str(kind): count for kind, count in sorted(drained.outcomes.items())}
        email = _email(root, state, closed)
        reasons = _reasons(ingest, drained, email)
        artifact = closed.get("artifact")
        return cls(window.stub, ingest, files, email, str(root / artifact) if artifact else None,
                   len(closed.get("alerts") or []), reasons)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "window": self.window, "ingest": self.ingest, "files": self.files,
                "alerts": self.alerts, "email": self.email, "artifacts": self.artifacts,
                "reasons": self.reasons}

    def summary(self) -> str:
        lines = [f"window {self.window}: " + ("ok" if self.ok else "FAILED")]
        if self.ingest is None:
            lines.append("ingest:    skipped (--no-ingest)")
        elif self.ingest["ok"]:
            lines.append(f"ingest:    {self.ingest['announcements']} announcement(s)")
        else:
            lines.append(f"ingest:    failed: {self.ingest['error']}")
        files = ", ".join(f"{count} {kind}" for kind, count in self.files.items()) or "none"
        lines += [f"files:     {files}", f"alerts:    {self.alerts}",
                  f"email:     {self.email['said']}",
                  f"artifacts: {self.artifacts or 'none'}"]
        return "\n".join(lines)


def _email(root: Path, state: str, closed: dict[str, Any]) -> dict[str, Any]:
    eml = str(root / closed["eml"]) if closed.get("eml") else None
    transport = closed.get("transport")
    if state == SENT and transport == "smtp":
        said = f"sent by SMTP, a copy in {eml}"
    elif state == SENT:
        said = f"written to {eml}, not mailed (no SMTP server or no recipient is set)"
    elif state == SENDING:
        said = (f"NOT delivered ({closed.get('last_error')}); it waits in {eml} and is sent "
                "by the next `idxd once` or the daemon")
    elif state == CLOSED:
        said = "none (nothing to report in this window)"
    else:
        said = f"none (window {state})"
    return {"state": state, "transport": transport, "eml": eml, "said": said}


def _reasons(ingest: dict[str, Any] | None, drained: DrainResult,
             email: dict[str, Any]) -> list[str]:
    reasons = []
    if ingest is not None and not ingest["ok"]:
        reasons.append(f"ingest failed: {ingest['error']}, {ingest['announcements']} "
                       "announcements")
    if drained.failures:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(drained.outcomes.items())
                          if kind in ("failed", "quarantined", "crashed", "interrupted"))
        reasons.append(f"{drained.failures} file(s) did not go through ({kinds})")
    if email["state"] == SENDING:
        reasons.append("the email was not delivered")
    return reasons
