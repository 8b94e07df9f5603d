"""Local names and kinds of attachments (pure logic)."""

from __future__ import annotations

from handlers.domain.attachments import is_idx_format, local_name, safe_part


def test_unsafe_characters_never_reach_a_file_name() -> None:
    name = safe_part("../../etc/passwd\x00\x1b[31m ..hidden/Perubahan  Struktur.pdf")
    assert "/" not in name and ".." not in name and not name.startswith(".")
    assert all(ch.isalnum() or ch in "._-" for ch in name)


def test_a_long_name_keeps_its_distinguishing_end() -> None:
    long_name = "Laporan Bulanan " * 10 + "_lamp2"
    assert len(safe_part(long_name)) <= 80 and safe_part(long_name).endswith("_lamp2")


def test_idx_format_by_name_or_ksei_url() -> None:
    assert is_idx_format({"original_name": "lk-24042026-7431-00.pdf", "url": "https://x/a.pdf"})
    assert is_idx_format({"original_name": "", "url": "https://x/From_KSEI/abc.pdf"})
    assert not is_idx_format({"original_name": "LK-2404-1.pdf", "url": "https://x/From_EREP/a"})


def test_names_are_stable_and_differ_per_announcement() -> None:
    attachment = {"url": "https://www.idx.co.id/From_KSEI/LK-24042026-7431-00.pdf-0.pdf",
                  "original_name": "LK-24042026-7431-00.pdf"}
    first = local_name({"id": "A", "ticker": "SRTG"}, attachment)
    assert first == local_name({"id": "A", "ticker": "SRTG"}, attachment)
    assert first.startswith("SRTG_LK-24042026-7431-00_") and first.endswith(".pdf")
    assert first != local_name({"id": "B", "ticker": "SRTG"}, attachment)
