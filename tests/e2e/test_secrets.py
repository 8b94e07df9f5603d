"""Secrets stay secret: with a Supabase key, an SMTP password, a proxy with credentials and a
database URL with a password all set, none of them appears in the logs, the alerts, the emails,
the artifacts, the ledger or anything else under the root.

The pipeline runs for real: `idxd once` fetches a window through the proxy (the local exchange
plays the proxy and records the credentials it was given, which proves they were used), stores
filings in the throwaway PostgreSQL, zips the window and mails it through an SMTP server that
requires the login; then `idxd run` runs its timer jobs (the company map refresh talks to
"Supabase" and fails), and `check-config` and `status` print what they print.

The second test makes the outside world hostile: the SMTP server refuses the first login with a
reply that repeats the AUTH PLAIN line and the AUTH LOGIN password it was sent, and the
"Supabase" answers 401 with the apikey in its body. Those texts reach the log, the ledger, the
alerts, the filings records, the zip and the email, and must arrive there scrubbed. A
PostgreSQL URL whose password has a raw `%` and `@` (libpq cannot parse it, and would quote it
in every error) stops every command at its start, with a sentence that does not hold it.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from handlers.domain.windows import WIB
from tests.e2e.daemon import REPO, DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.e2e.mailbox import Mailbox, smtp_env
from tests.e2e.scenario import Scenario
from tests.sinks.conftest import Cluster
from tests.sinks.fake_postgrest import EchoingPostgrest
from tests.support import free_port, wait_for

SUPABASE_KEY = "sb-secret-Kq81ZzSupabaseKey"
SMTP_PASSWORD = "smtp-secret-Wx93MailPass"
PROXY_PASSWORD = "proxy-secret-Pz27ProxyPass"
DB_PASSWORD = "db-secret-Dv55DatabasePass"
SECRETS = (SUPABASE_KEY, SMTP_PASSWORD, PROXY_PASSWORD, DB_PASSWORD)


# `%` then a non-hex digit, and an `@`: libpq quotes the pieces it splits this into.
HOSTILE_DB_PASSWORD = "Dq%7wzTk@Hx38kPgV"


def forms_of(secret: str) -> list[bytes]:
    """The secret as text, URL-quoted, and inside the base64 a client sends for a login."""
    forms = {secret, quote(secret, safe=""), unquote(secret)}
    raw = [form.encode() for form in forms]
    for user in ("proxyuser", "alerts", ""):
        raw.append(base64.b64encode(f"{user}:{secret}".encode()))
        raw.append(base64.b64encode(f"\0{user}\0{secret}".encode()))
    raw.append(base64.b64encode(secret.encode()))
    return raw


@pytest.fixture
def mail_server() -> Iterator[tuple[Mailbox, int, list[bytes]]]:
    mailbox, logins, port = Mailbox(), [], free_port()

    def check(server: object, session: object, envelope: object, mechanism: str,
              data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
        logins.append(b"ok" if ok else b"refused")
        return AuthResult(success=ok)

    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=check,
                            auth_require_tls=False)
    controller.start()
    try:
        yield mailbox, port, logins
    finally:
        controller.stop()


def secret_env(exchange: Exchange, cluster: Cluster, smtp_port: int) -> dict[str, str]:
    host = exchange.origin.removeprefix("http://")
    return {**smtp_env(smtp_port, SMTP_USER="alerts", SMTP_PASSWORD=SMTP_PASSWORD),
            "PROXY": f"http://proxyuser:{PROXY_PASSWORD}@{host}",
            "SUPABASE_URL": exchange.origin, "SUPABASE_KEY": SUPABASE_KEY, "SINK": "postgres",
            "DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{cluster.port}/"
                            "postgres"}


def test_no_secret_appears_in_any_output(tmp_path: Path, exchange: Exchange,
                                         pg_cluster: Cluster, mail_server) -> None:
    mailbox, smtp_port, logins = mail_server
    Scenario(count=6, first=datetime.now(UTC) - timedelta(minutes=20), spread_s=60.0
             ).publish(exchange, tmp_path / "forms")
    root = tmp_path / "root"
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             sink={"table": "filings_secrets"},
                             company_map={"max_age_h": 0.0001, "check_period_s": 0.5})
    env = secret_env(exchange, pg_cluster, smtp_port)
    outputs = [run_command(config, env, "once", "--minutes", "30"),
               run_command(config, env, "check-config"),
               run_command(config, env, "status", "--json", ok=None)]  # 1: a stale map
    daemon = DaemonProcess(config, tmp_path / "run.log", env)
    daemon.wait_started()
    wait_until_refresh_tried(daemon)
    assert daemon.stop() == 0
    assert exchange.proxy_auth and logins == [b"ok"] and len(mailbox.raw) == 1
    texts = [*outputs, (tmp_path / "run.log").read_bytes(), *mailbox.raw,
             *decoded_emails(mailbox.raw), *every_file(root)]
    leaks = [(secret, text[:200]) for text in texts for secret in SECRETS
             if any(form in text for form in forms_of(secret))]
    assert leaks == []


def run_command(config: Path, env: dict[str, str], *args: str, ok: bool | None = True) -> bytes:
    """The command's whole output; it must succeed when `ok`, fail cleanly when not, and do
    either (with no traceback) when `ok` is None."""
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), *args],
                            cwd=REPO, capture_output=True, timeout=120,
                            env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    expected = {True: {0}, False: {1}, None: {0, 1}}[ok]
    assert result.returncode in expected, result.stderr.decode()[-2000:]
    assert b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    return result.stdout + result.stderr


def wait_until_refresh_tried(daemon: DaemonProcess) -> None:
    wait_for(lambda: daemon.has("company_map.refresh_failed"), 30, "a company map refresh",
             alive=daemon.process)


def decoded_emails(raws: list[bytes]) -> list[bytes]:
    decoded = []
    for raw in raws:
        for part in message_from_bytes(raw, policy=policy.default).walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                decoded.append(payload)
    return decoded


def every_file(root: Path) -> list[bytes]:
    """Every file's bytes, and every zip member's."""
    contents = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        contents.append(path.read_bytes())
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                contents += [archive.read(name) for name in archive.namelist()]
    assert any(path.suffix == ".zip" for path in root.rglob("*.zip"))
    return contents


class EchoingMailbox(Mailbox):
    """An SMTP server that refuses the first login with a reply repeating what the client sent
    (the AUTH PLAIN line, then the AUTH LOGIN user and password), and accepts the later ones."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals_left, self.plain_line = 1, ""

    async def handle_AUTH(self, server: SMTP, session: object, envelope: object,
                          args: list[str]) -> str:
        if args[0] == "PLAIN":
            self.plain_line = " ".join(args)
            return self._refuse(self.plain_line) if self.refusals_left else self._accept()
        password = await server.challenge_auth("Password:")
        if not isinstance(password, bytes) or not self.refusals_left:
            return self._accept()
        self.refusals_left -= 1
        login = " ".join([*args, base64.b64encode(password).decode()])
        return self._refuse(f"{self.plain_line}, then AUTH {login}")

    def _refuse(self, heard: str) -> str:
        return f"535 5.7.8 refused: you sent AUTH {heard}"

    def _accept(self) -> str:
        return "235 2.7.0 Authentication successful"


