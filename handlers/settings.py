"""Every pipeline setting, declared once: type, default, bounds, TOML key, environment names.

One class per TOML table (`[ingest]`, `[http]`, `[download]`, `[parse]`, `[filings]`, `[sink]`,
`[company_map]`, `[rollover]`, `[mail]`, `[retention]`, `[backfill]`), composed into
`PipelineSettings`. The original system's variable names (`SUPABASE_URL`, `ALERT_TO_EMAIL`,
`PROXY`, `OVERLAP_MINUTES`, …) are kept with its fallbacks in order, so its operators can move
over. Secrets (the Supabase key, the SMTP password) come from the environment only. The HTTP
client, the sink and the parse pool are opened once, so their settings wait for a restart;
every other pipeline setting applies on SIGHUP.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from daemon.declare import (
    AT_LEAST_ZERO,
    POSITIVE,
    Bound,
    one_of,
    read_declared,
    setting,
    to_tuple,
    whole,
)
from daemon.errors import ConfigError
from handlers import paths
from handlers.domain import windows

IDX_API_URL = "https://www.idx.co.id/primary/NewsAnnouncement/GetAllAnnouncement"
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SUPABASE_KEYS = ("SUPABASE_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY")
SINK_KINDS = ("sqlite", "supabase", "postgres")
SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SENDER = "idxd@localhost"
# Codes that keep a filing out of the database (everything else is a warning: inserted and
# reported). The structural codes are the original's hard failures; a share transfer needs a
# human to pair both sides. An unchanged holding (a pledge) is a filing: stored, told as info.
DEFAULT_REJECT_CODES = (
    "missing_required_field", "invalid_price_transaction", "holdings_mismatch",
    "mismatch_transaction_type", "mixed_transaction_type", "non_common_shares",
    "transfer_uid_required", "percent_discrepancy",
    # A wrong issuer, label text read as a value, or an OCR reading no check confirms is never
    # stored: analysts trade on these rows.
    "issuer_mismatch", "label_in_value", "value_misplaced", "ocr_unverified",
)


def _is_clock_time(value: str) -> bool:
    hours, colon, minutes = value.partition(":")
    return colon == ":" and hours.isdigit() and minutes.isdigit() and \
        int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2


CLOCK_TIME = Bound(_is_clock_time, "a time of day as HH:MM")


@dataclass(frozen=True)
class IngestSettings:
    TABLE: ClassVar[str] = "ingest"

    enabled: bool = setting(True, "IDXD_INGEST_ENABLED")
    api_url: str = setting(IDX_API_URL, "IDXD_IDX_API_URL")
    keywords: str = setting("ownership", "IDXD_INGEST_KEYWORDS")
    page_size: int = setting(10, "IDXD_INGEST_PAGE_SIZE", bound=POSITIVE)
    # Per day; a guard against an endless listing.
    max_pages: int = setting(50, "IDXD_INGEST_MAX_PAGES", bound=POSITIVE)
    # The longest wait between two polls (outside publishing hours); while the exchange
    # publishes (weekdays, publish_from to publish_until WIB) the poll comes every
    # busy_period_s, or every period_s when that is shorter. Each wait has ±10 % jitter.
    period_s: float = setting(300.0, "IDXD_INGEST_PERIOD_S", bound=POSITIVE)
    busy_period_s: float = setting(30.0, "IDXD_INGEST_BUSY_PERIOD_S", bound=POSITIVE)
    publish_from: str = setting("06:00", "IDXD_INGEST_PUBLISH_FROM", bound=CLOCK_TIME)
    publish_until: str = setting("22:00", "IDXD_INGEST_PUBLISH_UNTIL", bound=CLOCK_TIME)
    overlap_min: float = setting(float(windows.DEFAULT_OVERLAP_MIN), "OVERLAP_MINUTES",
                                 bound=AT_LEAST_ZERO)
    lookback_min: float = setting(float(windows.DEFAULT_LOOKBACK_MIN),
                                  "IDXD_INGEST_LOOKBACK_MIN", bound=POSITIVE)
    # Between two requests to the exchange, out of politeness.
    pause_s: float = setting(1.0, "IDXD_INGEST_PAUSE_S", bound=AT_LEAST_ZERO)
    attempts: int = setting(3, "IDXD_INGEST_ATTEMPTS", bound=POSITIVE)
    backoff_s: float = setting(2.0, "IDXD_INGEST_BACKOFF_S", bound=AT_LEAST_ZERO)


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def impersonation(raw: Any) -> str:
    """A browser curl_cffi can impersonate; refused now when the extra is not installed."""
    if importlib.util.find_spec("curl_cffi") is None:
        raise ValueError("curl_cffi is not installed: pip install 'idxd[cdn]'")
    return str(raw).strip().lower()


def proxy_url(raw: Any) -> str:
    """A proxy URL whose credentials may hold any character ("/", "@", "%"): they are
    percent-encoded here, once, and a URL no client could use is refused now, in one sentence,
    instead of at the first request."""
    scheme, sep, rest = str(raw).strip().partition("://")
    userinfo, at, host_port = rest.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        userinfo = _encoded(user) + (":" + _encoded(password) if colon else "") + "@"
    url = f"{scheme.lower()}://{userinfo}{host_port.rstrip('/')}"
    parts = urlsplit(url)
    if not sep or parts.scheme not in PROXY_SCHEMES or not parts.hostname or parts.path:
        raise ValueError(raw)
    parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    return url


def _encoded(text: str) -> str:
    # Decoding first keeps credentials that were already percent-encoded as they were.
    return quote(unquote(text), safe="")


@dataclass(frozen=True)
class HttpSettings:
    TABLE: ClassVar[str] = "http"

    # A proxy URL may carry credentials: never in a repr.
    proxy: str | None = setting(None, "PROXY", "HTTPS_PROXY", shown=False, live=False,
                                convert=proxy_url, bound=Bound(
                                    bool, "a proxy URL such as http://user:password@host:3128"))
    verify_tls: bool = setting(True, "IDXD_VERIFY_TLS", live=False)
    ca_bundle: str | None = setting(None, "IDXD_CA_BUNDLE", live=False)
    user_agent: str = setting(BROWSER_USER_AGENT, "IDXD_USER_AGENT", live=False)
    timeout_s: float = setting(30.0, "IDXD_HTTP_TIMEOUT_S", live=False, bound=Bound(
        lambda v: v > 0, "a number of seconds greater than 0"))
    # A browser to impersonate on the wire ("chrome", "safari", …) through curl_cffi, the
    # optional extra idxd[cdn]: the CDN's challenge is bound to the client's TLS fingerprint.
    impersonate: str | None = setting(None, "IDXD_HTTP_IMPERSONATE", live=False,
                                      convert=impersonation, bound=Bound(
                                          bool, "a browser name, with idxd[cdn] installed"))
    # A host that refused this many times in a row (403, challenge pages) rests this long.
    block_after: int = setting(3, "IDXD_SOURCE_BLOCK_AFTER", bound=POSITIVE, live=False)
    cooldown_s: float = setting(1800.0, "IDXD_SOURCE_COOLDOWN_S", bound=POSITIVE, live=False)
    # The first rest; each refusal after a rest doubles it, up to cooldown_s.
    first_cooldown_s: float = setting(60.0, "IDXD_SOURCE_FIRST_COOLDOWN_S", bound=POSITIVE,
                                      live=False)


def _hosts(raw: Any) -> tuple[str, ...]:
    return tuple(host.strip().lower() for host in to_tuple(raw))


@dataclass(frozen=True)
class DownloadSettings:
    TABLE: ClassVar[str] = "download"

    allowed_hosts: tuple[str, ...] = setting(
        ("www.idx.co.id", "idx.co.id"), "IDXD_DOWNLOAD_ALLOWED_HOSTS", convert=_hosts,
        bound=Bound(bool, "a non-empty list of host names"))
    max_mb: float = setting(25.0, "IDXD_DOWNLOAD_MAX_MB", bound=POSITIVE)
    max_redirects: int = setting(5, "IDXD_DOWNLOAD_MAX_REDIRECTS", bound=whole())
    # The retry budget of a batch with attachments still to fetch.
    attempts: int = setting(5, "IDXD_DOWNLOAD_ATTEMPTS", bound=POSITIVE)
    # One download, redirects included, and the slowest pace accepted (after 10 s): a host
    # that trickles bytes is tried again later instead of holding the download slot.
    deadline_s: float = setting(300.0, "IDXD_DOWNLOAD_DEADLINE_S", bound=POSITIVE)
    min_rate_bps: float = setting(2048.0, "IDXD_DOWNLOAD_MIN_RATE_BPS", bound=AT_LEAST_ZERO)
    # How long a 404/410 must persist before the attachment is given up with an alert (a
    # CDN can answer 404 for a file it has not replicated yet).
    missing_horizon_s: float = setting(3600.0, "IDXD_DOWNLOAD_MISSING_HORIZON_S",
                                       bound=AT_LEAST_ZERO)

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


@dataclass(frozen=True)
class ParseSettings:
    TABLE: ClassVar[str] = "parse"

    # Child processes reading PDF forms, one file each at a time.
    workers: int = setting(2, "IDXD_PARSE_WORKERS", live=False, bound=whole(1, 64))
    # Address space of each child. A real form needs about 30 MiB (the interpreter and PDFium
    # included); 384 keeps the daemon's whole tree under 512 MB while a bomb runs into it.
    memory_limit_mb: int = setting(384, "IDXD_PARSE_MEMORY_LIMIT_MB", live=False,
                                   bound=whole(64, unit=" of MiB"))
    # Per file; a form with a text layer takes milliseconds, a scan 1-3 s a page by OCR.
    time_limit_s: float = setting(60.0, "IDXD_PARSE_TIME_LIMIT_S", live=False, bound=POSITIVE)
    # OCR (Tesseract) of pages without a text layer: scanned attachments. Off, a scan is
    # refused as no_text_extracted.
    ocr: bool = setting(True, "IDXD_PARSE_OCR", live=False)
    ocr_languages: str = setting("ind+eng", "IDXD_PARSE_OCR_LANGUAGES", live=False)
    # Rendering resolution: 300 reads the form's 8 pt text reliably; 200 is faster but
    # misreads digits.
    ocr_dpi: int = setting(300, "IDXD_PARSE_OCR_DPI", live=False, bound=whole(72, 600))
    # A scan with more pages is refused before any is read (ocr_page_limit).
    ocr_max_pages: int = setting(12, "IDXD_PARSE_OCR_MAX_PAGES", live=False, bound=whole(1))
    # OCR of one file, within time_limit_s: past it the file is refused as ocr_time_limit.
    ocr_time_limit_s: float = setting(40.0, "IDXD_PARSE_OCR_TIME_LIMIT_S", live=False,
                                      bound=POSITIVE)
    # Tesseract's language data; empty: TESSDATA_PREFIX, else Debian's place.
    ocr_tessdata_dir: str = setting("", "IDXD_PARSE_OCR_TESSDATA_DIR", live=False)

    @property
    def memory_limit_bytes(self) -> int:
        return self.memory_limit_mb * 1024 * 1024


@dataclass(frozen=True)
class SinkSettings:
    TABLE: ClassVar[str] = "sink"

    kind: str = setting("sqlite", "SINK", bound=one_of(*SINK_KINDS), live=False)
    table: str = setting("idx_filings", "FILINGS_TABLE", live=False, bound=Bound(
        lambda v: v.replace("_", "").isalnum(), "a table name of letters, digits and underscores"))
    # Relative to the root.
    sqlite_path: Path = setting(paths.FILINGS_DB, "FILINGS_SQLITE_PATH", live=False)
    supabase_url: str | None = setting(None, "SUPABASE_URL", live=False)
    supabase_key: str | None = setting(None, *SUPABASE_KEYS, secret=True, live=False)
    timeout_s: float = setting(30.0, "SUPABASE_TIMEOUT", live=False,
                               bound=Bound(lambda v: v > 0, "a number of seconds > 0"))
    # May carry a password: never in a repr.
    database_url: str | None = setting(None, "DATABASE_URL", shown=False, live=False)
    page_size: int = setting(1000, "FILINGS_PAGE_SIZE", live=False,
                             bound=Bound(lambda v: 1 <= v <= 10000, "from 1 to 10000"))


@dataclass(frozen=True)
class FilingsSettings:
    TABLE: ClassVar[str] = "filings"

    within_doc_ratio_low: Decimal = setting(Decimal("0.5"), "FILINGS_WITHIN_DOC_RATIO_LOW",
                                            bound=AT_LEAST_ZERO)
    within_doc_ratio_high: Decimal = setting(Decimal("1.5"), "FILINGS_WITHIN_DOC_RATIO_HIGH",
                                             bound=AT_LEAST_ZERO)
    market_ratio_low: Decimal = setting(Decimal("0.6"), "FILINGS_MARKET_RATIO_LOW",
                                        bound=AT_LEAST_ZERO)
    market_ratio_high: Decimal = setting(Decimal("1.4"), "FILINGS_MARKET_RATIO_HIGH",
                                         bound=AT_LEAST_ZERO)
    zero_missing_x10_min: Decimal = setting(Decimal(8), "FILINGS_ZERO_MISSING_X10_MIN",
                                            bound=AT_LEAST_ZERO)
    zero_missing_x10_max: Decimal = setting(Decimal(15), "FILINGS_ZERO_MISSING_X10_MAX",
                                            bound=AT_LEAST_ZERO)
    zero_missing_x100_min: Decimal = setting(Decimal(80), "FILINGS_ZERO_MISSING_X100_MIN",
                                             bound=AT_LEAST_ZERO)
    zero_missing_x100_max: Decimal = setting(Decimal(150), "FILINGS_ZERO_MISSING_X100_MAX",
                                             bound=AT_LEAST_ZERO)
    percent_tol_pp: Decimal = setting(Decimal("0.25"), "FILINGS_PERCENT_TOL_PP",
                                      bound=AT_LEAST_ZERO)
    price_lookback_days: int = setting(14, "FILINGS_PRICE_LOOKBACK_DAYS",
                                       bound=whole(unit=" of days"))
    reject_codes: tuple[str, ...] = setting(DEFAULT_REJECT_CODES, "FILINGS_REJECT_CODES")
    sink: SinkSettings = field(default_factory=SinkSettings)

    @property
    def zero_missing_x10(self) -> tuple[Decimal, Decimal]:
        return self.zero_missing_x10_min, self.zero_missing_x10_max

    @property
    def zero_missing_x100(self) -> tuple[Decimal, Decimal]:
        return self.zero_missing_x100_min, self.zero_missing_x100_max


@dataclass(frozen=True)
class CompanyMapSettings:
    TABLE: ClassVar[str] = "company_map"

    supabase_url: str | None = setting(None, "SUPABASE_URL")
    supabase_key: str | None = setting(None, *SUPABASE_KEYS, secret=True)
    schema: str = setting("public", "COMPANY_SCHEMA")
    table: str = setting("idx_company_report", "COMPANY_REPORT_TABLE")
    page_size: int = setting(1000, "IDXD_COMPANY_MAP_PAGE_SIZE", bound=POSITIVE)
    max_age_h: float = setting(12.0, "IDXD_COMPANY_MAP_MAX_AGE_H", bound=POSITIVE)
    check_period_s: float = setting(3600.0, "IDXD_COMPANY_MAP_CHECK_PERIOD_S", bound=POSITIVE)
    timeout_s: float = setting(30.0, "SUPABASE_TIMEOUT", bound=POSITIVE)
    allow_offline: bool = setting(True, "COMPANY_MAP_ALLOW_OFFLINE")
    script: str | None = setting(None, "COMPANY_MAP_SCRIPT")

    @property
    def source_configured(self) -> bool:
        return bool(self.supabase_url and self.supabase_key)


@dataclass(frozen=True)
class RolloverSettings:
    TABLE: ClassVar[str] = "rollover"

    enabled: bool = setting(True, "IDXD_ROLLOVER_ENABLED")
    # The email window; must divide a day.
    period_s: int = setting(7200, "IDXD_ROLLOVER_PERIOD_S", bound=Bound(
        lambda v: v > 0 and 86400 % v == 0,
        "a number of seconds that divides a day (7200 = 2 h)"))
    # After a window's end, for late files to land.
    grace_s: float = setting(900.0, "IDXD_ROLLOVER_GRACE_S", bound=AT_LEAST_ZERO)
    # After a window's end, it closes whatever is still pending.
    max_wait_s: float = setting(6 * 3600.0, "IDXD_ROLLOVER_MAX_WAIT_S", bound=AT_LEAST_ZERO)
    tick_s: float = setting(60.0, "IDXD_ROLLOVER_TICK_S", bound=POSITIVE)
    # Windows older than this are not closed after a long outage.
    catch_up_days: float = setting(3.0, "IDXD_ROLLOVER_CATCH_UP_DAYS", bound=POSITIVE)
    with_pdfs: bool = setting(False, "IDXD_ARTIFACTS_WITH_PDFS")  # PDFs in the artifacts zip
    attach_budget_bytes: int = setting(7_500_000, "ATTACH_BUDGET_BYTES", bound=AT_LEAST_ZERO)
    # A digest email even for a window with no alerts.
    send_empty: bool = setting(False, "IDXD_EMAIL_SEND_EMPTY")


@dataclass(frozen=True)
class BackfillSettings:
    TABLE: ClassVar[str] = "backfill"

    # Every request a backfill causes (listing pages and the attachments it hands over) counts
    # against this rate; 0 turns the limit off (tests, a local mirror).
    requests_per_minute: float = setting(20.0, "IDXD_BACKFILL_REQUESTS_PER_MINUTE",
                                         bound=AT_LEAST_ZERO)
    # Backfill batches in the pipeline at once: a live batch waits behind at most these.
    concurrency: int = setting(1, "IDXD_BACKFILL_CONCURRENCY", bound=whole(1, 16))
    # Announcements per batch file: small, so a live batch never waits for a whole day.
    batch_size: int = setting(5, "IDXD_BACKFILL_BATCH_SIZE", bound=whole(1, 1000))
    # One summary email (and zip) per this many backfilled days; 0: one when it finishes.
    summary_days: int = setting(0, "IDXD_BACKFILL_SUMMARY_DAYS", bound=whole(0))
    tick_s: float = setting(1.0, "IDXD_BACKFILL_TICK_S", bound=POSITIVE)

    @property
    def interval_s(self) -> float:
        """The spacing of two requests at the polite rate (0 with the limit off)."""
        return 60.0 / self.requests_per_minute if self.requests_per_minute else 0.0


def _addresses(raw: Any) -> tuple[str, ...]:
    """A comma-separated list (or a TOML array) of addresses, each once, in order."""
    addresses = [part.strip() for part in ",".join(to_tuple(raw)).split(",") if part.strip()]
    for address in addresses:
        if "@" not in address or any(ch.isspace() for ch in address):
            raise ConfigError(f"The e-mail address {address!r} in the alert recipients is not "
                              "valid.")
    return tuple(dict.fromkeys(addresses))


def _sender(raw: Any) -> str:
    return str(raw).strip() or DEFAULT_SENDER


def _recipients(kind: str) -> tuple[str, ...]:
    """The original's variables for one recipient field, the first one set winning."""
    return tuple(f"ALERT_{kind}_EMAIL{suffix}" for suffix in ("", "_INSERTED", "_NOT_INSERTED"))


