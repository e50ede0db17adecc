"""Where settings, secrets, history and locks live."""
