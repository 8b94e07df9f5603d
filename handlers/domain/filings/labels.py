"""The form's own vocabulary, so a value that contains it can be refused as a reading error.

A KSEI form prints its labels, its table header, its page numbers and its statements in
Indonesian and English. None of these words belongs in a value: a purpose that reads "divestment
purpose of transaction" glued a repeated header onto a row, and a holder named "Nama (sesuai SID)"
is a label read as its own value. Phrases match whole words only and across any whitespace, so a
purpose such as "Penjualan saham" (which holds "saham", not "Jumlah Saham") is left alone.
Nor is a name ever wholly another field's value: a holder named "Dewan Komisaris" is the
position read one row off (a label column shifted against its values).
"""

from __future__ import annotations

import re

# Labels of the header fields, in both languages.
FIELD_LABELS = (
    "nama (sesuai sid)", "sesuai sid", "name (as in sid)", "as in sid", "nama perusahaan tbk",
    "nama perusahaan", "name of the public company", "company name", "jumlah saham",
    "number of shares", "sebelum transaksi", "setelah transaksi", "before the transaction",
    "after the transaction", "hak suara", "voting rights", "jabatan", "anggota direksi",
    "board of directors", "pemegang saham pengendali", "controlling shareholder",
    "tidak ditampilkan", "alamat", "telepon", "e-mail", "kewarganegaraan", "nationality",
    "status kepemilikan", "ownership status",
)
# Cells of the transaction table's header, in both languages.
TABLE_HEADER = (
    "jenis transaksi", "type of transaction", "klasifikasi saham", "share classification",
    "classification of shares", "harga transaksi", "transaction price", "tanggal transaksi",
    "transaction date", "date of transaction", "tujuan transaksi", "purpose of transaction",
    "purpose of the transaction", "jumlah saham yang ditransaksikan", "number of shares traded",
)
# Titles, statements and footers printed around the fields.
PAGE_TEXT = (
    "halaman", "laporan kepemilikan", "report of ownership", "saya bertanggung jawab",
    "i shall be fully responsible", "ksei shall not be responsible", "keterangan",
    "pemberi informasi", "informasi tambahan",
)
VOCABULARY = FIELD_LABELS + TABLE_HEADER + PAGE_TEXT

_ALTERNATIVES = "|".join(r"\s+".join(map(re.escape, phrase.split()))
                         for phrase in sorted(VOCABULARY, key=len, reverse=True))
_VOCABULARY_RE = re.compile(rf"(?<!\w)(?:{_ALTERNATIVES})(?!\w)", re.IGNORECASE)
_PAGE_NUMBER_RE = re.compile(r"(?<!\w)page\s+\d+\s+of\s+\d+(?!\w)", re.IGNORECASE)


def label_found(value: str | None) -> str | None:
    """The piece of form vocabulary that `value` contains, as it appears there, else None."""
    text = value or ""
    found = _VOCABULARY_RE.search(text) or _PAGE_NUMBER_RE.search(text)
    return found.group(0) if found else None


# What other fields print, never a whole name: field -> its values (lowercase).
OTHER_FIELD_VALUES: dict[str, tuple[str, ...]] = {
    "position": ("dewan komisaris", "dewan direksi", "komisaris", "komisaris utama",
                 "komisaris independen", "presiden komisaris", "wakil komisaris utama",
                 "direksi", "direktur", "direktur utama", "direktur independen",
                 "presiden direktur", "wakil direktur utama", "board of commissioners",
                 "board of directors", "commissioner", "president commissioner", "director",
                 "president director"),
    "answer": ("ya", "tidak", "yes", "no", "tidak ditampilkan", "not shown", "-"),
    "ownership": ("langsung", "tidak langsung", "direct", "indirect"),
    "share_class": ("saham biasa", "common shares", "ordinary shares"),
}
_OWNER_OF = {value: field for field, values in OTHER_FIELD_VALUES.items() for value in values}


def other_field_of(value: str | None) -> str | None:
    """The field whose value `value` wholly is (`position` for "Dewan Komisaris"), else None."""
    return _OWNER_OF.get(" ".join((value or "").casefold().split()))
