"""Thin layers over the core: CLI, control channel, logging, login."""
