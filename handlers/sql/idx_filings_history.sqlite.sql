-- idx_filings_history for the embedded SQLite sink: the same columns as idx_filings_history.sql
-- (JSON as text). Every version of a filing that a newer one replaced, written in the same
-- transaction as the replacement.
CREATE TABLE IF NOT EXISTS idx_filings_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    history_key TEXT NOT NULL UNIQUE,
    filing_id INTEGER,
    dedup_key TEXT NOT NULL,
    superseded_by TEXT NOT NULL,
    document_key TEXT,
    source TEXT,
    reason TEXT NOT NULL,
    changes TEXT NOT NULL DEFAULT '{}',
    previous TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_filings_history_superseded_by
    ON idx_filings_history (superseded_by);
