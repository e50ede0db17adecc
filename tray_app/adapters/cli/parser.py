"""The command line's parser in the user's language: our help texts come from
:mod:`tray_app.i18n`, and so do argparse's own words ("usage:", "options",
"error: … invalid choice …").

argparse says its words through ``gettext``, which it binds as ``_`` and ``ngettext``
in its own module when imported; :func:`argparse_speaks` puts a look-up in our
catalogs there while a parser is built and used (the group titles are fixed when a
parser is made, the errors when it parses). A message this table does not know (one a
newer Python added) stays English, and the help test in ``tests/test_cli_unit.py``
fails on it.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from tray_app.core.errors import ConfigError
from tray_app.i18n import invalid_text, t
from tray_app.storage.settings import validate

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

# argparse's message (its gettext msgid, as in Python 3.11 to 3.13) -> our text's key
ARGPARSE_WORDS: dict[str, str] = {
    "usage: ": "argparse.usage",
    "positional arguments": "argparse.positionals",
    "options": "argparse.options",
    "show this help message and exit": "argparse.help",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "the following arguments are required: %s": "argparse.required",
    "one of the arguments %s is required": "argparse.one_required",
    "not allowed with argument %s": "argparse.not_allowed",
    "ignored explicit argument %r": "argparse.ignored",
    "expected one argument": "argparse.expected_one",
    "expected at most one argument": "argparse.expected_at_most_one",
    "expected at least one argument": "argparse.expected_at_least_one",
    "expected %s argument": "argparse.expected_n",
    "expected %s arguments": "argparse.expected_n",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "argparse.unknown_parser",
    "unexpected option string: %s": "argparse.unexpected_option",
}

_hooked = threading.RLock()  # argparse's module is one for every thread


@contextlib.contextmanager
def argparse_speaks(language: str) -> Iterator[None]:
    """argparse's own words in ``language`` for the duration (one user at a time)."""

    def gettext(message: str) -> str:
        key = ARGPARSE_WORDS.get(message)
        return t(key, language) if key else message

    def ngettext(singular: str, plural: str, n: int) -> str:
        key = ARGPARSE_WORDS.get(singular)  # our texts avoid plural forms
        return t(key, language) if key else (singular if n == 1 else plural)

    with _hooked:
        saved = argparse.__dict__["_"], argparse.__dict__["ngettext"]
        setattr(argparse, "_", gettext)  # noqa: B010 - argparse's private name
        setattr(argparse, "ngettext", ngettext)  # noqa: B010
        try:
            yield
        finally:
            setattr(argparse, "_", saved[0])  # noqa: B010
            setattr(argparse, "ngettext", saved[1])  # noqa: B010


def parser_class(out: TextIO | None, err: TextIO | None) -> type[argparse.ArgumentParser]:
    """A parser that prints help to ``out`` and usage errors to ``err`` (the command's
    own streams, None in a windowed build), not to the process's; its subparsers are
    of the same class, so they print there too."""

    class Parser(argparse.ArgumentParser):
        def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
            stream = out if file is sys.stdout else err
            if message and stream is not None:
                stream.write(message)
                stream.flush()

    return Parser


def seconds(language: str, *, whole: bool = False) -> Callable[[str], float]:
    """``type=`` for a number of seconds above zero: a clear usage error, not
    argparse's "invalid float value"."""

    def convert(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = math.nan
        if not value > 0 or math.isinf(value):  # also NaN
            raise argparse.ArgumentTypeError(
                t("cli.bad_whole_seconds" if whole else "cli.bad_seconds", language, got=text)
            )
        return value

    return convert


def setting(key: str, language: str) -> Callable[[str], str]:
    """``type=`` for an option that is a setting's value (``--host`` is ``web_host``):
    checked as ``config set`` checks it, refused as a usage error."""

    def convert(text: str) -> str:
        try:
            return str(validate(key, text))
        except ConfigError as exc:
            problem = exc.problem
            if problem is not None and problem.key == "setting":
                reason = invalid_text(problem.values["reason"], language)
                got = invalid_text(problem.values["got"], language)
                raise argparse.ArgumentTypeError(
                    t("cli.bad_value", language, reason=reason, got=got)
                ) from None
            raise argparse.ArgumentTypeError(invalid_text(problem or exc, language)) from None

    return convert
