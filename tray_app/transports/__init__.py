"""Ways of talking to hh.ru."""
