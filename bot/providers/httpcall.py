"""One HTTP call with a timeout, a size cap and bounded retries (``request``, used by the ICS-feed provider), and
the policy (``HttpPolicy``, ``retry_after_seconds``) that the CalDAV provider applies to the caldav library's
requests, and the Google and Graph clients share.

* 401 (or whatever ``unauthorized`` lists) -> ``NeedsReconnect`` at once: retrying dead credentials only locks
  accounts.
* Timeouts, connection errors, 429 and 5xx are retried ``policy.attempts`` times in all, waiting
  ``backoff * 2**n`` seconds (or the server's ``Retry-After``, capped at ``max_retry_after``) in between; then
  ``ProviderError``.  Never an empty answer: the caller never mistakes a failure for "no events".
* A body larger than ``max_bytes`` -> ``ProviderError`` (not retried).
* Messages name ``what`` (e.g. "the CalDAV server caldav.icloud.com"), never a URL: feed URLs are secrets, and
  neither credentials nor bodies are ever part of a message or a log line.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from multidict import CIMultiDictProxy

from bot.scheduling.ports import NeedsReconnect, ProviderError

__all__ = ["HttpPolicy", "HttpResult", "request", "retry_after_seconds"]


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    timeout: float = 20.0  # seconds per attempt, whole request
    attempts: int = 3
    backoff: float = 0.5  # first wait; doubles each time
    max_retry_after: float = 30.0
    max_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str  # after redirects


class _TooLarge(Exception):
    pass


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    length = response.content_length
    if length is not None and length > max_bytes:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header (RFC 9110: whole seconds or an HTTP date) as seconds from now, never negative;
    None when absent or unreadable (the caller then backs off on its own)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _retry_after(value: str | None, cap: float) -> float | None:
    seconds = retry_after_seconds(value)
    return None if seconds is None else min(seconds, cap)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB" if n >= 1024 else f"{n} bytes"


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    what: str,
    policy: HttpPolicy,
    headers: Mapping[str, str] | None = None,
    data: bytes | str | None = None,
    authorization: str | None = None,
    unauthorized: Collection[int] = (401,),
) -> HttpResult:
    """Send and read one request (with retries); any status other than the retried ones is returned."""
    last = "no answer"
    all_headers = dict(headers or {})
    if authorization:
        all_headers["Authorization"] = authorization
    attempts = max(1, policy.attempts)
    for attempt in range(attempts):
        wait: float | None = None
        try:
            async with session.request(
                method,
                url,
                headers=all_headers,
                data=data,
                timeout=aiohttp.ClientTimeout(total=policy.timeout),
                allow_redirects=True,
            ) as response:
                status = response.status
                if status in unauthorized:
                    raise NeedsReconnect(f"{what} refused the sign-in (HTTP {status})")
                if status == 429 or status >= 500:
                    last = f"HTTP {status}"
                    wait = _retry_after(response.headers.get("Retry-After"), policy.max_retry_after)
                else:
                    body = await _read_capped(response, policy.max_bytes)
                    return HttpResult(status, response.headers, body, str(response.url))
        except _TooLarge:
            raise ProviderError(f"{what} sent more than {_size(policy.max_bytes)}") from None
        except TimeoutError:
            last = f"no answer within {policy.timeout:g} seconds"
        except aiohttp.ClientError as exc:
            last = f"could not be reached ({type(exc).__name__})"
        if attempt + 1 < attempts:
            await asyncio.sleep(wait if wait is not None else policy.backoff * (2**attempt))
    tries = "once" if attempts == 1 else f"{attempts} times"
    raise ProviderError(f"{what}: {last} (tried {tries})")
