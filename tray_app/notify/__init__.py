"""Telling the user what happened: notices composed from core events, delivered by
channels (Telegram here; desktop notifications in the tray) that cannot slow a raise."""
