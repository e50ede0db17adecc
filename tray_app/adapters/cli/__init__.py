"""The ``hh-raiser`` command line, one module per group of commands."""

from tray_app.adapters.cli.base import (
    EXIT_ALREADY_RUNNING,
    EXIT_FAILURE,
    EXIT_NOT_DUE,
    EXIT_OK,
    EXIT_SIGN_IN,
    EXIT_USAGE,
    Cli,
)
from tray_app.adapters.cli.instance import raise_now_exit_code
from tray_app.adapters.cli.main import build_parser, main

__all__ = [
    "EXIT_ALREADY_RUNNING",
    "EXIT_FAILURE",
    "EXIT_NOT_DUE",
    "EXIT_OK",
    "EXIT_SIGN_IN",
    "EXIT_USAGE",
    "Cli",
    "build_parser",
    "main",
    "raise_now_exit_code",
]
