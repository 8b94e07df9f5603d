"""What every sink offers, and what they share: the columns, the shipped SQL, JSON conversion.

A sink stores filing rows idempotently: `insert` adds the rows whose `dedup_key` is new and
returns those keys ("on conflict do nothing"); `related` reads the active rows of a holder in an
issuer, and of a document (page by page), what the generate stage plans against; the holder is
matched loosely in SQL (its name's words in order, any case) and exactly by the stage.
`replace` keeps the version a row was in `<table>_history` and puts the new version in its
place (or retires it), one transaction where the database has them and in a replay-safe
order where it does not; `history` reads back the transitions to given keys. A database that
cannot be reached raises `TransientError` (the file waits and is retried); a batch the database
refuses for good raises `SinkRefused`, which the stage records as the filings' `error` outcome.
Columns added to the schema later (`OPTIONAL_COLUMNS`) are nullable, so a table from an earlier
schema still takes rows without them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from decimal import Decimal
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlsplit

from daemon.scrub import MASK, scrub

COLUMNS = (
    "symbol", "timestamp", "transaction_type", "holder_name", "holding_before", "holding_after",
    "amount_transaction", "share_percentage_before", "share_percentage_after",
    "share_percentage_transaction", "price", "transaction_value", "price_transaction", "title",
    "body", "source", "sector", "sub_sector", "tags", "holder_type", "source_is_manual",
    "dedup_key", "document_key", "position", "board_member", "controlling_shareholder",
    "ownership", "share_class",
)
# Nullable columns added after the first schema: a table created before them keeps working
# without them (each sink adds them where it can, else leaves them out and says so once).
OPTIONAL_COLUMNS = ("position", "board_member", "controlling_shareholder", "ownership",
                    "share_class")
POSTGRES_TYPES = {"position": "text", "board_member": "text",
                  "controlling_shareholder": "boolean", "ownership": "text",
                  "share_class": "text"}
HISTORY_COLUMNS = ("history_key", "filing_id", "dedup_key", "superseded_by", "document_key",
                   "source", "reason", "changes", "previous")
DEFAULT_TABLE = "idx_filings"
_QUOTED = re.compile(r"""(["'])(.*?)\1""")
_DSN_NAMES = re.compile(r"\b(?:host|hostaddr|port|user|dbname)\s*=\s*([^\s']+)")
Row = Mapping[str, Any]


class SinkRefused(Exception):
    """The database refused the rows for a reason retrying cannot fix."""


class Sink(Protocol):
    name: str

    def insert(self, rows: Sequence[Row]) -> set[str]:
        """Insert the rows whose dedup_key is new; return those keys."""
        ...

    def related(self, symbol: str, holder: str, document_key: str) -> list[dict[str, Any]]:
        """The active rows of the document, and those of the issuer `symbol` whose holder name
        holds the words of `holder` (a normalized name) in order, oldest first."""
        ...

    def replace(self, previous_key: str, history: Row, row: Row | None) -> None:
        """Keep `history` (once: by its history_key) and put `row` where the row with
        `previous_key` is, or delete that row when `row` is None."""
        ...

    def history(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """The history rows superseded by one of `keys`, oldest first."""
        ...

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row, oldest first (paginated where the database needs it)."""
        ...

    def close(self) -> None: ...


def usable_columns(present: Collection[str]) -> tuple[str, ...]:
    """The columns to write into a table that has `present`: every required one (a missing one
    is the database's error to report), the optional ones only where the table has them."""
    return tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS or c in present)


def missing_columns(present: Collection[str]) -> tuple[str, ...]:
    return tuple(c for c in OPTIONAL_COLUMNS if c not in present)


def alter_statement(table: str, columns: Sequence[str]) -> str:
    """The PostgreSQL statement that gives `table` the optional `columns` (for the log)."""
    added = ", ".join(f'ADD COLUMN IF NOT EXISTS "{c}" {POSTGRES_TYPES[c]}' for c in columns)
    return f"ALTER TABLE {table} {added};"


def schema_sql(dialect: str = "postgres", table: str = DEFAULT_TABLE,
               part: str = "idx_filings") -> str:
    """The shipped schema (`handlers/sql/<part>[.sqlite].sql`), for `table` (the history
    table is `<table>_history`)."""
    name = f"{part}.sql" if dialect == "postgres" else f"{part}.sqlite.sql"
    text = resources.files("handlers").joinpath("sql", name).read_text(encoding="utf-8")
    return text if table == DEFAULT_TABLE else text.replace(DEFAULT_TABLE, table)


def history_table(table: str) -> str:
    return f"{table}_history"


def holder_pattern(holder: str, wildcard: str = "%") -> str:
    """`"unitras pertama"` -> `%unitras%pertama%`: a LIKE pattern any spelling of the holder's
    name matches ("PT. UNITRAS PERTAMA" too). `_` is a LIKE wildcard: it only widens the match,
    and the stage compares the names exactly."""
    return wildcard + wildcard.join(holder.split()) + wildcard if holder else wildcard


def json_number(value: Any) -> Any:
    """A Decimal as a JSON number that prints the same digits (int when whole).

    Prices on the form have at most a few decimals, far below float's 15 significant digits,
    so the float's shortest repr is exactly the decimal's text.
    """
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def price_rows_json(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{key: json_number(value) for key, value in entry.items()} for entry in entries]


def exact_text(value: Any) -> Any:
    """Decimals as their exact text; everything else unchanged."""
    return str(value) if isinstance(value, Decimal) else value


def describe(error: BaseException, dsn: str = "") -> str:
    """A database error as `Class: first line of its message`, with nothing of the connection
    string in it: libpq quotes the part of a DSN it could not parse (a piece of the password
    when that holds `%` or `@`), so a quoted piece of `dsn` other than its host, port, user or
    database name is masked, and so is every registered secret."""
    lines = str(error).strip().splitlines()
    message = _mask_quoted(lines[0], dsn) if lines and dsn else (lines[0] if lines else "")
    return scrub(f"{type(error).__name__}: {message}" if message else type(error).__name__)


def _mask_quoted(message: str, dsn: str) -> str:
    harmless = _dsn_names(dsn)

    def mask(match: re.Match[str]) -> str:
        quoted = match.group(2)
        if quoted in dsn and quoted not in harmless:
            return f"{match.group(1)}{MASK}{match.group(1)}"
        return match.group(0)

    return _QUOTED.sub(mask, message)


def _dsn_names(dsn: str) -> set[str]:
    """The parts of a DSN that are no secret: host, port, user and database name."""
    names = set(_DSN_NAMES.findall(dsn))
    if "://" in dsn:
        url = urlsplit(dsn)
        try:
            port = str(url.port or "")
        except ValueError:  # not a number: then it is no name either
            port = ""
        names |= {url.hostname or "", port, url.username or "", url.path.lstrip("/")}
    return {name for name in names if name}


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
