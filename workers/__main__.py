"""``python -m workers``: the Siaga control plane.

- ``python -m workers`` (or ``python -m workers worker``): the Temporal worker and its schedules.
- ``python -m workers up``: bring up the whole system (embedded stack, worker, apps).
- ``python -m workers stack``: only the embedded broker and Temporal server.
- ``python -m workers install-kafka``: fetch Apache Kafka's jars from Maven Central (install time).
- ``python -m workers status [--json]``: every scaled service at a glance (instances, partitions,
  rates, lag, the last decision, what its workflow waits for).
- ``python -m workers record [--service S] [--csv F]``: one line per evaluation, and a CSV of them.
- ``python -m workers plot F.csv [-o F.png]``: rates, lag, instances and scale changes over time.
- ``python -m workers demo``: bring the system up, drive a rising and falling load, show it scale
  out and back in (about five minutes), and draw the plot.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from fogverse.lifecycle import NeverReached
from fogverse.logs import configure_logging
from fogverse.settings import ConfigError


def _controller() -> tuple:
    from workers.settings import ControllerSettings, ProviderSettings

    return ControllerSettings, ProviderSettings


def _stack() -> tuple:
    from workers.settings import StackSettings

    return (StackSettings,)


#: subcommand ▸ (what it does, functions giving the settings classes it reads: imported when asked)
COMMANDS = {
    "worker": ("run the control plane: Temporal worker and schedules (the default)", (_controller,)),
    "up": ("bring up the whole system on this machine: the embedded broker and Temporal server (unless "
           "KAFKA_BOOTSTRAP_SERVERS / TEMPORAL_ADDRESS name running ones), the worker and the apps, each "
           "with the variables of its own --help", (_stack, _controller)),
    "stack": ("start only the embedded broker and Temporal server", (_stack,)),
    "install-kafka": ("resolve the pinned Apache Kafka broker from Maven Central", (_stack,)),
    "status": ("every scaled service at a glance, from its workflow", (_controller,)),
}
#: these neither wait for a server at start nor talk to Kafka: only their own settings and logging
OWN_SETTINGS_ONLY = ("install-kafka", "status")
#: commands with their own argument parser (and --help): the rest of the command line goes to it
DELEGATED = {
    "record": "follow one service's decisions: a line each, and a CSV",
    "plot": "a PNG of rates, lag, instances and scale changes from a recorded CSV",
    "demo": "watch the analyzer scale out and back in, in about five minutes",
}


def build_parser() -> argparse.ArgumentParser:
    import textwrap

    from fogverse.lifecycle import command_help
    from fogverse.settings import LogSettings, environment_help

    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__,
                                     epilog="without a command it runs worker, which reads these " +
                                            command_help(*_controller()),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    for name, (what, readers) in COMMANDS.items():
        classes = [cls for settings in readers for cls in settings()]
        environment = environment_help(*classes, LogSettings) if name in OWN_SETTINGS_ONLY \
            else command_help(*classes)
        command = sub.add_parser(name, help=what.split(":")[0], description=textwrap.fill(what, 100),
                                 epilog=environment, formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "status":
            command.add_argument("--json", action="store_true", help="one JSON object per service, for scripts")
    for name, what in DELEGATED.items():
        sub.add_parser(name, help=what, add_help=False)
    return parser


def main(argv: list[str] | None = None, hard_exit: bool = False) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in DELEGATED:
        configure_logging("siaga.workers")
        if args.command == "demo":
            from workers.demo import main as demo_main

            return demo_main(rest)
        from workers.timeline import main as timeline_main

        return timeline_main([args.command, *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        configure_logging("siaga.workers")
        if args.command == "up":
            from workers.up import run_up

            return run_up()
        if args.command == "install-kafka":
            from workers.kafka_broker import main as install_kafka

            return install_kafka()
        if args.command == "status":
            from workers.status import main as status_main

            return _exit_now(lambda: status_main(["--json"] if args.json else []), "status", hard_exit)
        if args.command == "stack":
            from workers.up import run_up

            return run_up(components=())
        from workers.worker import main as run_worker

        return _exit_now(run_worker, "worker", hard_exit)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except NeverReached as exc:
        print(f"workers {args.command or 'worker'}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _exit_now(run, command: str, hard_exit: bool) -> int:
    """Run a command that talks to Temporal; as the process's main, leave without the interpreter's
    finalization: the Temporal SDK's and grpc's native threads may still call into Python then,
    which aborts now and again ("Fatal Python error: PyGILState_Release") instead of exiting."""
    try:
        code = run()
    except NeverReached as exc:
        print(f"workers {command}: {exc}", file=sys.stderr)
        code = 1
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    if not hard_exit:
        return code
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(hard_exit=True))
