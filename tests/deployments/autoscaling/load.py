"""A paced, bounded load through the gateway: `qps` requests per second spread over threads, every outcome counted."""

import http.client
import threading
import time


class PacedLoad:
    def __init__(self, port: int, path: str, token: str, *, qps: float, threads: int = 4, limit: float = 120):
        self.port, self.path, self.token = port, path, token
        self.qps, self.limit = qps, limit
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i, threads), daemon=True) for i in range(threads)]

    def set_rate(self, qps: float) -> None:
        self.qps = qps

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self, index: int, count: int) -> None:
        deadline = time.monotonic() + self.limit  # bounded, whatever happens
        next_at = time.monotonic() + index / max(self.qps, 0.1)  # staggered: one request every 1/qps s
        while not self.stop.is_set() and time.monotonic() < deadline:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + count / max(self.qps, 0.1), time.monotonic() - 1)
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("POST", self.path, body=b"payload", headers={"Authorization": self.token})
                response = conn.getresponse()
                body = response.read()
                with self.lock:
                    if response.status == 200:
                        self.ok += 1
                    else:
                        self.failures.append(f"{time.time():.3f} {response.status} {body[:100]!r}")
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(f"{time.time():.3f} {exc!r}")
            finally:
                conn.close()
