"""`idxd demo`: the whole chain, offline, on bundled real announcements, in a temporary root.

The bundled data (`handlers/data/demo/`) is the exchange's items for two real announcements of
24 April 2026 (SRTG and BYAN) and a KSEI form PDF for each, drawn from their known parsed
records. Nothing is fetched: the PDFs and their `.meta.json` sidecars are placed in
`downloads/idx-format/` exactly as the download stage writes them, and the announcements batch
is dropped in `data/announcements/`, where the download stage finds every attachment already on
disk. Then every stage runs until drained (SQLite sink, no SMTP: the email goes to `outbox/`),
the 16:00–18:00 WIB window is closed, and the filings, alerts and paths are printed. The
operator's configuration and environment are ignored, so a demo never writes to a real
database or mails anyone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from daemon.cli_help import describe
from daemon.config import EngineSettings, Settings
from daemon.errors import ExitCode
from daemon.files import write_atomic, write_json_atomic
from daemon.runner import run_until_idle
from daemon.stages import StandaloneCommand, load_app
from handlers import paths
from handlers.context import open_context
from handlers.domain import attachments as names
from handlers.domain.announcements import batch_payload, select_in_window
from handlers.domain.window_members import MailWindow, bucketed_alerts
from handlers.domain.windows import WIB, Window, aligned_window
from handlers.jobs.rollover import close_window, window_name
from handlers.settings import PipelineSettings, load_pipeline_settings
from handlers.stages.download import sidecar_payload

DEMO_DIR = paths.BUNDLED / "demo"
DEMO_WINDOW = aligned_window(datetime(2026, 4, 24, 17, 0, tzinfo=WIB))
DEMO_DOCUMENT = {"ingest": {"enabled": False}, "rollover": {"send_empty": True},
                 "sink": {"kind": "sqlite"}}


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Run the whole chain offline on two bundled real announcements (SRTG and "
             "BYAN, 24 April 2026) in a fresh directory, and print the filings, alerts, email "
             "and artifacts it produced. The operator's configuration and environment are "
             "never read: nothing is fetched, nothing is mailed, no real database is touched.",
             ["idxd demo", "idxd demo --dir /tmp/idxd-demo"],
             {ExitCode.OK: "every file went through", ExitCode.FAILURE: "a file failed",
              ExitCode.BAD_CONFIG: "--dir names a non-empty directory or a file, or bad "
              "arguments"})
    parser.add_argument("--dir", type=Path, help="run in this new or empty directory instead "
                        "of a fresh temporary one")


def run_command(args: argparse.Namespace) -> int:
    if args.dir is not None and (problem := unusable_dir(args.dir)):
        print(f"idxd demo: {problem}.", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    root = (args.dir or Path(tempfile.mkdtemp(prefix="idxd-demo-"))).resolve()
    settings = demo_settings(root)
    place_inputs(root, DEMO_WINDOW)
    drained = run_until_idle(settings, load_app(settings.engine.app))
    with closing(open_context(settings)) as ctx:
        state = close_window(ctx, MailWindow(DEMO_WINDOW), datetime.now(UTC), force=True)
    print_summary(root, DEMO_WINDOW, state)
    return ExitCode.OK if drained.ok else ExitCode.FAILURE


def unusable_dir(directory: Path) -> str | None:
    """Why `--dir` cannot hold a demo: anything in it (a live root above all) is refused."""
    if directory.exists() and not directory.is_dir():
        return f"{directory} is a file; name a new or empty directory"
    if directory.is_dir() and any(directory.iterdir()):
        return (f"{directory} is not empty; the demo runs only in a new or empty directory, "
                "so it can never write into a real root")
    return None


def demo_settings(root: Path) -> Settings[PipelineSettings]:
    engine = EngineSettings(root=root, log_level="warning", settle_ms=50, workers=2)
    return Settings(engine=engine, app=load_pipeline_settings(DEMO_DOCUMENT, {}))


def place_inputs(root: Path, window: Window) -> None:
    """The announcements batch, and each PDF with its sidecar as if just downloaded."""
    items = json.loads((DEMO_DIR / "announcements.json").read_text(encoding="utf-8"))
    records = select_in_window(items, window)
    batch = f"{window.stub}.json"
    for record in records:
        for attachment in record["attachments"]:
            body = (DEMO_DIR / names.original_name(attachment)).read_bytes()
            pdf = root / paths.DOWNLOAD_KINDS[names.kind_of(attachment)] / names.local_name(
                record, attachment)
            write_json_atomic(paths.sidecar_of(pdf), sidecar_payload(
                record, attachment, window.stub, batch, pdf, body), durable=False)
            write_atomic(pdf, body, durable=False)
    write_json_atomic(root / paths.ANNOUNCEMENTS / batch,
                      batch_payload(window, records, "idxd demo (bundled sample data)"),
                      durable=False)


def print_summary(root: Path, window: Window, state: str) -> None:
    print(f"idxd demo in {root}")
    print("\nFilings:")
    for path in sorted((root / paths.FILINGS).glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for filing in record.get("filings") or []:
            row = filing["row"]
            print(f"  {filing['outcome']:<16} {row['symbol']:<8} {row['transaction_type']:<5} "
                  f"{row['amount_transaction']:>14,} shares  {row['holder_name']}")
    print("\nAlerts:")
    alerts = list(bucketed_alerts(root, MailWindow(window)))
    for path in alerts:
        alert = json.loads(path.read_text(encoding="utf-8"))
        print(f"  {alert.get('category'):<13} {alert.get('code'):<28} "
              f"{alert.get('symbol') or '-'}  {alert.get('message')}")
    if not alerts:
        print("  (none)")
    name = window_name(MailWindow(window))
    print(f"\nWindow {window.stub}: {state}")
    print(f"Email:     {root / paths.OUTBOX / (name + '.eml')}")
    print(f"Artifacts: {root / paths.ARTIFACTS / (name + '.zip')}")


DEMO_COMMAND = StandaloneCommand(
    name="demo", help="run the whole chain offline on bundled sample data in a temporary "
    "directory and print what it produced", configure=configure, run=run_command)
