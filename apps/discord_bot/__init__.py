"""Siaga's Discord bot: messages in the channels it watches become reports on the analyze topic.

``python -m apps.discord_bot`` logs in with ``TOKEN`` and listens on the gateway.

- ``messages``: which Discord messages become a :class:`fogverse.contracts.Report`, and how.
- ``incidents``: the latest emergencies per channel, read from the analyzer's output topic.
- ``commands``: what ``$help`` and ``$incidents`` answer.
- ``limits``: how many reports one author may send a minute.
- ``handler``: one message in ▸ ignore it, answer a command, or publish it.
- ``bot``: the process (discord.py client, publisher, incident reader).
"""
