"""The window email an analyst reads, received through a real SMTP server: the filings first
with their values formatted, then corrections, chain breaks and source health, then what needs a
person with its publish time, the problem once and one action with its link; a failed ingest at
the top; the artifacts zip attached within the budget or named with its size and place."""

from __future__ import annotations

import io
import socket
import zipfile
from datetime import timedelta
from email.message import EmailMessage

from handlers.jobs import rollover
from tests.rollover import analyst_window
from tests.rollover.analyst_window import BYAN_PDF, ESSA_PDF, SRTG_PDF
from tests.rollover.conftest import PASSWORD, STUB, WINDOW_START, mail_env

AFTER_GRACE = WINDOW_START + timedelta(hours=2, minutes=20)


def received(smtp, window_files, *, ingest_failed: bool = False, **rollover_settings
             ) -> EmailMessage:
    smtp.start()
    files = window_files(mail_env(smtp, SMTP_USER="idxd", SMTP_PASSWORD=PASSWORD),
                         **rollover_settings)
    analyst_window.build(files, ingest_failed=ingest_failed)
    rollover.run_timer(files.ctx, AFTER_GRACE)
    [message] = smtp.handler.messages()
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_the_filings_inserted_come_first_with_their_values_formatted(smtp, window_files):
    text, html = parts(received(smtp, window_files))
    filings = text.split("Filings inserted (2)")[1].split("Corrections")[0]
    assert filings.index("BYAN.JK") < filings.index("SRTG.JK")  # by publish time
    assert ("2026-04-24 17:03 WIB  SRTG.JK  Sell  Unitras Pertama (Direktur Utama)\n"
            "  920,000,000 shares at IDR 1,770 = IDR 1,628,400,000,000\n"
            "  holding 4,289,610,000 (31.623%) → 3,369,610,000 (24.841%)\n"
            f"  PDF: {SRTG_PDF}\n") in filings.replace("\r\n", "\n")
    assert ("2026-04-24 16:53 WIB  BYAN.JK  Buy  Oliver Khaw Kar Heng (insider)\n"
            "  16,600 shares at IDR 12,248.22 = IDR 203,320,400\n") in filings.replace("\r\n",
                                                                                       "\n")
    assert "1628400000000" not in text + html and "1770.000" not in text + html
    for value in ("IDR 1,628,400,000,000", "Direktur Utama", "3,369,610,000 (24.841%)",
                  f'<a href="{SRTG_PDF}"', f'<a href="{BYAN_PDF}"'):
        assert value in html
    assert html.index("Filings inserted") < html.index("Corrections") < \
        html.index("Needs a person")


def test_corrections_chain_breaks_and_source_health_are_said_in_words(smtp, window_files):
    text, html = parts(received(smtp, window_files))
    assert ("SRTG.JK Unitras Pertama: filing SRTG-key replaces SRTG-old-key: holding after "
            "3,369,700,000 → 3,369,610,000; price IDR 1,775 → IDR 1,770.") in text
    assert ("SRTG.JK Unitras Pertama: the filing of 2026-04-20 09:15 WIB left 4,279,220,000 "
            "shares, the one of 2026-04-24 17:03 WIB starts from 4,289,610,000: 10,390,000 "
            "shares unaccounted for") in text
    assert "www.idx.co.id refused us and was rested for 43 min of this window" in text
    for section in ("Corrections", "Holding chain breaks", "Source health"):
        assert f">{section}</h2>" in html
    # Corrections and chain breaks are said once, not again as rows to act on.
    assert text.count("SRTG-old-key") == 1 and text.count("10,390,000") == 1


def test_what_needs_a_person_has_the_publish_time_one_problem_and_an_action_with_its_link(
        smtp, window_files):
    text, html = parts(received(smtp, window_files))
    tasks = text.split("Needs a person (3)")[1].replace("\r\n", "\n")
    # The filing's publish time, never when the alert was made (17:59 WIB).
    assert "17:59" not in text and "17:59" not in html
    assert ("2026-04-24 16:53 WIB  BYAN.JK  Oliver Khaw Kar Heng  [price_deviation_vs_market]\n"
            "  Problem: Price deviates from the last market close; Price 12,248.22 is 31% "
            "above the last close 9,350\n"
            "  Action: Recalculate the price against the reference range in the PDF, adjust and "
            f"re-upload. PDF: {BYAN_PDF}\n") in tasks
    assert ("  Problem: Holding after on page 2 was read by OCR with 62% confidence as "
            "“211.200” and is not verified\n") in tasks
    # A quarantined form names only its local file: the link comes from its sidecar.
    assert ("2026-04-24 16:21 WIB  ESSA  -  [pdf_unreadable]\n"
            "  Problem: ESSA_LK-24042026-0042-00.pdf cannot be read: the file is truncated "
            "(no %%EOF at its end)\n"
            f"  Action: Insert manually from the PDF, then re-run. PDF: {ESSA_PDF}\n") in tasks
    assert text.count("%%EOF") == 1 and html.count("%%EOF") == 1
    assert html.count(f'<a href="{ESSA_PDF}"') == 1 and "Open the PDF</a>" in html
    assert "attached link" not in text + html
    for leak in ("&amp;amp;", "&amp;lt;", "&#x27;", "\\n", "\\u"):
        assert leak not in text and leak not in html


def test_a_window_whose_ingest_failed_says_so_at_the_top(smtp, window_files):
    text, html = parts(received(smtp, window_files, ingest_failed=True))
    lines = text.splitlines()
    assert lines[2].startswith("INGEST FAILED in this window: the exchange was not read "
                               "completely, so filings published in it may be missing")
    assert "The exchange refused the announcement query; retried next tick (status 403, day " \
           "2026-04-24, page 1)." in lines[3]
    assert html.index("INGEST FAILED") < html.index("Filings inserted")
    assert "[ingest_failed]" not in text  # said at the top, not again as a row


def test_the_artifacts_zip_is_attached_within_the_budget(smtp, window_files):
    message = received(smtp, window_files)
    [archive] = [part for part in message.iter_attachments()
                 if part.get_filename() == f"{STUB}.zip"]
    names = zipfile.ZipFile(io.BytesIO(archive.get_content())).namelist()
    assert "data/filings/SRTG_LK-24042026-7431-00.json" in names and "MANIFEST.json" in names
    assert f"attached: {STUB}.zip (" in parts(message)[0]
    for part in message.walk():  # no secret in any part, the zip's members included
        payload = part.get_payload(decode=True) or b""
        assert PASSWORD.encode() not in payload
    for name in names:
        assert PASSWORD.encode() not in zipfile.ZipFile(
            io.BytesIO(archive.get_content())).read(name)


def test_a_zip_over_the_budget_is_named_with_its_size_and_where_it_is(smtp, window_files):
    message = received(smtp, window_files, attach_budget_bytes=1500)
    attached = [part.get_filename() for part in message.iter_attachments()]
    assert f"{STUB}.zip" not in attached
    text, html = parts(message)
    note = text.split("Attachments and artifacts")[1]
    assert f"not attached: {STUB}.zip (" in note and " KB) is over the 1.5 KB attachment " \
        f"budget; it is on {socket.gethostname()} at /" in note
    assert f"/artifacts/{STUB}.zip" in note and f"/artifacts/{STUB}.zip" in html
