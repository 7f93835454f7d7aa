"""A bot that answers mentions. Usage: python bot.py URL USERNAME PASSWORD"""

import sys

import jeco

url, username, password = sys.argv[1:4]
with jeco.Client(url) as client:
    me = client.login(username, password).account
    with client.connect() as conn:
        for event in conn.events():
            if isinstance(event, jeco.MessageCreated) and me.id in event.message.mentions:
                conn.send(event.room_id, f"@{event.message.sender.username} you called?")
