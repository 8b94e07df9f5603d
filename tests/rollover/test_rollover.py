"""Closing a window: exactly one email per window through a real SMTP server, outages, crashes,
pending files, empty windows and the artifacts zip."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from handlers.domain.windows import WIB
from handlers.jobs import rollover
from tests.rollover.conftest import PASSWORD, STUB, WINDOW_START, alert_for, mail_env
from tests.support import refused_port

AFTER_GRACE = WINDOW_START + timedelta(hours=2, minutes=20)
REPO = Path(__file__).resolve().parents[2]


def three_alerts(files) -> list[Path]:
    return [files.alert(alert_for("SRTG", "2026-04-24T17:03:00"), "small.json"),
            files.alert(alert_for("BYAN", "2026-04-24T16:53:57", padding=400), "medium.json"),
            files.alert(alert_for("ESSA", "2026-04-24T16:21:03", code="symbol_missing",
                                  category="not_inserted", padding=5000), "large.json")]


def test_one_message_per_window_with_parts_budget_and_recipients(smtp, window_files):
    smtp.start()
    files = window_files(mail_env(smtp), attach_budget_bytes=4000)
    three_alerts(files)
    files.filings("SRTG.json", "2026-04-24T17:03:00", ["inserted"])

    rollover.run_timer(files.ctx, AFTER_GRACE)
    rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(minutes=1))

    assert len(smtp.handler.envelopes) == 1
    envelope, message = smtp.handler.envelopes[0], smtp.handler.messages()[0]
    assert message["Subject"] == "[IDX Alerts] 3 alert(s) — 2026-04-24 16:00–18:00 WIB"
    assert sorted(envelope.rcpt_tos) == ["audit@example.com", "desk@example.com",
                                         "lead@example.com", "ops@example.com"]
    assert "audit@example.com" not in str(message)  # BCC only on the envelope
    assert message["Cc"] == "lead@example.com"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert ("Action: Confirm the issuer's symbol against the PDF, fix the company map, then "
            "re-run. PDF: https://www.idx.co.id/StaticData/ESSA.pdf") in text
    assert '<a href="https://www.idx.co.id/StaticData/BYAN.pdf" ' in html
    # The zip holds everything and goes first; then the alerts that fit what is left.
    attached = {part.get_filename(): len(part.get_content())
                for part in message.iter_attachments()}
    assert list(attached) == [f"{STUB}.zip", "small.json"]
    assert sum(attached.values()) <= 4000
    left_out = text.split("Attachments and artifacts")[1]
    assert "not attached (over the attachment budget; in the artifacts zip): medium.json" in \
        left_out
    assert f"attached: {STUB}.zip (" in left_out
    assert "1 filing(s) inserted" in text


def test_smtp_down_then_up_sends_once(smtp, window_files):
    files = window_files(mail_env(smtp))
    three_alerts(files)

    rollover.run_timer(files.ctx, AFTER_GRACE)  # nothing listens on the port yet
    assert files.ctx.ledger.get_state(f"rollover.window.{STUB}")["state"] == "sending"

    smtp.start()
    rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(minutes=1))
    rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(minutes=2))

    assert len(smtp.handler.envelopes) == 1
    assert files.ctx.ledger.get_state(f"rollover.window.{STUB}")["state"] == "sent"


def test_killed_after_accept_resends_the_same_message_id(smtp, window_files, tmp_path):
    smtp.start()
    env = mail_env(smtp)
    files = window_files(env)
    three_alerts(files)
    files.ctx.ledger.close()
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime
        from pathlib import Path
        from daemon.config import EngineSettings, Settings
        from handlers.jobs import rollover
        from handlers.context import PipelineContext
        from handlers.settings import load_pipeline_settings
        from handlers.domain.windows import WIB
        settings = Settings(EngineSettings(root=Path({str(files.root)!r}), durable_writes=False),
                            load_pipeline_settings({{"ingest": {{"enabled": False}}}}, {env!r}))
        def killed(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        rollover._mark_sent = killed
        rollover.run_timer(PipelineContext(settings), datetime.fromisoformat(
            {AFTER_GRACE.isoformat()!r}))
    """)
    died = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=60)
    assert died.returncode == -signal.SIGKILL
    assert len(smtp.handler.envelopes) == 1

    restarted = window_files(env)
    rollover.run_timer(restarted.ctx, AFTER_GRACE + timedelta(minutes=1))
    rollover.run_timer(restarted.ctx, AFTER_GRACE + timedelta(minutes=2))

    first, second = smtp.handler.messages()
    assert first["Message-ID"] == second["Message-ID"]
    assert smtp.handler.envelopes[0].content == smtp.handler.envelopes[1].content


