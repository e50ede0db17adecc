"""Everything about Telegram in one room: the Bot API client (``api``), delivering
notices from a worker thread (``delivery``) with a write-ahead ``outbox``, the HTML
the messages are written in (``html``), the daily ``digest``, and the remote control
from the chat (``commands``).

One package, so a change to how the app talks to Telegram touches one place, and the
rest of the app (core, tray, CLI) sees a few names rather than a scattered protocol.
"""