@pytest.fixture
def echoing_mail_server() -> Iterator[tuple[EchoingMailbox, int]]:
    mailbox, port = EchoingMailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            authenticator=lambda *_: AuthResult(success=True),
                            auth_require_tls=False)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def test_secrets_echoed_back_by_servers_are_scrubbed_everywhere(
        tmp_path: Path, exchange: Exchange, pg_cluster: Cluster, httpserver: HTTPServer,
        echoing_mail_server: tuple[EchoingMailbox, int]) -> None:
    mailbox, smtp_port = echoing_mail_server
    supabase = EchoingPostgrest()
    httpserver.expect_request("").respond_with_handler(supabase)
    Scenario(count=2, first=datetime.now(UTC) - timedelta(minutes=20), spread_s=60.0
             ).publish(exchange, tmp_path / "forms")
    root = tmp_path / "root"
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             sink={"table": "filings_hostile"},
                             company_map={"max_age_h": 0.0001, "check_period_s": 0.5})
    env = {**secret_env(exchange, pg_cluster, smtp_port), "SINK": "supabase",
           "SUPABASE_URL": httpserver.url_for("/").rstrip("/"),
           "DATABASE_URL": f"postgresql://postgres:{HOSTILE_DB_PASSWORD}@127.0.0.1:"
                           f"{pg_cluster.port}/postgres"}
    # The first run's mail is refused; the second, for the same window, sends the stored
    # message. The window reaches past the runs, so the alerts they raise are in its email.
    window = open_window()
    outputs = [run_command(config, env, "once", *window, ok=False),
               run_command(config, env, "once", *window, ok=None)]
    daemon = DaemonProcess(config, tmp_path / "run.log", env)
    daemon.wait_started()
    wait_until_refresh_tried(daemon)
    assert daemon.stop() == 0
    assert mailbox.refusals_left == 0 and len(mailbox.raw) == 1 and supabase.seen
    texts = [*outputs, (tmp_path / "run.log").read_bytes(), *mailbox.raw,
             *decoded_emails(mailbox.raw), *every_file(root)]
    assert_echoes_were_recorded(root, texts)
    secrets = (SUPABASE_KEY, SMTP_PASSWORD, PROXY_PASSWORD, HOSTILE_DB_PASSWORD)
    pieces = [piece.encode() for piece in HOSTILE_DB_PASSWORD.split("@")]
    leaks = [(secret, text[:200]) for text in texts for secret in secrets
             if any(form in text for form in forms_of(secret))]
    leaks += [(piece.decode(), text[:200]) for text in texts for piece in pieces if piece in text]
    assert leaks == []


