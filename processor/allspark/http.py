"""A small HTTP/1.1 server protocol on asyncio: keep-alive, pipelining (answered in order), Content-Length and
chunked bodies, `Expect: 100-continue`. It parses requests and writes answers; the engine decides them.

Standard library only, so the SDK installs into any Python image without fetching anything; it serves only
what a processor needs (one body in, one body out), not a general web framework.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024 * 1024
# Stop reading from a client that keeps pipelining while its current request is being answered.
MAX_BUFFERED = 4 * 1024 * 1024

REASONS: dict[int, bytes] = {450: b"Queue Full"}


def reason(status: int) -> bytes:
    text = REASONS.get(status)
    if text is None:
        try:
            text = HTTPStatus(status).phrase.encode()
        except ValueError:
            text = b"Unknown"
        REASONS[status] = text
    return text


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Head:
    """A parsed request line and the headers the server acts on."""

    __slots__ = ("method", "path", "query", "keep_alive", "length", "chunked", "expect_continue")

    def __init__(self, method: bytes, path: bytes, query: bytes, keep_alive: bool) -> None:
        self.method, self.path, self.query, self.keep_alive = method, path, query, keep_alive
        self.length = 0
        self.chunked = False
        self.expect_continue = False


def parse_head(raw: bytes) -> Head:
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    path, _, query = target.partition(b"?")
    head = Head(method, path, query, version != b"HTTP/1.0")
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest(400, "malformed header line")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                head.length = int(value)
            except ValueError:
                raise BadRequest(400, "malformed Content-Length") from None
            if head.length < 0:
                raise BadRequest(400, "malformed Content-Length")
        elif name == b"transfer-encoding":
            head.chunked = b"chunked" in value.lower()
        elif name == b"connection":
            value = value.lower()
            if b"close" in value:
                head.keep_alive = False
            elif b"keep-alive" in value:
                head.keep_alive = True
        elif name == b"expect":
            head.expect_continue = value.strip().lower() == b"100-continue"
    if head.length > MAX_BODY:
        raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    return head


def take_chunked(buf: bytearray) -> bytes | None:
    """The whole chunked body at the start of `buf` (removed from it), or None while it is incomplete."""
    pos, parts, total = 0, [], 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest(400, "malformed chunk size") from None
        if size == 0:
            end = buf.find(b"\r\n\r\n", eol)  # the last chunk, optional trailers, then an empty line
            if end < 0:
                return None
            del buf[: end + 4]
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise BadRequest(413, f"request body over {MAX_BODY} bytes")
        start = eol + 2
        if len(buf) < start + size + 2:
            return None
        parts.append(bytes(buf[start : start + size]))
        pos = start + size + 2


class HttpProtocol(asyncio.Protocol):
    """One client connection. Calls `engine.handle(conn, head, body, started)` once per complete request and
    reads the next request only after `respond()` answered this one."""

    def __init__(self, engine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.head: Head | None = None
        self.started = 0.0
        self.busy = False
        self.closing = False
        self.paused = False
        self.receive_timer: asyncio.TimerHandle | None = None
        self.head_only = False  # the request being answered is a HEAD: send the headers only

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.engine.connections.add(self)

    # No eof_received(): a client's FIN closes the connection (as uvicorn and aiohttp do), so a request
    # whose client left is not processed for nobody; clients that half-close (`nc -N`) get no answer.

    def connection_lost(self, exc) -> None:
        self.closing = True
        self._cancel_receive_timer()
        self.engine.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if not self.buf and self.head is None and not self.busy:
            self.started = self.loop.time()
        self.buf += data
        if not self.busy:
            self._next()
        elif len(self.buf) > MAX_BUFFERED and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def _next(self) -> None:
        try:
            while not self.busy and not self.closing:
                if self.head is None:
                    end = self.buf.find(b"\r\n\r\n")
                    if end < 0:
                        if len(self.buf) > MAX_HEAD:
                            raise BadRequest(431, "request head too large")
                        self._await_rest()
                        return
                    self.head = parse_head(bytes(self.buf[:end]))
                    del self.buf[: end + 4]
                    if self.head.expect_continue and (self.head.length or self.head.chunked):
                        self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                head = self.head
                if head.chunked:
                    body = take_chunked(self.buf)
                    if body is None:
                        self._await_rest()
                        return
                else:
                    if len(self.buf) < head.length:
                        self._await_rest()
                        return
                    body = bytes(self.buf[: head.length])
                    del self.buf[: head.length]
                self.head = None
                self.busy = True
                self._cancel_receive_timer()
                self.head_only = head.method == b"HEAD"
                self.engine.handle(self, head, body, self.started)
        except BadRequest as exc:
            self.busy = True
            self.head_only = False
            self._cancel_receive_timer()
            self.engine.reject(self, exc.status, str(exc).encode(), self.started)

    def _await_rest(self) -> None:
        """A request arrived in part: it must be complete within rpc.keepalive of its first byte, or it gets 408."""
        if self.receive_timer is None and (self.buf or self.head is not None) and self.engine.keepalive:
            self.receive_timer = self.loop.call_at(self.started + self.engine.keepalive, self._receive_timeout)

    def _receive_timeout(self) -> None:
        self.receive_timer = None
        if not self.busy and not self.closing:
            self.busy = True
            self.head_only = False
            self.engine.reject(self, 408, b"request not received within rpc.keepalive", self.started)

    def _cancel_receive_timer(self) -> None:
        if self.receive_timer is not None:
            self.receive_timer.cancel()
            self.receive_timer = None

    def respond(self, status: int, body: bytes, content_type: bytes, keep_alive: bool) -> None:
        """Write one answer; close the connection after it unless `keep_alive`. Ignored once closed."""
        if self.closing:
            return
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            status,
            reason(status),
            content_type,
            len(body),
            b"" if keep_alive else b"Connection: close\r\n",
        )
        if self.head_only:
            self.transport.write(head)
        elif len(body) < 65536:
            self.transport.write(head + body)
        else:
            self.transport.write(head)
            self.transport.write(body)
        if not keep_alive:
            self.close()
            return
        self.busy = False
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        if self.buf:
            self.started = self.loop.time()
            self._next()

    def close(self) -> None:
        """Close after what was written is flushed."""
        self.closing = True
        if self.transport is not None:
            self.transport.close()
