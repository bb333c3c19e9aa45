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
import sys

from fogverse.logs import configure_logging
from fogverse.settings import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("worker", help="run the control plane: Temporal worker and schedules (the default)")
    sub.add_parser("up", help="bring up the whole system on this machine")
    sub.add_parser("stack", help="start only the embedded broker and Temporal server")
    sub.add_parser("install-kafka", help="resolve the pinned Apache Kafka broker from Maven Central")
    status = sub.add_parser("status", help="every scaled service at a glance, from its workflow")
    status.add_argument("--json", action="store_true", help="one JSON object per service, for scripts")
    for name, text in (("record", "follow one service's decisions: a line each, and a CSV"),
                       ("plot", "a PNG of rates, lag, instances and scale changes from a recorded CSV"),
                       ("demo", "watch the analyzer scale out and back in, in about five minutes")):
        sub.add_parser(name, help=text, add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command in ("record", "plot", "demo"):
        configure_logging("siaga.workers")
        if args.command == "demo":
            from workers.demo import main as demo_main

            return demo_main(rest)
        from workers.timeline import main as timeline_main

        return timeline_main([args.command, *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    configure_logging("siaga.workers")
    try:
        if args.command == "up":
            from workers.up import run_up

            return run_up()
        if args.command == "install-kafka":
            from workers.kafka_broker import main as install_kafka

            return install_kafka()
        if args.command == "status":
            from workers.status import main as status_main

            return status_main(["--json"] if args.json else [])
        if args.command == "stack":
            from workers.up import run_up

            return run_up(components=())
        from workers.worker import main as run_worker

        return run_worker()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
