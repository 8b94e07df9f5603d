"""A flate bomb: a valid one-page PDF whose content stream inflates to gigabytes of zeros.

zlib shrinks a run of zeros about a thousandfold, so 1.5 GB inflated is a file of about
1.5 MB, well under the download size cap. PDFium inflates a page's content stream whole before
it reads it, which is what makes such a file dangerous to a parser without a memory limit.
"""

from __future__ import annotations

import zlib
from pathlib import Path

INFLATED_BYTES = 1_500_000_000
CHUNK_BYTES = 16 * 1024 * 1024


def deflated_zeros(count: int) -> bytes:
    # Level 6 gives the same size as 9 on zeros, in half the time (about 5 s for 1.5 GB).
    compressor = zlib.compressobj(6)
    zeros = bytes(min(count, CHUNK_BYTES))
    parts = []
    while count > 0:
        parts.append(compressor.compress(zeros[:min(count, CHUNK_BYTES)]))
        count -= CHUNK_BYTES
    parts.append(compressor.flush())
    return b"".join(parts)


def write_flate_bomb(path: Path, inflated_bytes: int = INFLATED_BYTES) -> Path:
    stream = deflated_zeros(inflated_bytes)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
        + b"\nendstream",
    ]
    body, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, content in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(body))
    return path
