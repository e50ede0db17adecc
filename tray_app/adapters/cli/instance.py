"""Commands that ask the running instance, or act alone when none runs:
``status``, ``resumes``, ``raise-now``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

from tray_app.adapters.cli.base import (
    EXIT_FAILURE,
    EXIT_NOT_DUE,
    EXIT_OK,
    EXIT_SIGN_IN,
    SIGN_IN_STATES,
    Cli,
)
from tray_app.adapters.control import (
    ControlClient,
    InstanceUnavailable,
    item_next_raise,
    result_from_json,
    result_to_json,
)
from tray_app.adapters.service import status_json
from tray_app.core.models import AuthState, Outcome
from tray_app.i18n import t
from tray_app.i18n.text import attempt_text, auth_text, reason_text, status_lines
from tray_app.storage.lock import InstanceLock
from tray_app.wiring import Runtime


def _live(cli: Cli, action: Callable[[Runtime], Any]) -> Any:
    """Runs ``action`` in this process, holding the instance lock (no instance runs)."""
    with InstanceLock(cli.paths.lock_file, timeout=5).acquire():
        runtime = cli.runtime()
        try:
            if not runtime.has_account():
                runtime.engine.mark_not_configured()
            return action(runtime)
        finally:
            runtime.close()


def _status_data(cli: Cli) -> dict[str, Any]:
    try:
        return ControlClient(cli.paths.control_file).status()
    except InstanceUnavailable:
        pass

    def read(runtime: Runtime) -> dict[str, Any]:
        if runtime.engine.auth_state is not AuthState.NOT_CONFIGURED:
            runtime.engine.refresh()
        return status_json(runtime, commands="not_running")

    return dict(_live(cli, read))


def cmd_status(cli: Cli, args: argparse.Namespace) -> int:
    data = _status_data(cli)
    if args.json:
        cli.say(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        cli.say("\n".join(status_lines(data, cli.language)))
    return EXIT_SIGN_IN if data["auth"]["state"] in SIGN_IN_STATES else EXIT_OK


def cmd_resumes(cli: Cli, args: argparse.Namespace) -> int:
    data = _status_data(cli)
    for r in data["resumes"]:
        cli.say(
            t(
                "resumes.line",
                cli.language,
                id=r["id"],
                mark="[x]" if r["enabled"] else "[ ]",
                title=r["title"],
                status=reason_text(r["note"], cli.language) if r["note"] else "ok",
                word=r.get("hh_status") or "?",  # an older running instance has none
            )
        )
    if data["auth"]["state"] in SIGN_IN_STATES:
        cli.complain(auth_text(AuthState(data["auth"]["state"]), cli.language))
        return EXIT_SIGN_IN
    return EXIT_OK


FAILED_OUTCOMES = frozenset(
    o.value
    for o in (
        Outcome.FAILED,
        Outcome.UNCONFIRMED,
        Outcome.CAPTCHA,
        Outcome.API_CLOSED,
        Outcome.BOT_CHECK,
    )
)
"""Raise results that make a command exit with a failure (``raise-now``, ``doctor``)."""


def raise_now_exit_code(outcomes: Sequence[str]) -> int:
    if Outcome.SIGN_IN_NEEDED.value in outcomes:
        return EXIT_SIGN_IN
    if FAILED_OUTCOMES.intersection(outcomes):
        return EXIT_FAILURE
    if Outcome.RAISED.value in outcomes:
        return EXIT_OK
    return EXIT_NOT_DUE


def cmd_raise_now(cli: Cli, args: argparse.Namespace) -> int:
    try:
        results = ControlClient(cli.paths.control_file).raise_now(args.resume)
    except InstanceUnavailable:
        results = _live(
            cli,
            lambda rt: [
                result_to_json(r, rt.engine.next_raise_at(r.resume_id))
                for r in rt.engine.raise_now(args.resume)
            ],
        )
    if args.json:
        cli.say(json.dumps({"results": results}, ensure_ascii=False, indent=2))
    else:
        for item in results:
            result = result_from_json(item)
            cli.say(attempt_text(result, item_next_raise(item), cli.language))
    return raise_now_exit_code([r["outcome"] for r in results])
