"""The one HTTP client the pipeline uses to talk to the exchange, and its settings.

The exchange sits behind a CDN that refuses plain clients, so requests carry browser-like
headers and may go through a proxy (`PROXY`, then `HTTPS_PROXY`, the original's names). TLS
verification stays on unless a setting turns it off, and then the log says so at start. The
environment is read only here, through the settings, never by the client itself
(`trust_env=False`), so what runs is what the settings say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from daemon.config import SettingsReader

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
log = structlog.get_logger()


@dataclass(frozen=True)
class HttpSettings:
    proxy: str | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    user_agent: str = BROWSER_USER_AGENT
    timeout_s: float = 30.0

    def __repr__(self) -> str:
        # A proxy URL may carry credentials; keep it out of reprs and logs.
        return (f"HttpSettings(proxy={proxy_label(self.proxy)!r}, verify_tls={self.verify_tls}, "
                f"ca_bundle={self.ca_bundle!r}, timeout_s={self.timeout_s})")


def read_http_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> HttpSettings:
    reader = SettingsReader(document.get("http", {}), env, "http")
    base = HttpSettings()
    return HttpSettings(
        proxy=reader.optional_str("proxy", "PROXY") or reader.optional_str("proxy", "HTTPS_PROXY"),
        verify_tls=reader.get("verify_tls", base.verify_tls, "IDXD_VERIFY_TLS"),
        ca_bundle=reader.optional_str("ca_bundle", "IDXD_CA_BUNDLE"),
        user_agent=reader.get("user_agent", base.user_agent, "IDXD_USER_AGENT"),
        timeout_s=reader.get("timeout_s", base.timeout_s, "IDXD_HTTP_TIMEOUT_S",
                             check=lambda v: v > 0, expected="a number of seconds greater than 0"),
    )


def browser_headers(settings: HttpSettings) -> dict[str, str]:
    return {
        "User-Agent": settings.user_agent,
        "Accept": "application/json, text/plain, application/pdf, */*",
        "Accept-Language": "en-US,en;q=0.9,id;q=0.8",
    }


def build_client(settings: HttpSettings) -> httpx.Client:
    """A client with our headers, proxy and TLS policy; redirects are followed by the caller."""
    verify: bool | str = settings.ca_bundle or settings.verify_tls
    if not settings.verify_tls:
        log.warning("http.tls_verification_disabled",
                    reason="verify_tls is off in the settings; certificates are not checked")
        verify = False
    if settings.proxy:
        log.info("http.proxy_configured", proxy=proxy_label(settings.proxy))
    return httpx.Client(headers=browser_headers(settings), proxy=settings.proxy, verify=verify,
                         timeout=settings.timeout_s, follow_redirects=False, trust_env=False)


def proxy_label(proxy: str | None) -> str | None:
    """`scheme://host:port` of a proxy, without any credentials."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
