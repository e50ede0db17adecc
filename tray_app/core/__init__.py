"""The core: knows nothing of the UI; adapters subscribe to its events."""