@dataclass(frozen=True)
class MailSettings:
    TABLE: ClassVar[str] = "mail"

    # None: the outbox is the only transport.
    smtp_host: str | None = setting(None, "SMTP_HOST")
    smtp_port: int = setting(587, "SMTP_PORT", bound=Bound(lambda v: 0 < v < 65536,
                                                           "a TCP port number"),
                             default_from=lambda mail: DEFAULT_PORTS[mail.security])
    smtp_user: str | None = setting(None, "SMTP_USER")
    smtp_password: str | None = setting(None, "SMTP_PASSWORD", secret=True)
    security: str = setting("starttls", "SMTP_SECURITY", bound=one_of(*SECURITY_MODES))
    timeout_s: float = setting(30.0, "SMTP_TIMEOUT_S", bound=POSITIVE)
    sender: str = setting(DEFAULT_SENDER, "ALERT_FROM_EMAIL", "SES_FROM_EMAIL", key="from",
                          convert=_sender)
    to: tuple[str, ...] = setting((), *_recipients("TO"), convert=_addresses)
    cc: tuple[str, ...] = setting((), *_recipients("CC"), convert=_addresses)
    bcc: tuple[str, ...] = setting((), *_recipients("BCC"), convert=_addresses)

    @property
    def envelope_recipients(self) -> list[str]:
        return list(dict.fromkeys([*self.to, *self.cc, *self.bcc]))


