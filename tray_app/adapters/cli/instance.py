"""Commands that ask the running instance, or act alone when none runs:
``status``, ``resumes``, ``raise-now``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from tray_app.adapters.cli.base import (
    EXIT_FAILURE,
    EXIT_NOT_DUE,
    EXIT_OK,
    EXIT_SIGN_IN,
    Cli,
    no_instance,
)
from tray_app.adapters.control import (
    ControlClient,
    InstanceUnavailable,
    raise_result_to_json,
    status_to_json,
)
from tray_app.adapters.service import current_status, raise_now
from tray_app.core.errors import NoKeyringError
from tray_app.core.models import AuthState, Outcome
from tray_app.core.views import RaiseResult, Status
from tray_app.i18n import t
from tray_app.i18n.text import (
    attempt_text,
    auth_text,
    error_text,
    reason_text,
    status_lines,
    update_text,
)
from tray_app.storage.lock import InstanceLock
from tray_app.wiring import Runtime

T = TypeVar("T")


def _live(cli: Cli, action: Callable[[Runtime], T]) -> tuple[T, NoKeyringError | None]:
    """Runs ``action`` in this process, holding the instance lock (no instance runs);
    also why there is no keyring, if there is none (then nothing was ever set up here:
    see :meth:`Cli.runtime`)."""
    with InstanceLock(cli.paths.lock_file, timeout=5).acquire():
        runtime = cli.runtime(fresh_install_ok=True)
        try:
            if not runtime.has_account():
                runtime.engine.mark_not_configured()
            return action(runtime), runtime.secrets.missing
        finally:
            runtime.close()


def _not_set_up(cli: Cli, no_keyring: NoKeyringError | None, *, out: bool = False) -> int:
    """No account yet: what to run, rather than a sign-in error (``out``: on stdout, as
    the command's answer: ``status``). Without a keyring, signing in needs a secret
    store first: the choices follow on stderr, as every command that stores a secret
    gives them."""
    (cli.say if out else cli.complain)(t("not_set_up", cli.language))
    if no_keyring is not None:
        cli.complain(t("not_set_up.no_keyring", cli.language))
        cli.complain(error_text(no_keyring, cli.language))
    return EXIT_SIGN_IN


def _status(cli: Cli) -> tuple[Status, NoKeyringError | None]:
    """The status, and why there is no keyring, if there is none."""
    try:
        return ControlClient(cli.paths.control_file).status(), None
    except InstanceUnavailable as reason:
        no_instance(cli, reason)

    def read(runtime: Runtime) -> Status:
        if runtime.engine.auth_state is not AuthState.NOT_CONFIGURED:
            runtime.engine.refresh()
        return current_status(runtime, commands=None)

    return _live(cli, read)


def cmd_status(cli: Cli, args: argparse.Namespace) -> int:
    status, no_keyring = _status(cli)
    set_up = status.auth_state is not AuthState.NOT_CONFIGURED
    if args.json:
        cli.say(json.dumps(status_to_json(status), ensure_ascii=False, indent=2))
    elif set_up:
        cli.say(
            "\n".join(
                [*status_lines(status, cli.language), update_text(status.update, cli.language)]
            )
        )
    if not set_up:
        return _not_set_up(cli, no_keyring, out=not args.json)
    return EXIT_SIGN_IN if status.auth_state.blocks_raising else EXIT_OK


def cmd_resumes(cli: Cli, args: argparse.Namespace) -> int:
    status, no_keyring = _status(cli)
    if status.auth_state is AuthState.NOT_CONFIGURED:
        return _not_set_up(cli, no_keyring)
    for r in status.resumes:
        cli.say(
            t(
                "resumes.line",
                cli.language,
                id=r.id,
                mark="[x]" if r.enabled else "[ ]",
                title=r.title,
                status=reason_text(r.note, cli.language) if r.note else "ok",
                word=r.hh_status or "?",  # an older running instance has none
            )
        )
    if status.auth_state.blocks_raising:
        cli.complain(auth_text(status.auth_state, cli.language))
        return EXIT_SIGN_IN
    return EXIT_OK


FAILED_OUTCOMES = frozenset(
    (
        Outcome.FAILED,
        Outcome.UNCONFIRMED,
        Outcome.CAPTCHA,
        Outcome.API_CLOSED,
        Outcome.BOT_CHECK,
    )
)
"""Raise results that make a command exit with a failure (``raise-now``, ``doctor``)."""


def raise_now_exit_code(outcomes: Sequence[Outcome | None]) -> int:
    """``outcomes``: one per resume; None for a resume that is not due yet."""
    if Outcome.SIGN_IN_NEEDED in outcomes:
        return EXIT_SIGN_IN
    if FAILED_OUTCOMES.intersection(outcomes):
        return EXIT_FAILURE
    if Outcome.RAISED in outcomes:
        return EXIT_OK
    return EXIT_NOT_DUE


def _raise_alone(
    cli: Cli, resume_id: str | None
) -> tuple[list[RaiseResult], bool, NoKeyringError | None]:
    """``raise-now`` in this process: the results, whether an account is set up (with
    none the engine asks hh.ru nothing), and why there is no keyring, if none."""

    def act(runtime: Runtime) -> tuple[list[RaiseResult], bool]:
        set_up = runtime.engine.auth_state is not AuthState.NOT_CONFIGURED
        return raise_now(runtime.engine, resume_id), set_up

    (results, set_up), no_keyring = _live(cli, act)
    return results, set_up, no_keyring


def cmd_raise_now(cli: Cli, args: argparse.Namespace) -> int:
    results: list[RaiseResult]
    set_up, no_keyring = True, None
    try:
        results = ControlClient(cli.paths.control_file).raise_now(args.resume)
    except InstanceUnavailable as reason:
        no_instance(cli, reason)
        results, set_up, no_keyring = _raise_alone(cli, args.resume)
    if args.json:
        document = {"results": [raise_result_to_json(r) for r in results]}
        cli.say(json.dumps(document, ensure_ascii=False, indent=2))
    elif set_up:
        for r in results:
            cli.say(attempt_text(r.result, r.next_raise_at, cli.language))
    if not set_up:
        return _not_set_up(cli, no_keyring)
    return raise_now_exit_code([r.outcome for r in results])