def test_waits_for_pending_files_then_sends(smtp, window_files):
    smtp.start()
    files = window_files(mail_env(smtp))
    three_alerts(files)
    parsed = files.parsed("BYAN.json", "2026-04-24T16:53:57", done=False)

    rollover.run_timer(files.ctx, AFTER_GRACE)
    assert smtp.handler.envelopes == []

    files.mark_done("generate", parsed)
    rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(minutes=1))
    assert len(smtp.handler.envelopes) == 1


def test_a_window_still_waiting_at_a_restart_is_sent_after_it(smtp, window_files):
    smtp.start()
    env = mail_env(smtp)
    files = window_files(env)
    three_alerts(files)
    parsed = files.parsed("BYAN.json", "2026-04-24T16:53:57", done=False)
    rollover.run_timer(files.ctx, AFTER_GRACE)  # the first tick ever: the window waits
    assert smtp.handler.envelopes == []
    files.ctx.close()  # the daemon stops; it starts again two windows later

    restarted = window_files(env)
    restarted.mark_done("generate", parsed)
    rollover.run_timer(restarted.ctx, AFTER_GRACE + timedelta(hours=4))

    assert [m["Subject"] for m in smtp.handler.messages()] == [
        "[IDX Alerts] 3 alert(s) — 2026-04-24 16:00–18:00 WIB"]


def test_max_wait_sends_and_names_what_is_pending(smtp, window_files):
    smtp.start()
    files = window_files(mail_env(smtp), max_wait_s=3600)
    three_alerts(files)
    files.parsed("BYAN.json", "2026-04-24T16:53:57", done=False)

    rollover.run_timer(files.ctx, WINDOW_START + timedelta(hours=3, minutes=1))

    text = smtp.handler.messages()[0].get_body(("plain",)).get_content()
    assert "Still pending when the window closed" in text
    assert "- data/parsed/BYAN.json" in text


def test_window_without_alerts_sends_nothing_unless_digest(smtp, window_files):
    smtp.start()
    files = window_files(mail_env(smtp))
    files.filings("SRTG.json", "2026-04-24T17:03:00", ["already_present"])
    rollover.run_timer(files.ctx, AFTER_GRACE)
    assert smtp.handler.envelopes == []
    assert (files.root / "artifacts" / f"{STUB}.zip").is_file()

    digest = window_files(mail_env(smtp), send_empty=True)
    rollover.run_timer(digest.ctx, AFTER_GRACE + timedelta(hours=2))  # the next window
    assert [m["Subject"] for m in smtp.handler.messages()] == [
        "[IDX Alerts] 0 alert(s) — 2026-04-24 18:00–20:00 WIB"]


def test_a_window_whose_source_was_blocked_says_so_instead_of_staying_silent(smtp,
                                                                             window_files):
    smtp.start()
    files = window_files(mail_env(smtp))
    files.ctx.ledger.set_state("source.health.www.idx.co.id", {
        "refusals": 3, "blocked_since": (WINDOW_START + timedelta(minutes=77)).isoformat(),
        "blocked_until": (AFTER_GRACE + timedelta(minutes=20)).isoformat()})

    rollover.run_timer(files.ctx, AFTER_GRACE)

    [message] = smtp.handler.messages()  # no alerts, yet an email: blocked is not "nothing"
    text = message.get_body(("plain",)).get_content()
    assert ("www.idx.co.id refused us and was rested for 43 min of this window (blocked since "
            "2026-04-24 17:17 WIB)") in text


