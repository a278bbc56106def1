"""Request metrics of one processor, rendered in the Prometheus text format at GET /metrics.

Only the event-loop thread writes these counters, so they need no lock.
"""

from __future__ import annotations

from bisect import bisect_left

# Upper bounds (seconds) of the latency histogram's buckets.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.by_code: dict[int, int] = {}
        self.bucket_counts = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, code: int, seconds: float) -> None:
        """Count one answered request: its status code and its latency (receive + queue + process)."""
        self.by_code[code] = self.by_code.get(code, 0) + 1
        self.bucket_counts[bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    def render(self, *, queue_length: int, in_flight: int, worker_threads: int, max_queue_size: int) -> bytes:
        lines = [
            "# HELP allspark_requests_total Requests answered by process() or by the engine, by HTTP status code.",
            "# TYPE allspark_requests_total counter",
        ]
        for code in sorted(self.by_code):
            lines.append(f'allspark_requests_total{{code="{code}"}} {self.by_code[code]}')
        lines += [
            "# HELP allspark_request_duration_seconds Time from a request's first byte to its answer.",
            "# TYPE allspark_request_duration_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip(BUCKETS, self.bucket_counts):
            cumulative += count
            lines.append(f'allspark_request_duration_seconds_bucket{{le="{bound:g}"}} {cumulative}')
        lines.append(f'allspark_request_duration_seconds_bucket{{le="+Inf"}} {self.latency_count}')
        lines.append(f"allspark_request_duration_seconds_sum {self.latency_sum:.6f}")
        lines.append(f"allspark_request_duration_seconds_count {self.latency_count}")
        gauges = (
            ("allspark_queue_length", "Requests waiting for a worker thread.", queue_length),
            ("allspark_in_flight", "Requests inside process() now.", in_flight),
            ("allspark_worker_threads", "Configured rpc.worker_threads.", worker_threads),
            ("allspark_max_queue_size", "Configured rpc.max_queue_size.", max_queue_size),
        )
        for name, help_text, value in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
        return ("\n".join(lines) + "\n").encode()
