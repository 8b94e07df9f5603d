"""The one HTTP client the pipeline uses to talk to the exchange.

The exchange sits behind a CDN that refuses plain clients, so requests carry browser-like
headers and may go through a proxy (`PROXY`, then `HTTPS_PROXY`, the original's names). TLS
verification stays on unless a setting turns it off, and then the log says so at start. The
environment is read only here, through the settings, never by the client itself
(`trust_env=False`), so what runs is what the settings say.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from daemon.logs import get_logger
from handlers.adapters.impersonate import ImpersonatingTransport
from handlers.settings import HttpSettings

log = get_logger()


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
    if settings.impersonate:
        log.info("http.impersonating", browser=settings.impersonate)
        transport = ImpersonatingTransport(settings.impersonate, proxy=settings.proxy,
                                           verify=verify, timeout_s=settings.timeout_s)
        return httpx.Client(headers=browser_headers(settings), transport=transport,
                            timeout=settings.timeout_s, follow_redirects=False, trust_env=False)
    return httpx.Client(headers=browser_headers(settings), proxy=settings.proxy, verify=verify,
                         timeout=settings.timeout_s, follow_redirects=False, trust_env=False)


def proxy_label(proxy: str | None) -> str | None:
    """`scheme://host:port` of a proxy, without any credentials."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
