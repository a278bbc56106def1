"""`allspark.BaseProcessor`: the EAS Python processor API.

class MyProcessor(allspark.BaseProcessor):
    def initialize(self): ...                   # load the model; runs before the port opens
    def process(self, data): return b"...", 200  # data: the request body (bytes)

MyProcessor(worker_threads=10).run()
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from . import config, workers
from .engine import Engine
from .http import HttpProtocol

log = logging.getLogger("allspark")


class BaseProcessor:
    """Subclass it, override `initialize()` and `process(data)`, then call `run()`.

    The constructor's arguments are EAS's: `worker_threads` (rpc.worker_threads), `io_threads`
    (accepted; one asyncio thread per process does all network I/O), `worker_processes` (serving processes
    forked after initialize(), see `allspark.workers`) and `endpoint` ("host:port" to listen on). Each left out falls back to the other sources described in
    `allspark.config`.
    """

    def __init__(self, worker_threads=None, io_threads=None, worker_processes=None, endpoint=None) -> None:
        self._constructor_args = {
            "worker_threads": worker_threads,
            "io_threads": io_threads,
            "worker_processes": worker_processes,
            "endpoint": endpoint,
        }

    def initialize(self) -> None:
        """Load models and other state. Runs once, in the main thread, before the server listens."""

    def process(self, data: bytes):
        """Answer one request: return `(body, status)` with a bytes or str body. An exception answers 400."""
        raise NotImplementedError("process() is not implemented")

    def get_model_path(self) -> bytes:
        """The local model directory (bytes, as in EAS: call `.decode()`): ALLSPARK_MODEL_PATH, a local
        `model_path` in the service config, or /eas/workspace/model."""
        return self._properties()["model_path"].encode()

    def get_model_config(self) -> bytes:
        """The service config's `model_config` (bytes; JSON text when it was an object), or b''."""
        return self._properties()["model_config"].encode()

    def _properties(self) -> dict[str, str]:
        return config.resolve(self._constructor_args)

    def run(self) -> None:
        """Initialize, then serve until SIGTERM or SIGINT; drain accepted requests within the grace period.

        Raises ValueError for malformed settings (before initialize() runs) and OSError when the endpoint
        cannot be bound.
        """
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        config.Settings(self._properties())  # fail on a malformed setting before a long initialize()
        self.initialize()
        # Resolved again: initialize() may have set default_properties().
        settings = config.Settings(self._properties())
        if settings.worker_processes > 1:
            code = workers.supervise(lambda: self._serve_forever(settings, reuse_port=True), settings.worker_processes)
            if code:
                raise SystemExit(code)
            return
        self._serve_forever(settings, reuse_port=False)

    def _serve_forever(self, settings: config.Settings, *, reuse_port: bool) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(loop, settings, reuse_port))
        finally:
            loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop, settings: config.Settings, reuse_port: bool) -> None:
        engine = Engine(self, settings, loop)
        engine.start()
        engine.server = await loop.create_server(
            lambda: HttpProtocol(engine, loop),
            settings.host,
            settings.port,
            family=socket.AF_INET6 if ":" in settings.host else socket.AF_INET,
            reuse_address=True,
            reuse_port=reuse_port or None,
            backlog=1024,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, engine.begin_drain)
        log.info(
            "%s listening on %s:%d (%s)%s",
            type(self).__name__,
            settings.host,
            settings.port,
            settings.describe(),
            f" in process {os.getpid()}" if reuse_port else "",
        )
        await engine.stopping
        if await engine.wait_drained():
            log.info("drained: every accepted request was answered")
        else:
            log.warning("grace period over with %d request(s) unanswered; exiting", engine.pending)
        await engine.close_connections()
        await engine.server.wait_closed()