DAYS = Bound(lambda v: v >= 0, "a number of days ≥ 0 (0 keeps forever)")


@dataclass(frozen=True)
class RetentionSettings:
    """How long each area keeps its files, in days (0 keeps them forever). Nothing an unclosed
    window, an unfinished file or an undelivered email still needs is ever removed."""

    TABLE: ClassVar[str] = "retention"

    enabled: bool = setting(True, "IDXD_RETENTION_ENABLED")
    period_s: float = setting(86400.0, "IDXD_RETENTION_PERIOD_S", bound=POSITIVE)
    outbox_days: float = setting(180.0, "IDXD_RETENTION_OUTBOX_DAYS", bound=DAYS)
    artifacts_days: float = setting(90.0, "IDXD_RETENTION_ARTIFACTS_DAYS", bound=DAYS)
    quarantine_days: float = setting(60.0, "IDXD_RETENTION_QUARANTINE_DAYS", bound=DAYS)
    # The alert buckets of closed windows (alerts_inserted/, alerts_not_inserted/).
    buckets_days: float = setting(90.0, "IDXD_RETENTION_BUCKETS_DAYS", bound=DAYS)
    # data/, downloads/ and the alerts/ inbox, once their files are finished.
    data_days: float = setting(30.0, "IDXD_RETENTION_DATA_DAYS", bound=DAYS)
    # Ledger rows of finished files whose file is gone from disk.
    ledger_days: float = setting(30.0, "IDXD_RETENTION_LEDGER_DAYS", bound=DAYS)


