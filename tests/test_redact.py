"""Secrets are masked in every text the app writes."""

from __future__ import annotations

import logging
from pathlib import Path

from tray_app.adapters.logs import setup_logging
from tray_app.core.redact import Redactor


def test_patterns_catch_secrets_the_app_never_saw() -> None:
    redact = Redactor()
    text = redact(
        "GET https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage "
        "Authorization: Bearer USERTOKEN123 refresh_token=RT999&code=ABCDEF "
        '{"access_token": "AT777"} Cookie: hhtoken=zzz; _xsrf=yyy'
    )
    for secret in (
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "USERTOKEN123",
        "RT999",
        "ABCDEF",
        "AT777",
        "zzz",
        "yyy",
    ):
        assert secret not in text
    assert "/bot***" in text and "Bearer ***" in text


def test_registered_values_are_masked_anywhere() -> None:
    redact = Redactor()
    redact.register("s3cr3t-value", None, "ab")
    assert redact("error: s3cr3t-value rejected; ab stays") == "error: *** rejected; ab stays"


def test_ordinary_words_survive() -> None:
    text = 'status_code=204 {"token_type": "bearer", "expires_in": 1209600} next_publish_at'
    assert Redactor()(text) == text


def test_log_file_masks_exception_texts(tmp_path: Path) -> None:
    from tray_app.core.redact import redactor

    log_file = tmp_path / "app.log"
    setup_logging(log_file, console=False)
    redactor.register("VERY-SECRET-TOKEN")
    try:
        raise RuntimeError("refresh failed for https://x/token?refresh_token=VERY-SECRET-TOKEN")
    except RuntimeError:
        logging.getLogger("test").exception("boom with %s", "VERY-SECRET-TOKEN")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "boom with ***" in text and "VERY-SECRET-TOKEN" not in text
