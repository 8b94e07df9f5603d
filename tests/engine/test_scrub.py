"""The scrubber: every form a registered secret travels in is masked, in text, in data and in
the log output, and the secrets come from the settings' declarations."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import structlog

from daemon import scrub
from daemon.config import load_settings
from daemon.logs import configure_logging

PASSWORD = "pa%ss@w0rd:Secret"


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    scrub.clear()
    yield
    scrub.clear()


def every_form(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), quote(secret), secret.replace("%", "%25"),
            base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"\0alerts\0{secret}".encode()).decode(),  # AUTH PLAIN
            base64.b64encode(f"\0\0{secret}".encode()).decode(),
            base64.b64encode(f"user:{secret}".encode()).decode(),  # HTTP Basic
            base64.urlsafe_b64encode(f"x{secret}".encode()).decode()]


@pytest.mark.parametrize("form", every_form(PASSWORD))
def test_each_form_of_a_secret_is_masked_inside_any_text(form: str) -> None:
    scrub.register([PASSWORD])
    text = scrub.scrub(f"535 5.7.8 rejected: AUTH PLAIN {form} (try again)")
    assert form not in text and "***" in text
    assert text.startswith("535 5.7.8 rejected: AUTH PLAIN ") and text.endswith("(try again)")


def test_percent_decoded_form_of_a_secret_is_masked() -> None:
    scrub.register(["key%2Fwith%40escapes"])
    assert scrub.scrub("got key/with@escapes back") == "got *** back"


def test_texts_without_a_secret_and_short_values_are_left_alone() -> None:
    scrub.register(["abc", "", None, "long-enough-secret"])
    text = "abc: nothing secret here, not even YWJj"
    assert scrub.scrub(text) == text


def test_data_is_scrubbed_through_lists_and_keys() -> None:
    scrub.register([PASSWORD])
    data = {"error": f"denied {PASSWORD}", "reasons": [{"detail": (PASSWORD, 3)}],
            PASSWORD: None}
    assert scrub.scrub_data(data) == {"error": "denied ***", "reasons": [{"detail": ["***", 3]}],
                                      "***": None}


@pytest.mark.parametrize("url, secrets", [
    ("postgresql://postgres:db%sec@ret@127.0.0.1:5432/x", ["postgres:db%sec@ret", "db%sec@ret"]),
    ("http://proxyuser:p%40ss@proxy:3128", ["proxyuser:p%40ss", "p%40ss"]),
    ("host=127.0.0.1 user=postgres password='se cret'", ["se cret"]),
    ("https://example.supabase.co", []),
])
def test_the_password_and_userinfo_of_a_url_or_dsn_are_secrets(url: str,
                                                              secrets: list[str]) -> None:
    assert sorted(scrub.secrets_in_url(url)) == sorted(secrets)


def test_secrets_are_registered_from_the_declarations_when_settings_load(tmp_path: Path) -> None:
    env = {"IDXD_ROOT": str(tmp_path), "SUPABASE_KEY": "sb-declared-secret-key",
           "SMTP_PASSWORD": "smtp-declared-password", "SINK": "postgres",
           "PROXY": "http://user:proxy-pass-word@proxy:3128",
           "DATABASE_URL": f"postgresql://postgres:{quote(PASSWORD, safe='')}@db:5432/x"}
    load_settings(None, env)
    text = " ".join(["sb-declared-secret-key", "smtp-declared-password", "proxy-pass-word",
                     PASSWORD, quote(PASSWORD, safe="")])
    assert set(scrub.scrub(text).split()) == {"***"}


def test_log_lines_carry_no_secret_even_in_a_traceback() -> None:
    scrub.register([PASSWORD])
    out = io.StringIO()
    configure_logging("info", "json", out)
    try:
        raise RuntimeError(f"connection to db with {quote(PASSWORD, safe='')} failed")
    except RuntimeError as error:
        structlog.get_logger().exception("sink.failed", error=error, url=f"x:{PASSWORD}@db")
    line = json.loads(out.getvalue())
    assert PASSWORD not in out.getvalue() and quote(PASSWORD, safe="") not in out.getvalue()
    assert line["url"] == "x:***@db" and "RuntimeError" in line["exception"]
