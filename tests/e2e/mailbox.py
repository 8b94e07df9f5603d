"""A real SMTP server (aiosmtpd) for end-to-end runs, and what the pipeline's emails must show.

`Mailbox` records every message the daemon delivers. `email_problems` compares them with the
ledger's closed windows: each window marked sent has exactly one Message-ID on the wire (a copy
sent again after a crash must be byte for byte the same message), no message belongs to no
window, and every bucketed alert is attached to exactly one message.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.support import free_port

WINDOW_PREFIX = "rollover.window."


class Mailbox:
    def __init__(self, refuse: bool = False) -> None:
        self.raw: list[bytes] = []
        self.refuse = refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 Message refused for this test"
        self.raw.append(bytes(envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for raw in self.raw]


@contextmanager
def smtp_server(mailbox: Mailbox, port: int | None = None) -> Iterator[int]:
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT_S": "5", "ALERT_FROM_EMAIL": "idxd@example.com",
            "ALERT_TO_EMAIL": "desk@example.com", **extra}


def window_states(root: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(root / "state" / "ledger.sqlite3") as db:
        rows = db.execute("SELECT key, value FROM kv WHERE key LIKE ?",
                          (WINDOW_PREFIX + "%",)).fetchall()
    return {key.removeprefix(WINDOW_PREFIX): json.loads(value) for key, value in rows}


def email_problems(root: Path, mailbox: Mailbox) -> list[str]:
    sent = {name: state["message_id"] for name, state in window_states(root).items()
            if state.get("state") == "sent"}
    copies: dict[str, set[bytes]] = defaultdict(set)
    attached: dict[str, set[str]] = defaultdict(set)
    for raw, message in zip(mailbox.raw, mailbox.messages(), strict=True):
        mid = str(message["Message-ID"]).strip()  # folded onto its own line, it keeps a space
        copies[mid].add(raw)
        for part in message.iter_attachments():
            attached[str(part.get_filename())].add(mid)
    problems = [f"{len(raws)} different messages with Message-ID {mid}"
                for mid, raws in copies.items() if len(raws) > 1]
    problems += [f"window {name} marked sent but never received" for name, mid in sent.items()
                 if mid not in copies]
    problems += [f"message {mid} belongs to no sent window" for mid in copies
                 if mid not in sent.values()]
    for path in sorted(root.glob("alerts_*inserted/*/*.json")):
        if len(attached.get(path.name, ())) != 1:
            problems.append(f"alert {path.name} is in {len(attached.get(path.name, ()))} emails")
    return problems
