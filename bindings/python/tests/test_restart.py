"""A server restart loses nothing and doubles nothing: messages queued while the server is down
go out through the outbox once it is back, and the other side receives each message once, in
order, resuming where it was. Against the embedded server and the jeco-server binary."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

import jeco

from .conftest import WAIT, connected, general, next_of, signed_in

REPO = Path(__file__).resolve().parents[3]


class Restartable(Protocol):
    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...

    def start(self) -> object: ...


def server_binary() -> Path | None:
    """The jeco-server binary: $JECO_SERVER_BIN, else the workspace's release or debug build."""
    if "JECO_SERVER_BIN" in os.environ:
        return Path(os.environ["JECO_SERVER_BIN"])
    for profile in ("release", "debug"):
        path = REPO / "target" / profile / "jeco-server"
        if path.exists():
            return path
    return None


class BinaryServer:
    """The jeco-server binary in a child process, restartable on the same port and data."""

    def __init__(self, binary: Path, data_dir: Path) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.listen = "127.0.0.1:0"
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> BinaryServer:
        self.process = subprocess.Popen(
            [str(self.binary), "--listen", self.listen, "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        while True:
            line = lines.get(timeout=WAIT)
            found = re.search(r"listening on (http://[0-9.:]+)", line)
            if found:
                self.url = found.group(1)
                self.listen = self.url.removeprefix("http://")
                return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=WAIT)
            self.process = None


@pytest.fixture(params=["embedded", "binary"])
def restartable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Restartable]:
    if request.param == "embedded":
        with jeco.Server(data_dir=tmp_path / "data") as embedded:
            yield embedded
        return
    binary = server_binary()
    if binary is None:
        pytest.skip("no jeco-server binary: cargo build -p jeco-server (scripts/python-test.sh does)")
    server = BinaryServer(binary, tmp_path / "data").start()
    try:
        yield server
    finally:
        server.stop()


async def test_restart_loses_and_doubles_nothing(restartable: Restartable) -> None:
    async with await signed_in(restartable.url, "alice") as alice, await signed_in(
        restartable.url, "bob"
    ) as bob:
        room = await general(alice)
        alice_conn = alice.connect(backoff_base=0.05, backoff_max=0.5)
        bob_conn = bob.connect(backoff_base=0.05, backoff_max=0.5)
        alice_events = await connected(alice_conn)
        bob_events = await connected(bob_conn)

        await alice_conn.send(room, "before")
        await next_of(alice_events, jeco.Sent)
        before = await next_of(bob_events, jeco.MessageCreated, lambda m: m.room_id == room)
        bodies, seqs = [before.message.body], [before.seq]

        restartable.stop()
        await next_of(alice_events, jeco.StateChanged, lambda s: s.state == "reconnecting")
        await next_of(bob_events, jeco.StateChanged, lambda s: s.state == "reconnecting")
        offline = [await alice_conn.send(room, f"offline {i}") for i in range(3)]
        assert [p.client_id for p in alice_conn.pending_sends()] == offline
        restartable.start()

        resumed = await next_of(alice_events, jeco.StateChanged, lambda s: s.state == "connected")
        assert resumed.resumed
        acked = [(await next_of(alice_events, jeco.Sent)).client_id for _ in offline]
        assert acked == offline
        assert alice_conn.pending_sends() == []

        while len(bodies) < 4:
            created = await next_of(bob_events, jeco.MessageCreated, lambda m: m.room_id == room)
            bodies.append(created.message.body)
            seqs.append(created.seq)
        assert bodies == ["before", "offline 0", "offline 1", "offline 2"]
        assert seqs == sorted(seqs)

        history = await bob.history(room, limit=50)
        stored = [m.body for m in reversed(history.items) if m.sender.id == (await alice.me()).id]
        assert stored == ["before", "offline 0", "offline 1", "offline 2"], "each stored once"
        alice_conn.close()
        bob_conn.close()


async def test_saved_state_resumes_in_a_new_connection(restartable: Restartable) -> None:
    """What an application persists across its own restart: positions and the outbox."""
    async with await signed_in(restartable.url, "alice") as alice, await signed_in(
        restartable.url, "bob"
    ) as bob:
        room = await general(alice)
        first = alice.connect()
        events = await connected(first)
        await bob.send_message(room, "seen")
        await next_of(events, jeco.MessageCreated)
        restartable.stop()
        await next_of(events, jeco.StateChanged, lambda s: s.state == "reconnecting")
        queued = await first.send(room, "queued while down")
        positions, outbox = first.positions(), first.pending_sends()
        first.close()
        restartable.start()

        await bob.send_message(room, "missed")
        second = alice.connect(rooms=positions, outbox=outbox)
        events = second.events()
        sent: list[str] = []
        received: list[str] = []
        while not (sent and "missed" in received):
            event = await events.next(timeout=WAIT)
            if isinstance(event, jeco.Sent):
                sent.append(event.client_id)
            elif isinstance(event, jeco.MessageCreated):
                received.append(event.message.body)
        assert sent == [queued]
        assert "seen" not in received, "what was seen before is not delivered again"
        second.close()