def test_a_database_url_libpq_would_quote_stops_every_command_without_showing_it(
        tmp_path: Path, exchange: Exchange, pg_cluster: Cluster) -> None:
    root = tmp_path / "root"
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url)
    env = {**secret_env(exchange, pg_cluster, 2525), "SINK": "postgres",
           "DATABASE_URL": f"postgresql://postgres:{HOSTILE_DB_PASSWORD}@127.0.0.1:"
                           f"{pg_cluster.port}/postgres"}
    outputs = []
    for args in (["check-config"], ["once", *open_window()], ["run"]):
        result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), *args],
                                cwd=REPO, capture_output=True, timeout=60,
                                env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
        assert result.returncode == 2, result.stderr.decode()[-2000:]
        assert b"DATABASE_URL is not a PostgreSQL connection string" in result.stderr
        outputs.append(result.stdout + result.stderr)
    texts = [*outputs, *every_file(root)] if root.exists() else outputs
    pieces = [piece.encode() for piece in HOSTILE_DB_PASSWORD.split("@")]
    assert [text[:200] for text in texts for form in forms_of(HOSTILE_DB_PASSWORD) + pieces
            if form in text] == []


def open_window() -> list[str]:
    """`idxd once` options for the WIB window from 30 minutes ago to 30 minutes ahead."""
    start = datetime.now(WIB) - timedelta(minutes=30)
    end = start + timedelta(hours=1)
    return ["--date", f"{start:%Y%m%d}", "--start", f"{start:%H:%M}", "--end", f"{end:%H:%M}"]


def assert_echoes_were_recorded(root: Path, texts: list[bytes]) -> None:
    """The hostile answers did reach the outputs (masked), so the scrubbing was exercised."""
    everything = b"\n".join(texts)
    # The first mail attempt; the base64 of "\0alerts\0" before the password stays.
    assert re.search(rb"refused: you sent AUTH PLAIN [A-Za-z0-9+/]*\*\*\*", everything)
    assert b"Invalid API key ***" in everything  # filings record, alert, email
    assert any(path.suffix == ".eml" for path in root.rglob("*.eml"))
