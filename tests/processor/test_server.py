"""The allspark processor server end to end: real processes, real HTTP on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests import stack

SLOW = """
import time

import allspark


class Slow(allspark.BaseProcessor):
    def process(self, data):
        time.sleep(float(data or b"0"))
        return "slept " + data.decode(), 200


if __name__ == "__main__":
    Slow(worker_threads={threads}).run()
"""


def slow_source(threads: int = 5) -> str:
    return SLOW.format(threads=threads)


def test_no_request_reaches_process_before_initialize_finishes(start_processor):
    source = """
    import time

    import allspark


    class Loader(allspark.BaseProcessor):
        def initialize(self):
            time.sleep(3)
            self.ready_at = time.time()

        def process(self, data):
            return "ready since %f" % self.ready_at, 200


    if __name__ == "__main__":
        Loader().run()
    """
    launched = time.time()
    processor = start_processor(source, wait=False)
    refused_before = 0
    while not stack.port_open(processor.port):
        assert processor.proc.poll() is None, processor.output()
        refused_before += 1
        time.sleep(0.05)
    opened = time.time()
    answer = processor.request(b"x")
    ready_at = float(answer.body.split()[-1])

    assert opened - launched >= 3, "the port opened while initialize() was still sleeping"
    assert refused_before > 20, "the port should have refused connections for the whole initialize()"
    assert answer.status == 200 and ready_at <= opened


def test_requests_beyond_worker_threads_plus_max_queue_size_get_450_at_once(start_processor):
    # worker_threads from the constructor, max_queue_size from code, keepalive from the environment.
    source = slow_source(threads=2).replace(
        'if __name__ == "__main__":',
        'if __name__ == "__main__":\n    allspark.default_properties().put("rpc.max_queue_size", "4")',
    )
    processor = start_processor(source, env={"ALLSPARK_RPC_KEEPALIVE": "20000"})
    barrier = threading.Barrier(20)

    def call(_):
        barrier.wait()
        return processor.request(b"0.6")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(call, range(20)))

    statuses = Counter(a.status for a in answers)
    assert statuses == {200: 6, 450: 14}, statuses
    assert max(a.elapsed for a in answers if a.status == 450) < 0.5, "450 must be answered at once, not queued"
    # 6 accepted at 2 at a time: three rounds of 0.6 s.
    assert max(a.elapsed for a in answers if a.status == 200) >= 1.7


def test_a_request_over_rpc_keepalive_gets_408_and_its_connection_is_closed(start_processor):
    processor = start_processor(slow_source(threads=1), env={"ALLSPARK_RPC_KEEPALIVE": "1000"})

    answer = processor.request(b"2.5")

    assert answer.status == 408
    assert b"1000 ms" in answer.body
    assert answer.headers.get("connection") == "close"
    assert 0.9 <= answer.elapsed < 2.0


def test_time_waiting_in_the_queue_counts_toward_rpc_keepalive(start_processor):
    processor = start_processor(slow_source(threads=1), env={"ALLSPARK_RPC_KEEPALIVE": "1000"})

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(processor.request, b"0.7")
        time.sleep(0.1)
        second = pool.submit(processor.request, b"0.7")  # waits 0.6 s, then needs 0.7 s more
        first, second = first.result(), second.result()

    assert first.status == 200 and first.body == b"slept 0.7"
    assert second.status == 408 and second.elapsed < 1.3


def test_an_exception_in_process_gives_400_with_its_message_and_the_server_carries_on(start_processor):
    source = """
    import allspark


    class Fragile(allspark.BaseProcessor):
        def process(self, data):
            if data == b"boom":
                raise ValueError("cannot parse 'boom' as a number")
            return b"fine", 200


    if __name__ == "__main__":
        Fragile().run()
    """
    processor = start_processor(source)

    broken = processor.request(b"boom")
    after = processor.request(b"1")

    assert broken.status == 400 and broken.body == b"cannot parse 'boom' as a number"
    assert after.status == 200 and after.body == b"fine"
    assert processor.proc.poll() is None
    assert "ValueError" in processor.output()  # the traceback is logged


def test_sigterm_answers_every_accepted_request_stops_listening_and_exits_0(start_processor):
    processor = start_processor(slow_source(threads=5), env={"ALLSPARK_EAS_TERMINATION_GRACE_PERIOD": "10"})

    with ThreadPoolExecutor(3) as pool:
        calls = [pool.submit(processor.request, b"1.5") for _ in range(3)]
        time.sleep(0.5)
        processor.terminate()
        time.sleep(0.2)
        listening_while_draining = stack.port_open(processor.port)
        answers = [call.result() for call in calls]

    assert [a.status for a in answers] == [200, 200, 200]
    assert not listening_while_draining
    assert processor.proc.wait(timeout=5) == 0
    assert "drained" in processor.output()


def test_sigterm_exits_after_the_grace_period_when_process_takes_longer(start_processor):
    processor = start_processor(slow_source(threads=1), env={"ALLSPARK_EAS_TERMINATION_GRACE_PERIOD": "1"})
    with ThreadPoolExecutor(1) as pool:
        call = pool.submit(processor.request, b"30")
        time.sleep(0.3)
        terminated = time.monotonic()
        processor.terminate()
        exit_code = processor.proc.wait(timeout=10)
        took = time.monotonic() - terminated
        call.cancel()

    assert exit_code == 0 and 0.9 <= took < 4
    assert "grace period over with 1 request(s) unanswered" in processor.output()


def test_health_answers_200_and_is_not_sent_to_process(start_processor):
    processor = start_processor(slow_source())

    health = processor.request(method="GET", path="/health")

    assert health.status == 200 and health.body == b"OK"
    assert b'allspark_requests_total{code="200"}' not in processor.request(method="GET", path="/metrics").body


def test_metrics_count_answers_by_code_latency_and_the_queue(start_processor):
    processor = start_processor(slow_source(threads=1), env={"ALLSPARK_RPC_MAX_QUEUE_SIZE": "2"})
    assert processor.request(b"0").status == 200
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(processor.request, b"1")]
        time.sleep(0.2)
        calls += [pool.submit(processor.request, b"0.1") for _ in range(2)]
        time.sleep(0.2)
        calls.append(pool.submit(processor.request, b"0"))  # the queue is full: 450
        time.sleep(0.2)
        busy = processor.request(method="GET", path="/metrics").body.decode()
        assert sorted(c.result().status for c in calls) == [200, 200, 200, 450]
    idle = processor.request(method="GET", path="/metrics")

    assert "allspark_queue_length 2" in busy and "allspark_in_flight 1" in busy
    text = idle.body.decode()
    assert idle.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'allspark_requests_total{code="200"} 4' in text
    assert 'allspark_requests_total{code="450"} 1' in text
    assert "allspark_request_duration_seconds_count 5" in text
    assert 'allspark_request_duration_seconds_bucket{le="0.5"} 2' in text  # the first b"0" and the 450
    assert "allspark_queue_length 0" in text and "allspark_worker_threads 1" in text


def read_responses(conn: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """`count` responses as (head, body), framed by their Content-Length."""
    data, responses = b"", []
    while len(responses) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end]
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            if len(data) >= end + 4 + length:
                responses.append((head, data[end + 4 : end + 4 + length]))
                data = data[end + 4 + length :]
                continue
        chunk = conn.recv(1 << 20)
        assert chunk, f"connection closed after {len(responses)} responses"
        data += chunk
    return responses


def exchange(port: int, payload: bytes, count: int) -> list[tuple[bytes, bytes]]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)
        return read_responses(conn, count)


def test_chunked_bodies_100_continue_and_pipelined_requests_reach_process_intact(start_processor):
    source = """
    import allspark


    class Echo(allspark.BaseProcessor):
        def process(self, data):
            return b"got " + data, 200


    if __name__ == "__main__":
        Echo().run()
    """
    processor = start_processor(source)
    big = bytes(range(256)) * 4096  # 1 MiB, curl would send it with Expect: 100-continue

    chunked = exchange(
        processor.port,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        1,
    )
    pipelined = exchange(
        processor.port,
        b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
        b"POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\ntwo"
        b"GET /health HTTP/1.1\r\n\r\n",
        3,
    )
    with socket.create_connection(("127.0.0.1", processor.port), timeout=5) as conn:
        conn.sendall(b"POST / HTTP/1.1\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(big))
        assert conn.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(big)
        [(big_head, big_body)] = read_responses(conn, 1)

    assert chunked[0][0].startswith(b"HTTP/1.1 200 OK") and chunked[0][1] == b"got hello world"
    assert [body for _, body in pipelined] == [b"got one", b"got two", b"OK"]
    assert big_head.startswith(b"HTTP/1.1 200 OK") and big_body == b"got " + big


def test_a_request_whose_body_never_completes_gets_408_within_rpc_keepalive(start_processor):
    processor = start_processor(slow_source(), env={"ALLSPARK_RPC_KEEPALIVE": "1000"})

    with socket.create_connection(("127.0.0.1", processor.port), timeout=5) as conn:
        started = time.monotonic()
        conn.sendall(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0.1")
        [(head, body)] = read_responses(conn, 1)
        elapsed = time.monotonic() - started
        closed = conn.recv(1) == b""

    assert head.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in head
    assert 0.9 <= elapsed < 2 and closed


def test_requests_over_rpc_rate_limit_get_429_at_once(start_processor):
    processor = start_processor(slow_source(), env={"ALLSPARK_RPC_RATE_LIMIT": "5"})

    started = time.monotonic()
    answers = [processor.request(b"0") for _ in range(20)]
    took = time.monotonic() - started

    statuses = Counter(a.status for a in answers)
    # A one-second bucket of 5, refilled at 5/s while the 20 requests go out.
    assert statuses[200] <= 5 + int(took * 5) + 1 and statuses[200] >= 5, (statuses, took)
    assert statuses[200] + statuses[429] == 20 and statuses[429] >= 10
    assert b"rpc.rate_limit" in next(a.body for a in answers if a.status == 429)


def test_a_head_request_gets_headers_only_and_the_connection_stays_usable(start_processor):
    processor = start_processor(slow_source())

    with socket.create_connection(("127.0.0.1", processor.port), timeout=5) as conn:
        conn.sendall(b"HEAD /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n0GET /health HTTP/1.1\r\n\r\n")
        data = b""
        while not data.endswith(b"\r\n\r\nOK"):
            chunk = conn.recv(65536)
            assert chunk, data
            data += chunk

    head, health = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 7" in head  # len(b"slept 0"), not sent
    assert health.startswith(b"HTTP/1.1 200 OK") and health.endswith(b"OK")


def test_a_queued_request_whose_client_left_is_counted_499_and_never_processed(start_processor):
    processor = start_processor(slow_source(threads=1))

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(processor.request, b"1")
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", processor.port), timeout=5) as conn:
            conn.sendall(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n0.8")
            time.sleep(0.2)  # queued behind the first; now the client gives up
        assert first.result().status == 200
    metrics = processor.request(method="GET", path="/metrics").body.decode()

    assert 'allspark_requests_total{code="499"} 1' in metrics
    assert "allspark_in_flight 0" in metrics, "the abandoned request must not reach process()"