@dataclass(frozen=True)
class PipelineSettings:
    """Each field is one area's settings, read by `load_pipeline_settings`."""

    filings: FilingsSettings = field(default_factory=FilingsSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    download: DownloadSettings = field(default_factory=DownloadSettings)
    parse: ParseSettings = field(default_factory=ParseSettings)
    company_map: CompanyMapSettings = field(default_factory=CompanyMapSettings)
    rollover: RolloverSettings = field(default_factory=RolloverSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    backfill: BackfillSettings = field(default_factory=BackfillSettings)


def load_pipeline_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> PipelineSettings:
    settings = read_declared(PipelineSettings, document, env)
    _check_sink(settings.filings.sink)
    return settings


def _check_sink(sink: SinkSettings) -> None:
    if sink.kind == "supabase" and not (sink.supabase_url and sink.supabase_key):
        raise ConfigError("The supabase sink needs SUPABASE_URL and SUPABASE_KEY in the "
                          "environment.")
    if sink.kind == "postgres" and not sink.database_url:
        raise ConfigError("The postgres sink needs DATABASE_URL (or [sink] database_url).")
    if sink.kind == "postgres" and sink.database_url:
        _check_database_url(sink.database_url)


def _check_database_url(dsn: str) -> None:
    """A connection string libpq cannot read would fail every insert the same way: refuse it
    at start with what is wrong, never with the string itself (it carries the password)."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        options = conninfo_to_dict(dsn)
    except ProgrammingError as error:
        problem = re.sub(r'"[^"]*"', "…", str(error).strip())  # quoted parts echo the string
        raise ConfigError(f"DATABASE_URL is not a PostgreSQL connection string libpq can read "
                          f"({problem}); write it as postgresql://user:password@host:5432/"
                          "database, with special characters percent-encoded.") from None
    ports = str(options.get("port", "")).split(",")
    if any(port and not port.isdigit() for port in ports):
        raise ConfigError("DATABASE_URL names a port that is not a number; write it as "
                          "postgresql://user:password@host:5432/database.")
