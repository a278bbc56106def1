"""The request engine: EAS `rpc.*` semantics around a processor's `process()`.

- `rpc.worker_threads` threads call `process()`; at most that many requests run at once.
- More than `rpc.rate_limit` requests a second (when set) are answered 429 at once.
- Up to `rpc.max_queue_size` more wait in a FIFO queue; a request beyond that is answered 450 at once.
- A request not answered `rpc.keepalive` ms after its first byte arrived (receive + queue wait + processing)
  is answered 408 and its connection closed. A thread still inside `process()` keeps its slot until it
  returns (a thread cannot be stopped), so the 408 frees no capacity early: the counts stay truthful.
- An exception in `process()` is answered 400 with the exception's message; the server carries on.
- GET /health answers 200 while serving and 503 while draining; GET /metrics answers the Prometheus text.

Every field is owned by the event-loop thread except the job queue and the `done` deque, which worker
threads feed; a worker wakes the loop once per batch of finished jobs, not once per job.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading

from .metrics import Metrics

log = logging.getLogger("allspark")

TEXT = b"text/plain; charset=utf-8"
BINARY = b"application/octet-stream"
PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
WAITING, RUNNING = 1, 2


class Job:
    __slots__ = ("conn", "body", "started", "keep_alive", "state", "timer", "answered", "status", "reply", "ctype")

    def __init__(self, conn, body: bytes, started: float, keep_alive: bool) -> None:
        self.conn, self.body, self.started, self.keep_alive = conn, body, started, keep_alive
        self.state = WAITING
        self.timer = None
        self.answered = False
        self.status, self.reply, self.ctype = 500, b"", TEXT


def normalize(result) -> tuple[int, bytes, bytes]:
    """process()'s return value -> (status, body, content type).

    `(body, status)` as in the EAS guide; a bare body means 200. Status 0 means 200 too: older allspark
    examples return 0 for success. The body may be bytes or str (sent as UTF-8).
    """
    if isinstance(result, tuple) and len(result) == 2:
        body, status = result
    else:
        body, status = result, 200
    if isinstance(status, bool) or not isinstance(status, int) or not (status == 0 or 100 <= status <= 999):
        return 500, f"process() returned an invalid status code {status!r}".encode(), TEXT
    status = status or 200
    if isinstance(body, (bytes, bytearray, memoryview)):
        return status, bytes(body), BINARY
    if body is None:
        return status, b"", BINARY
    return status, str(body).encode(), TEXT


class Engine:
    def __init__(self, processor, settings, loop: asyncio.AbstractEventLoop) -> None:
        self.processor = processor
        self.settings = settings
        self.loop = loop
        self.metrics = Metrics()
        self.connections: set = set()
        self.workers = settings.worker_threads
        self.max_queue = settings.max_queue_size
        self.keepalive = settings.keepalive_ms / 1000.0
        # rpc.rate_limit: a token bucket holding one second's worth of requests.
        self.rate = settings.rate_limit
        self.tokens = float(self.rate)
        self.refilled = loop.time()
        self.running = 0  # jobs handed to worker threads whose process() has not returned
        self.waiting: collections.deque[Job] = collections.deque()
        self.queued = 0  # jobs in `waiting` not yet answered (408 ones are skipped lazily)
        self.pending = 0  # accepted requests not yet answered
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.done: collections.deque[Job] = collections.deque()
        self.wake_pending = False
        self.draining = False
        self.server: asyncio.base_events.Server | None = None
        self.stopping = loop.create_future()  # set on SIGTERM
        self.drained = loop.create_future()  # set once draining and every accepted request is answered
        self.threads = [
            threading.Thread(target=self._work, name=f"allspark-worker-{n}", daemon=True) for n in range(self.workers)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    # --- requests (event-loop thread) ----------------------------------------------------------------

    def handle(self, conn, head, body: bytes, started: float) -> None:
        """Called by the protocol for each complete request."""
        keep_alive = head.keep_alive and not self.draining
        if head.method == b"GET" and head.path in (b"/health", b"/metrics"):
            if head.path == b"/health":
                status, reply = (503, b"draining") if self.draining else (200, b"OK")
                conn.respond(status, reply, TEXT, keep_alive)
            else:
                reply = self.metrics.render(
                    queue_length=self.queued,
                    in_flight=self.running,
                    worker_threads=self.workers,
                    max_queue_size=self.max_queue,
                )
                conn.respond(200, reply, PROMETHEUS, keep_alive)
            return
        if self.rate and not self._take_token():
            self._answer_now(conn, 429, b"rate limit exceeded (rpc.rate_limit)", started, keep_alive)
            return
        if self.running >= self.workers and self.queued >= self.max_queue:
            self._answer_now(conn, 450, b"request queue is full (rpc.max_queue_size); retry", started, keep_alive)
            return
        job = Job(conn, body, started, keep_alive)
        self.pending += 1
        if self.keepalive:
            job.timer = self.loop.call_at(started + self.keepalive, self._expire, job)
        if self.running < self.workers:
            self._run(job)
        else:
            self.waiting.append(job)
            self.queued += 1

    def _take_token(self) -> bool:
        now = self.loop.time()
        self.tokens = min(float(self.rate), self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def reject(self, conn, status: int, message: bytes, started: float) -> None:
        """A request the protocol could not parse: answered and the connection closed."""
        self._answer_now(conn, status, message, started, False)

    def _answer_now(self, conn, status: int, reply: bytes, started: float, keep_alive: bool) -> None:
        self.metrics.observe(status, self.loop.time() - started)
        conn.respond(status, reply, TEXT, keep_alive)

    def _run(self, job: Job) -> None:
        job.state = RUNNING
        self.running += 1
        self.jobs.put(job)

    def _expire(self, job: Job) -> None:
        if job.answered:
            return
        if job.state == WAITING:
            self.queued -= 1
        ms = self.settings.keepalive_ms
        # EAS closes the connection on a 408.
        self._answer(job, 408, f"request timed out after {ms} ms (rpc.keepalive)".encode(), TEXT, False)

    def _answer(self, job: Job, status: int, reply: bytes, ctype: bytes, keep_alive: bool) -> None:
        job.answered = True
        self.pending -= 1
        # 499, as EAS counts it: the client closed the connection before its answer.
        self.metrics.observe(499 if job.conn.closing else status, self.loop.time() - job.started)
        job.conn.respond(status, reply, ctype, keep_alive and not self.draining)
        if self.draining and not self.pending and not self.drained.done():
            self.drained.set_result(None)

    def _collect(self) -> None:
        """Answer the jobs worker threads finished, then hand waiting jobs to the freed threads."""
        self.wake_pending = False  # reset before draining, so a job appended after this wakes us again
        done = self.done
        while done:
            job = done.popleft()
            self.running -= 1
            if job.timer is not None:
                job.timer.cancel()
            if not job.answered:
                self._answer(job, job.status, job.reply, job.ctype, job.keep_alive)
        while self.running < self.workers and self.waiting:
            job = self.waiting.popleft()
            if job.answered:
                continue
            self.queued -= 1
            if job.conn.closing:  # nobody is waiting for this answer: spare process() the work
                if job.timer is not None:
                    job.timer.cancel()
                self._answer(job, 499, b"", TEXT, False)
                continue
            self._run(job)

    # --- worker threads -------------------------------------------------------------------------------

    def _work(self) -> None:
        process = self.processor.process
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                job.status, job.reply, job.ctype = normalize(process(job.body))
            except Exception as exc:  # a bug in process() must not take the server down
                log.exception("process() raised %s", type(exc).__name__)
                job.status, job.reply, job.ctype = 400, (str(exc) or type(exc).__name__).encode(), TEXT
            job.body = b""
            self.done.append(job)
            if not self.wake_pending:
                self.wake_pending = True
                try:
                    self.loop.call_soon_threadsafe(self._collect)
                except RuntimeError:  # the loop closed: the process is exiting
                    return

    # --- shutdown -----------------------------------------------------------------------------------

    def begin_drain(self) -> None:
        """SIGTERM: stop accepting, fail health checks, answer what was accepted, then let run() return."""
        if self.draining:
            return
        self.draining = True
        self.stopping.set_result(None)
        log.info(
            "draining: %d request(s) accepted and unanswered, grace period %gs",
            self.pending,
            self.settings.grace_seconds,
        )
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            if not conn.busy:
                conn.close()
        if not self.pending and not self.drained.done():
            self.drained.set_result(None)

    async def wait_drained(self) -> bool:
        """True when every accepted request was answered within the grace period."""
        try:
            await asyncio.wait_for(asyncio.shield(self.drained), self.settings.grace_seconds)
            return True
        except asyncio.TimeoutError:
            return False

    async def close_connections(self, timeout: float = 2.0) -> None:
        for conn in list(self.connections):
            conn.close()
        deadline = self.loop.time() + timeout
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
