"""`worker_processes` > 1: the initialized processor forked into that many serving processes.

The parent runs `initialize()` once, then forks, so a loaded model is shared copy-on-write (like gunicorn's
--preload, with its caveat: threads that initialize() started do not survive a fork). Each child binds its
own socket to the endpoint with SO_REUSEPORT, so the kernel spreads connections across the processes; each
child is a whole server (its own worker threads, queue, keepalive, metrics). The parent only supervises:
SIGTERM/SIGINT are passed on to every child, and when a child dies on its own the others are stopped and
the parent exits 1, so the container is restarted rather than left serving at reduced capacity.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("allspark")


def supervise(serve, count: int) -> int:
    """Fork `count` children each running `serve()`; return the exit code for the parent."""
    children: dict[int, int] = {}
    stopping = False

    def stop_children(signum=None, frame=None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    # Installed before forking so no signal is lost in between; each child restores the default at once.
    previous = {signum: signal.signal(signum, stop_children) for signum in (signal.SIGTERM, signal.SIGINT)}
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            for signum in previous:
                signal.signal(signum, signal.SIG_DFL)
            code = 0
            try:
                serve()
            except BaseException:
                log.exception("worker process %d failed", index)
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = index
    log.info("supervising %d worker processes: %s", count, ", ".join(map(str, children)))

    failed = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.pop(pid, None)
        code = os.waitstatus_to_exitcode(status)
        if not stopping:
            log.error("worker process %d exited with %d; stopping the others", pid, code)
            failed = True
            stop_children()
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    return 1 if failed else 0
