"""The reference server inside the Python process."""

from __future__ import annotations

import os
import tempfile
from types import TracebackType

from . import _jeco
from ._errors import ServerError


class Server:
    """The Jeco reference server, started inside this process on the client's runtime as soon
    as it is made: a web app (Flask, Django, FastAPI...) gets chat without a separate binary,
    and tests need no external service::

        with jeco.Server(data_dir="chat-data") as server:
            client = jeco.Client(server.url)

    It stores everything in SQLite under ``data_dir`` (a temporary directory, removed on
    :meth:`stop`, when ``None``), or in PostgreSQL at ``database_url``; with ``redis_url``
    several servers share one deployment. ``port=0`` picks a free port; :attr:`url` says
    which. It can be stopped and started again: it comes back on the same port. Leaving
    ``with`` (or :meth:`close`) stops it; ``ServerError`` when it cannot start.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        database_url: str | None = None,
        redis_url: str | None = None,
    ) -> None:
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="jeco-")
            data_dir = self._temp.name
        self.data_dir = os.fspath(data_dir)
        self.host = host
        self.port = port
        self._database_url = database_url
        self._redis_url = redis_url
        self._native: _jeco.NativeServer | None = None
        self.start()

    def start(self) -> Server:
        """Starts serving again after :meth:`stop`, on the same port, and returns once the
        server accepts connections (``ServerError`` if it cannot). Does nothing when it runs."""
        if self._native is None:
            self._native = _jeco.NativeServer(
                self.data_dir, self.host, self.port, self._database_url, self._redis_url
            )
            self.port = int(self._native.url.rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        """Stops the server: real-time clients are told to reconnect, open requests finish;
        returns once every connection has closed."""
        if self._native is not None:
            self._native.stop()
            self._native = None

    @property
    def running(self) -> bool:
        """Whether the server serves now."""
        return self._native is not None

    @property
    def url(self) -> str:
        """Where the server listens: ``http://host:port``."""
        if self._native is None:
            raise ServerError("the server is stopped: call start() first", code="stopped")
        return self._native.url

    def close(self) -> None:
        """Stops the server and removes the temporary data directory, if it made one."""
        self.stop()
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._native.url if self._native is not None else "stopped"
        return f"Server({where}, data_dir={self.data_dir!r})"
