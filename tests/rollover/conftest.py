"""Fixtures for the rollover tests: a real SMTP server on 127.0.0.1 and a window's files.

The server is aiosmtpd's `Controller`; it can be created on a free port without being started
(the SMTP server is "down"), then started on that same port. `WindowFiles` lays out what the
pipeline would have produced for one window (filings, bucketed alerts) and marks inbox files
done in the ledger, as the engine would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from daemon.files import sha256_file
from handlers.context import PipelineContext
from handlers.domain.alerts import build_alert
from handlers.domain.windows import WIB
from tests.support import free_port

WINDOW_START = datetime(2026, 4, 24, 16, 0, tzinfo=WIB)
STUB = "20260424_1600_20260424_1800"
PASSWORD = "s3cret-Pa55word-for-tests"


class Collect:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default)  # type: ignore[misc]
                for e in self.envelopes]


def check_login(server: Any, session: Any, envelope: Any, mechanism: str,
                auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


@dataclass
class SmtpServer:
    port: int
    handler: Collect = field(default_factory=Collect)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     authenticator=check_login, auth_require_tls=False)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A server on a free port, not started yet."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def mail_env(server: SmtpServer, **extra: str) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port), "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT_S": "5", "ALERT_FROM_EMAIL": "idxd@example.com",
            "ALERT_TO_EMAIL": "ops@example.com, desk@example.com",
            "ALERT_CC_EMAIL": "lead@example.com", "ALERT_BCC_EMAIL": "audit@example.com",
            **extra}


def alert_for(symbol: str, published: str, *, code: str = "price_deviation_vs_market",
              category: str = "inserted", padding: int = 0) -> dict[str, Any]:
    announcement = {"ticker": symbol, "published_at": published, "title": "Ownership report",
                    "url": f"https://www.idx.co.id/StaticData/{symbol}.pdf"}
    return build_alert(code=code, category=category, timestamp="2026-04-24T10:05:00+00:00",
                       doc={"filename": f"{symbol}_form.pdf",
                            "url": f"https://www.idx.co.id/StaticData/{symbol}.pdf"},
                       announcement=announcement, details={"note": "x" * padding},
                       filing={"symbol": f"{symbol}.JK", "holder_name": "Unitras Pertama",
                               "value": 1628400000000})


@dataclass
class WindowFiles:
    ctx: PipelineContext

    @property
    def root(self) -> Path:
        return self.ctx.root

    def alert(self, alert: dict[str, Any], name: str, stub: str = STUB) -> Path:
        bucket = "alerts_inserted" if alert["category"] == "inserted" else "alerts_not_inserted"
        path = self.root / bucket / stub / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(alert, indent=2))
        return path

    def parsed(self, name: str, published: str, *, done: bool = True) -> Path:
        path = self.root / "data/parsed" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"announcement": {"published_at": published}}))
        if done:
            self.mark_done("generate", path)
        return path

    def filings(self, name: str, published: str, outcomes: list[str]) -> Path:
        path = self.root / "data/filings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"announcement": {"published_at": published},
                                    "filings": [{"outcome": o} for o in outcomes]}))
        return path

    def mark_done(self, stage: str, path: Path) -> None:
        info = path.stat()
        relative = path.relative_to(self.root).as_posix()
        claim = self.ctx.ledger.claim(stage, relative, sha256_file(path), info.st_size,
                                      info.st_mtime_ns)
        assert claim is not None
        self.ctx.ledger.finish(claim.row_id, [], 1.0)


@pytest.fixture
def window_files(make_ctx: Callable[..., PipelineContext]) -> Callable[..., WindowFiles]:
    def build(env: dict[str, str] | None = None, **rollover: Any) -> WindowFiles:
        document = {"ingest": {"enabled": False}, "rollover": rollover}
        return WindowFiles(make_ctx(document, env or {}))

    return build
