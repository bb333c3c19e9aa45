"""``python -m apps.crawler``: replay a CSV file's texts into the ``analyze`` topic.

examples:
    python -m apps.crawler                                  # the shipped examples once, at CRAWLER_RATE
    python -m apps.crawler --loop --rate 50                 # forever, 50 msg/s
    python -m apps.crawler --file tweets.csv --profile burst --rate 100 --spam-rate 10 \\
        --spam-start 20 --spam-duration 10 --duration 60     # a 10 s spike at 1,000 msg/s
    python -m apps.crawler --profile ramp --ramp-from 10 --rate 500 --ramp-duration 120 --loop

Flags default to the environment (CRAWLER_RATE, CRAWLER_PROFILE, USE_SPAM, SPAM_RATE, ...).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from apps.crawler.profiles import PROFILES, LoadProfile
from apps.crawler.progress import ProgressLine
from apps.crawler.replay import Replay
from apps.crawler.texts import EXAMPLES, TextFile
from fogverse import prometheus
from fogverse.codec import JsonModelCodec
from fogverse.contracts import Report
from fogverse.lifecycle import command_help, main_entry, run_until_signalled
from fogverse.publisher import Publisher
from apps.crawler.settings import CrawlerSettings
from fogverse.settings import RuntimeSettings

SERVICE = "crawler"


def parse_args(settings: CrawlerSettings, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m apps.crawler",
                                     description="Replay a CSV file's texts into the analyze topic.",
                                     epilog=__doc__.split("\n\n", 1)[1] + "\n" + command_help(
                                         CrawlerSettings, RuntimeSettings),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=settings.file or EXAMPLES,
                        help="CSV file to replay (default: the shipped examples)")
    parser.add_argument("--text-column", default=settings.text_column, help="column holding the text")
    parser.add_argument("--rate", type=float, default=settings.rate, help="messages per second (outside bursts)")
    parser.add_argument("--profile", choices=PROFILES, default=settings.profile)
    parser.add_argument("--count", type=int, help="stop after this many messages")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--loop", action="store_true", help="start the file again when it ends")
    parser.add_argument("--ramp-from", type=float, default=settings.ramp_from, help="ramp: starting rate")
    parser.add_argument("--ramp-duration", type=float, default=settings.ramp_duration_s, help="ramp: seconds to reach --rate")
    parser.add_argument("--spam-rate", type=float, default=settings.spam_rate, help="burst: multiple of --rate")
    parser.add_argument("--spam-duration", type=float, default=settings.spam_duration_s, help="burst: seconds per spike")
    parser.add_argument("--spam-start", type=float, default=settings.spam_start_s, help="burst: seconds before the first spike")
    parser.add_argument("--spam-period", type=float, default=settings.spam_period_s,
                        help="burst: seconds from one spike to the next (0: one spike)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.count is not None and args.count < 0:
        parser.error("--count must not be negative")
    if args.duration is not None and args.duration < 0:
        parser.error("--duration must not be negative")
    try:
        args.profile_spec = LoadProfile(
            kind=args.profile, rate=args.rate, ramp_from=args.ramp_from, ramp_duration_s=args.ramp_duration,
            burst_multiplier=args.spam_rate, burst_start_s=args.spam_start, burst_duration_s=args.spam_duration,
            burst_period_s=args.spam_period,
        )
        args.texts = TextFile(args.file, args.text_column)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    return args


async def _main() -> None:
    settings = CrawlerSettings.from_env()
    args = parse_args(settings)
    runtime = RuntimeSettings.from_env(bootstrap_var="CRAWLER_ANALYZER_SERVERS", service_name=SERVICE)
    publisher = Publisher(service=SERVICE, topic=settings.producer_topic, codec=JsonModelCodec(Report),
                          settings=runtime)
    replay = Replay(publisher, args.texts, args.profile_spec, count=args.count, duration_s=args.duration,
                    loop=args.loop, progress=None if args.quiet else ProgressLine())
    prometheus.serve(settings.metrics_port, runtime.metrics_host, "CRAWLER_METRICS_PORT")
    await run_until_signalled(replay)


if __name__ == "__main__":
    main_entry(SERVICE, _main)
