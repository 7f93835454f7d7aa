"""Jeco in one process: the embedded server, a bot that answers mentions (blocking API, in a
thread) and a user who mentions it (asyncio). Prints the conversation and exits.

    python examples/demo.py
"""

from __future__ import annotations

import asyncio
import threading

import jeco

PASSWORD = "correct horse battery staple"


def run_bot(url: str, ready: threading.Event, stop: threading.Event) -> None:
    with jeco.Client(url) as bot:
        me = bot.register("helper", "helper@example.com", PASSWORD).account
        with bot.connect() as conn:
            events = conn.events(timeout=0.5)
            while not stop.is_set():
                try:
                    event = events.next(timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(event, jeco.StateChanged) and event.state == "connected":
                    ready.set()
                elif isinstance(event, jeco.MessageCreated) and me.id in event.message.mentions:
                    conn.send(event.room_id, f"@{event.message.sender.username} you called?")


async def chat(url: str) -> None:
    async with jeco.AsyncClient(url) as alice:
        me = (await alice.register("alice", "alice@example.com", PASSWORD)).account
        room = next(r.room.id for r in await alice.rooms() if r.room.name == "general")
        async with alice.connect() as conn:
            events = conn.events(timeout=15)
            await conn.send(room, "@helper are you there?")
            async for event in events:
                if isinstance(event, jeco.MessageCreated):
                    print(f"{event.message.sender.username}: {event.message.body}")
                    if event.message.sender.id != me.id:
                        return


def main() -> None:
    with jeco.Server() as server:
        print(f"Jeco is listening on {server.url}")
        ready, stop = threading.Event(), threading.Event()
        bot = threading.Thread(target=run_bot, args=(server.url, ready, stop))
        bot.start()
        try:
            if not ready.wait(15):
                raise SystemExit("the bot did not connect")
            asyncio.run(chat(server.url))
        finally:
            stop.set()
            bot.join()


if __name__ == "__main__":
    main()