def test_zip_manifest_matches_the_files(window_files):
    files = window_files()
    alerts = three_alerts(files)
    filing = files.filings("SRTG.json", "2026-04-24T17:03:00", ["inserted"])
    outside = files.filings("OLD.json", "2026-04-24T12:00:00", ["inserted"])
    rollover.run_timer(files.ctx, AFTER_GRACE)

    with zipfile.ZipFile(files.root / "artifacts" / f"{STUB}.zip") as archive:
        import json

        manifest = json.loads(archive.read("MANIFEST.json"))
        listed = {entry["path"]: entry for entry in manifest["files"]}
        assert set(listed) == {p.relative_to(files.root).as_posix() for p in [*alerts, filing]}
        assert outside.relative_to(files.root).as_posix() not in listed
        for path, entry in listed.items():
            on_disk = (files.root / path).read_bytes()
            assert entry["sha256"] == hashlib.sha256(on_disk).hexdigest()
            assert entry["sha256"] == hashlib.sha256(archive.read(path)).hexdigest()
            assert entry["size"] == len(on_disk)


def test_outbox_is_the_transport_without_smtp(window_files):
    files = window_files({"ALERT_TO_EMAIL": "ops@example.com"})
    three_alerts(files)
    rollover.run_timer(files.ctx, AFTER_GRACE)
    eml = files.root / "outbox" / f"{STUB}.eml"
    assert b"Subject: [IDX Alerts] 3 alert(s)" in eml.read_bytes()
    assert files.ctx.ledger.get_state("app.rollover")["last_email"]["transport"] == "outbox"


def test_login_works_and_the_password_is_nowhere(smtp, window_files, capsys):
    smtp.start()
    files = window_files(mail_env(smtp, SMTP_USER="idxd", SMTP_PASSWORD=PASSWORD))
    three_alerts(files)
    rollover.run_timer(files.ctx, AFTER_GRACE)
    assert len(smtp.handler.envelopes) == 1

    smtp.stop()  # the next window's email fails: its error is logged
    with refused_port(smtp.port):  # and no other test's server answers there meanwhile
        files.alert(alert_for("TRJA", "2026-04-24T18:30:24"), "late.json",
                    stub="20260424_1800_20260424_2000")
        rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(hours=2))
    captured = capsys.readouterr()
    assert "email.unavailable" in captured.out + captured.err
    assert PASSWORD not in captured.out + captured.err
    assert PASSWORD not in repr(files.ctx.config)
    for path in files.root.rglob("*"):
        if path.is_file() and path.suffix in (".eml", ".zip", ".json", ".sqlite3"):
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_windows_before_the_cursor_are_not_reopened(window_files):
    files = window_files()
    three_alerts(files)
    rollover.run_timer(files.ctx, AFTER_GRACE)
    os.remove(files.root / "outbox" / f"{STUB}.eml")
    rollover.run_timer(files.ctx, datetime(2026, 4, 24, 20, 30, tzinfo=WIB))
    assert not (files.root / "outbox" / f"{STUB}.eml").exists()


def test_a_late_alert_goes_into_the_next_window_and_says_so(smtp, window_files):
    smtp.start()
    files = window_files(mail_env(smtp))
    three_alerts(files)
    rollover.run_timer(files.ctx, AFTER_GRACE)
    files.alert(alert_for("WINR", "2026-04-24T16:40:02"), "late.json")  # for the closed window

    rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(hours=2))
    rollover.run_timer(files.ctx, AFTER_GRACE + timedelta(hours=4))

    _first, second = smtp.handler.messages()
    assert second["Subject"] == "[IDX Alerts] 1 alert(s) — 2026-04-24 18:00–20:00 WIB"
    text = second.get_body(("plain",)).get_content()
    assert f"- alerts_inserted/{STUB}/late.json" in text.split("Late alerts")[1]
