-- idx_filings for the embedded SQLite sink: the same columns as idx_filings.sql.
-- Exact numbers (price, value, percentages) are stored as TEXT so SQLite never turns them into
-- floating point; tags, slugs and price_transaction are JSON text. The sink adds the nullable
-- columns a table from an earlier version lacks when it opens the file.
CREATE TABLE IF NOT EXISTS idx_filings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    title TEXT,
    body TEXT,
    source TEXT,
    "timestamp" TEXT,
    sector TEXT,
    sub_sector TEXT,
    tags TEXT,
    transaction_type TEXT,
    holding_before INTEGER,
    holding_after INTEGER,
    amount_transaction INTEGER,
    holder_type TEXT,
    holder_name TEXT,
    price TEXT,
    transaction_value TEXT,
    price_transaction TEXT,
    share_percentage_before TEXT,
    share_percentage_after TEXT,
    share_percentage_transaction TEXT,
    "UID" TEXT,
    symbol TEXT,
    source_is_manual INTEGER DEFAULT 0,
    idx_investor_slug TEXT,
    idx_conglomerates_group_slug TEXT,
    context TEXT,
    dedup_key TEXT NOT NULL UNIQUE,
    "position" TEXT,
    board_member TEXT,
    controlling_shareholder INTEGER,  -- 1 yes, 0 no, NULL when the form does not say
    ownership TEXT,
    share_class TEXT,
    document_key TEXT
);
CREATE INDEX IF NOT EXISTS idx_filings_symbol_timestamp ON idx_filings (symbol, "timestamp");
-- The generate stage finds a holder's filings in an issuer by a LIKE on the name: with the
-- name in the index SQLite reads it there, not from every row of the issuer.
CREATE INDEX IF NOT EXISTS idx_filings_symbol_holder ON idx_filings (symbol, holder_name);
-- document_key is added to an older file by the sink itself (SQLite has no ADD COLUMN IF NOT
-- EXISTS), before this index is made.
