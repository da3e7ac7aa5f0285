"""A local stand-in for Binance's ``GET /api/v3/klines`` (http.server in a thread on 127.0.0.1).

It serves the documented format (an array of 12-field arrays, prices as strings) from a
deterministic hourly series, honours startTime / endTime / limit, records every query, and
can be told to fail from the n-th request on.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

HOUR_MS = 3_600_000


def make_klines(
    start_ms: int, n: int, *, step_ms: int = HOUR_MS, seed: int = 3, skip: tuple[int, ...] = ()
) -> list[list]:
    rng = np.random.default_rng(seed)
    close = 1000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    rows = []
    for i in range(n):
        if i in skip:
            continue
        o = close[i - 1] if i else 1000.0
        c = close[i]
        hi, lo = max(o, c) * 1.002, min(o, c) * 0.998
        t = start_ms + i * step_ms
        rows.append(
            [
                t,
                f"{o:.2f}",
                f"{hi:.2f}",
                f"{lo:.2f}",
                f"{c:.2f}",
                f"{rng.uniform(10, 99):.4f}",
                t + step_ms - 1,
                "12345.6",
                321,
                "5.0",
                "5000.0",
                "0",
            ]
        )
    return rows


class KlineStub:
    def __init__(self, klines: list[list]) -> None:
        self.klines = klines
        self.queries: list[dict] = []
        self.fail_from: int | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urllib.parse.urlparse(self.path)
                q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                stub.queries.append(q)
                if url.path != "/api/v3/klines":
                    return self._send(404, {"code": -1, "msg": "not found"})
                if stub.fail_from is not None and len(stub.queries) >= stub.fail_from:
                    return self._send(500, {"code": -1000, "msg": "stub outage"})
                start, end = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
                limit = min(int(q.get("limit", 500)), 1000)
                rows = [k for k in stub.klines if start <= k[0] <= end][:limit]
                self._send(200, rows)

            def _send(self, code: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KlineStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def start_times(self) -> list[int]:
        return [int(q["startTime"]) for q in self.queries]
