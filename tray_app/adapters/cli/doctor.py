"""``hh-raiser doctor [--raise RESUME] [--demo [--web]]``: the report a user attaches
to a bug report (see :mod:`tray_app.adapters.doctor`)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from tray_app.adapters.cli.base import EXIT_FAILURE, EXIT_OK, Cli
from tray_app.adapters.cli.instance import FAILED_OUTCOMES
from tray_app.adapters.cli.serve import demo_world, sign_in_to_demo
from tray_app.adapters.control import ControlClient, InstanceUnavailable
from tray_app.adapters.doctor import Doctor, DoctorReport, report_path, write_report
from tray_app.core.errors import AlreadyRunningError
from tray_app.i18n import t
from tray_app.storage.lock import InstanceLock


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], language: str) -> None:
    def say(key: str) -> str:
        return t(f"cli.{key}", language)

    doctor = sub.add_parser("doctor", help=say("doctor"), description=say("doctor"))
    doctor.add_argument("--raise", dest="raise_id", metavar=say("resume"), help=say("doctor.raise"))
    doctor.add_argument("--demo", action="store_true", help=say("doctor.demo"))
    doctor.add_argument("--web", action="store_true", help=say("doctor.web"))


@contextlib.contextmanager
def _alone_for_a_raise(cli: Cli, raising: bool) -> Iterator[None]:
    """A raise needs the app stopped (it raises by itself); a read does not."""
    if not raising:
        yield
        return
    with InstanceLock(cli.paths.lock_file, timeout=2).acquire():
        yield


def cmd_doctor(cli: Cli, args: argparse.Namespace) -> int:
    if args.demo:
        with demo_world(cli, cooldown=20.0, web=args.web) as (demo, sim):
            runtime = demo.runtime()
            try:
                sign_in_to_demo(runtime, sim)
                sim.make_due(next(iter(sim.resumes)))  # one due now, for --raise to show
                report = Doctor(runtime, cli.language).run(args.raise_id)
            finally:
                runtime.close()
        cli.say(report.text)
        cli.say(t("doctor.demo", cli.language))
        return _exit_code(report)
    try:
        with _alone_for_a_raise(cli, args.raise_id is not None):
            runtime = cli.runtime()
            try:
                report = Doctor(runtime, cli.language).run(args.raise_id)
                path = report_path(runtime)
            finally:
                runtime.close()
    except AlreadyRunningError:
        cli.complain(t("doctor.quit_first", cli.language))
        return EXIT_FAILURE
    write_report(report, path)
    cli.say(report.text)
    cli.say(t("doctor.saved", cli.language, path=path))
    _tell_the_running_instance(cli)
    return _exit_code(report)


def _tell_the_running_instance(cli: Cli) -> None:
    """The site may have rotated cookies while we read: the running app must take the
    stored session again rather than send the old one."""
    with contextlib.suppress(InstanceUnavailable, RuntimeError, OSError):
        ControlClient(cli.paths.control_file).reload("credentials")


def _exit_code(report: DoctorReport) -> int:
    if not report.list_read or FAILED_OUTCOMES.intersection(report.raise_outcomes):
        return EXIT_FAILURE
    return EXIT_OK
