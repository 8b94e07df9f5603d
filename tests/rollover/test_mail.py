"""The email's content: escaped HTML, safe links, suggested actions, budget order."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from handlers.adapters.mail.findings import suggested_action
from handlers.adapters.mail.message import AlertFile, Digest, build_message, split_attachments
from handlers.adapters.mail.text import alert_lines
from handlers.domain.alerts import build_alert
from handlers.domain.window_members import MailWindow
from handlers.domain.windows import aligned_window
from handlers.settings import MailSettings
from tests.rollover.conftest import WINDOW_START, alert_for


def message_of(alert: dict, root: Path) -> EmailMessage:
    """The window email of one alert."""
    path = root / "a.json"
    path.write_text("{}")
    digest = Digest(MailWindow(aligned_window(WINDOW_START)), [AlertFile(path, alert, 2)])
    return build_message(digest, MailSettings(to=("ops@example.com",)), root=root,
                         created_at=datetime(2026, 4, 24, 11, 20, tzinfo=UTC), budget_bytes=100)


def test_alert_text_cannot_inject_markup_or_links(tmp_path: Path):
    alert = alert_for("SRTG", "2026-04-24T17:03:00")
    alert["holder_name"] = "<script>alert(1)</script>"
    alert["context"]["doc"]["url"] = "javascript:alert(1)"
    message = message_of(alert, tmp_path)
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "href=\"javascript" not in html


def test_suggested_actions_follow_the_original_rules():
    assert suggested_action({"category": "not_inserted", "stage": "parser",
                             "code": "table_not_found"}).startswith("Insert manually")
    assert suggested_action({"category": "inserted", "stage": "filings",
                             "code": "price_deviation_vs_market"}).startswith("Recalculate")
    assert suggested_action({"category": "not_inserted", "stage": "filings",
                             "code": "transfer_uid_required"}) == \
        "Pair both sides of the transfer manually."


def test_attachments_smallest_first_within_budget(tmp_path: Path):
    files = [AlertFile(tmp_path / f"{n}.json", {}, size) for n, size in
             (("big", 60), ("small", 10), ("mid", 30))]
    attached, left_out = split_attachments(files, 45)
    assert [f.path.stem for f in attached] == ["small", "mid"]
    assert [f.path.stem for f in left_out] == ["big"]


def test_an_alert_without_any_address_says_so_instead_of_pointing_at_a_link():
    alert = build_alert(code="table_not_found", timestamp="2026-04-24T10:00:00+00:00",
                        doc={"filename": "LK-unknown.pdf"})
    [_, problem, action] = alert_lines(alert)
    assert problem == "  Problem: No transaction table found in the form"
    assert action == ("  Action: Insert manually from the PDF, then re-run. "
                      "(no address of the document is known)")


def test_text_is_escaped_once_in_html_and_left_as_is_in_the_text_part(tmp_path: Path):
    alert = alert_for("SRTG", "2026-04-24T17:03:00")
    alert["holder_name"] = 'PT Kino & Partners <Tbk> "Jaya"'
    message = message_of(alert, tmp_path)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert 'PT Kino &amp; Partners &lt;Tbk&gt; "Jaya"' in html and "&amp;amp;" not in html
    assert 'PT Kino & Partners <Tbk> "Jaya"' in text and "&amp;" not in text
