"""Telling the user what happened: notices composed from core events, delivered by
channels (Telegram in :mod:`tray_app.telegram`; desktop notifications in the tray)
that cannot slow a raise."""
