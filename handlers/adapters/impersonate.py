"""A browser-grade transport for the exchange: httpx's API over curl_cffi's client.

The exchange's CDN binds its challenge to the client's TLS fingerprint, so curl and httpx are
turned away where a browser is not. With `[http] impersonate = "chrome"` (and the optional
extra `idxd[cdn]` installed) every request of the pipeline — the API and the PDFs alike — goes
out through curl_cffi impersonating that browser, with the same proxy, TLS and timeout
settings; the rest of the code still speaks httpx and judges the answers the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

# Headers curl sets itself, or that describe the body as curl already decoded it.
DROPPED_REQUEST = frozenset({"host", "user-agent", "accept-encoding", "connection",
                             "content-length"})
DROPPED_RESPONSE = frozenset({"content-encoding", "transfer-encoding"})


class ImpersonatingTransport(httpx.BaseTransport):
    def __init__(self, browser: str, *, proxy: str | None, verify: bool | str,
                 timeout_s: float):
        from curl_cffi import CurlOpt
        from curl_cffi import requests as curl  # the optional extra idxd[cdn]

        self._errors: tuple[type[BaseException], ...] = (curl.exceptions.RequestException,)
        # A CA bundle path is curl's CAINFO; verification itself is on unless turned off.
        options = {CurlOpt.CAINFO: verify} if isinstance(verify, str) else {}
        self._session: Any = curl.Session(impersonate=browser, proxy=proxy,
                                          verify=verify is not False, timeout=timeout_s,
                                          curl_options=options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() not in DROPPED_REQUEST}
        try:
            answer = self._session.request(request.method, str(request.url), headers=headers,
                                           data=request.read() or None, stream=True,
                                           allow_redirects=False)
        except self._errors as error:
            raise httpx.ConnectError(f"{type(error).__name__}: {error}", request=request) \
                from error
        kept = [(name, value) for name, value in answer.headers.items()
                if name.lower() not in DROPPED_RESPONSE]
        return httpx.Response(answer.status_code, headers=kept,
                              stream=_Body(answer, self._errors, request), request=request)

    def close(self) -> None:
        self._session.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, answer: Any, errors: tuple[type[BaseException], ...],
                 request: httpx.Request):
        self._answer, self._errors, self._request = answer, errors, request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._answer.iter_content()
        except self._errors as error:  # cut short, reset: transient, as with httpx
            raise httpx.ReadError(f"{type(error).__name__}: {error}", request=self._request) \
                from error

    def close(self) -> None:
        self._answer.close()
