"""Binance's public kline endpoint, over urllib (no extra dependency).

``GET {base}/api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=`` returns an array of
arrays: open time (ms), open, high, low, close, volume (strings), close time (ms), quote
volume, number of trades, taker buy base volume, taker buy quote volume, ignore
(https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

DEFAULT_BASE_URL = "https://api.binance.com"
RETRIES = 4


class DownloadError(RuntimeError):
    """The exchange could not be reached or refused the request."""


def base_url() -> str:
    """``BINANCE_BASE_URL`` from the settings or the environment, else api.binance.com."""
    url = (
        getattr(settings, "BINANCE_BASE_URL", None) or os.environ.get("BINANCE_BASE_URL") or DEFAULT_BASE_URL
    )
    return url.rstrip("/")


def now_ms() -> int:
    return int(time.time() * 1000)


def fetch_klines(
    base: str,
    symbol: str,
    interval: str,
    start_ms: int,
    end_ms: int,
    limit: int,
    *,
    timeout: float = 30.0,
    sleep=time.sleep,
) -> list[list]:
    """One page of klines. Retries timeouts, 5xx and rate limits (429/418, honouring
    Retry-After); a 4xx such as an unknown symbol fails at once with Binance's message."""
    query = urllib.parse.urlencode(
        {"symbol": symbol, "interval": interval, "startTime": start_ms, "endTime": end_ms, "limit": limit}
    )
    url = f"{base.rstrip('/')}/api/v3/klines?{query}"
    delay = 1.0
    for attempt in range(RETRIES + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                rows = json.loads(resp.read().decode("utf-8"))
            if not isinstance(rows, list):
                raise DownloadError(f"{url} returned {type(rows).__name__}, expected an array of klines")
            return rows
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")[:300]
            transient = exc.code in (418, 429) or exc.code >= 500
            if not transient or attempt == RETRIES:
                raise DownloadError(f"{url}: HTTP {exc.code} {body}") from None
            wait = float(exc.headers.get("Retry-After") or delay)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            if attempt == RETRIES:
                raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from None
            wait = delay
        sleep(min(wait, 60.0))
        delay *= 2
    raise AssertionError("unreachable")
