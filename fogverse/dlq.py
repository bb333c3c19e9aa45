"""``python -m fogverse.dlq``: look at a dead-letter topic, and send its messages back once the cause is fixed.

- ``list TOPIC``: every dead letter of ``TOPIC`` (``analyze`` or ``analyze.dlq``): where it came
  from, when and at which stage it failed, why, and the start of its value. ``--json``: one JSON
  object per line, for scripts.
- ``replay TOPIC``: send the chosen dead letters back to their origin topic, each with the
  ``dlq.replayed_from`` header naming the dead letter it was (``--dry-run``: only say which).

Both take ``--stage`` (decode, process, encode, produce; repeatable) and ``--since`` / ``--until``
(ISO 8601, UTC unless it says otherwise, or an age such as ``30m``, ``2h``, ``1d``) to choose by
when the message failed.

Replay never sends a message round a loop: a replayed record that fails again is dead-lettered
with the ``dlq.replayed_from`` header it came with (``fogverse.runtime``); replay leaves such
dead letters alone unless ``--include-replayed`` says otherwise, and never sends again a dead
letter whose replay failed again. Dead letters whose value was cut
to fit (``dlq.truncated``) are never replayed: the original is not there to send. Kafka keeps a
replayed dead letter in its topic, so replaying the same window twice sends it twice; the
pipeline is at-least-once anyway, and ``--since`` picks up only what failed later.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Literal, Sequence

from fogverse.contracts import DLQ_HEADERS, utc_iso

Stage = Literal["decode", "process", "encode", "produce"]
STAGES: tuple[str, ...] = ("decode", "process", "encode", "produce")
PREVIEW_CHARS = 60
READ_TIMEOUT_S = 30.0  # for reading the topic to the end offsets it had when we started

_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, with the headers ``fogverse.runtime`` wrote on it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def header(self, name: str) -> str | None:
        return self.headers.get(DLQ_HEADERS[name])

    @property
    def stage(self) -> str | None:
        return self.header("stage")

    @property
    def reason(self) -> str:
        return self.header("reason") or ""

    @property
    def origin_topic(self) -> str | None:
        return self.header("origin_topic")

    @property
    def origin(self) -> str:
        return f"{self.origin_topic or '?'}[{self.header('origin_partition') or '?'}]@{self.header('origin_offset') or '?'}"

    @property
    def failed_at(self) -> datetime:
        """When it failed, from its header; the record's timestamp if the header is missing or bad."""
        text = self.header("failed_at")
        if text:
            try:
                return _aware(datetime.fromisoformat(text))
            except ValueError:
                pass
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=timezone.utc)

    @property
    def replayed_from(self) -> str | None:
        return self.header("replayed_from")

    def preview(self, chars: int = PREVIEW_CHARS) -> str:
        text = self.value.decode("utf-8", errors="replace")
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return text if len(text) <= chars else text[:chars] + "…"

    def as_json(self) -> dict:
        return {"dead_letter": self.where, "partition": self.partition, "offset": self.offset,
                "failed_at": self.failed_at.isoformat(), "stage": self.stage, "reason": self.reason,
                "error_type": self.header("error_type"), "origin": self.origin, "origin_topic": self.origin_topic,
                "service": self.header("service"), "instance_id": self.header("instance_id"),
                "replayed_from": self.replayed_from, "truncated": self.header("truncated"),
                "key": self.key.decode("utf-8", errors="replace") if self.key is not None else None,
                "bytes": len(self.value), "preview": self.preview()}


@dataclass(frozen=True)
class Choice:
    """Which dead letters an operator asked for: stages (empty ▸ all) and a window of failure times."""

    stages: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.stages and letter.stage not in self.stages:
            return False
        at = letter.failed_at
        return (self.since is None or at >= self.since) and (self.until is None or at <= self.until)


@dataclass(frozen=True)
class ReplayPlan:
    send: list[DeadLetter]
    skipped: list[tuple[DeadLetter, str]]  # each with why it is not sent


def plan_replay(letters: Iterable[DeadLetter], choice: Choice, include_replayed: bool = False) -> ReplayPlan:
    """The dead letters to send back, and why each other chosen one is not (pure: no I/O).

    A dead letter that was replayed and failed again is superseded by that new dead letter; the
    new one (``replayed_from`` set) is sent only with ``include_replayed``: never round a loop.
    """
    letters = list(letters)
    failed_again = {d.replayed_from: d.where for d in letters if d.replayed_from}
    send, skipped = [], []
    for letter in letters:
        if not choice.matches(letter):
            continue
        if not letter.origin_topic:
            skipped.append((letter, "no dlq.origin.topic header: nowhere to send it"))
        elif letter.header("truncated"):
            skipped.append((letter, f"its value was cut to fit ({letter.header('truncated')}): the original is gone"))
        elif letter.where in failed_again:
            skipped.append((letter, f"replayed before and failed again as {failed_again[letter.where]}"))
        elif letter.replayed_from and not include_replayed:
            skipped.append((letter, f"it failed again after a replay of {letter.replayed_from} "
                                    "(--include-replayed sends it anyway)"))
        else:
            send.append(letter)
    return ReplayPlan(send, skipped)


def replay_headers(letter: DeadLetter, now: datetime) -> list[tuple[str, bytes]]:
    """What a replayed record carries: the dead letter it was, and when it was sent back."""
    return [(DLQ_HEADERS["replayed_from"], letter.where.encode()),
            (DLQ_HEADERS["replayed_at"], utc_iso(now.timestamp()).encode())]


def parse_time(text: str, now: datetime) -> datetime:
    """``2026-12-02T09:00:00Z`` (no zone ▸ UTC), or an age before ``now``: ``90s``, ``30m``, ``2h``, ``1d``."""
    text = text.strip()
    age = _AGE.fullmatch(text)
    if age:
        return now - timedelta(seconds=float(age.group(1)) * _UNIT_S[age.group(2)])
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")))
    except ValueError:
        raise ValueError(f"{text!r} is neither an ISO 8601 time (2026-12-02T09:00:00Z) "
                         "nor an age such as 30m, 2h or 1d") from None


def dead_letter_topic(name: str, suffix: str) -> str:
    """``analyze`` ▸ ``analyze.dlq``; a name that already ends with the suffix stays."""
    return name if name.endswith(suffix) else name + suffix


def render(letters: Sequence[DeadLetter], total: int) -> str:
    if not letters:
        return f"no dead letter chosen ({total} in the topic)"
    rows = [("DEAD LETTER", "FAILED AT (UTC)", "STAGE", "ORIGIN", "REASON", "VALUE")]
    for d in letters:
        reason = " ".join(d.reason.split())  # one row per dead letter: a validation error has newlines
        reason = reason if len(reason) <= 70 else reason[:70] + "…"
        if d.replayed_from:
            reason = f"(replay of {d.replayed_from}) {reason}"
        rows.append((d.where, d.failed_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                     d.stage or "?", d.origin, reason, d.preview()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths)) + "  " + r[-1] for r in rows]
    lines.append(f"{len(letters)} of {total} dead letters")
    return "\n".join(lines)


# ─── the broker ────────────────────────────────────────────────────────────────────────────


class NoSuchTopic(LookupError):
    pass


async def read_dead_letters(bootstrap: str, topic: str, timeout_s: float = READ_TIMEOUT_S) -> list[DeadLetter]:
    """Every record of ``topic``, read to its end (a replay that fails again while this runs may
    be among them: :func:`plan_replay` leaves it alone all the same)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from fogverse.kafka_client import client_options

    consumer = AIOKafkaConsumer(**client_options(), bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest", client_id="siaga-dlq")
    await consumer.start()
    try:
        # the consumer's topics() returns a fresh view without keeping it: ask for the view itself
        cluster = await consumer._client.fetch_all_metadata()
        if topic not in cluster.topics():
            raise NoSuchTopic(f"the broker at {bootstrap} has no topic {topic}")
        partitions = [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        letters: list[DeadLetter] = []
        pending = {tp for tp in partitions if ends[tp] > 0}
        deadline = asyncio.get_running_loop().time() + timeout_s
        while pending:
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
            if not pending:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"could not read {topic} to its end within {timeout_s:.0f} s")
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for records in batch.values():
                letters.extend(_dead_letter(r) for r in records)
        # then what the end offsets did not count (tansu's may lag behind what it already serves)
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                break
            for records in batch.values():
                letters.extend(_dead_letter(r) for r in records)
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


def _dead_letter(record) -> DeadLetter:
    headers = {k: (v or b"").decode("utf-8", errors="replace") for k, v in record.headers or ()}
    return DeadLetter(topic=record.topic, partition=record.partition, offset=record.offset,
                      timestamp_ms=record.timestamp, key=record.key, value=record.value or b"", headers=headers)


async def send_back(bootstrap: str, letters: Sequence[DeadLetter], now: datetime) -> list[str]:
    """Send each dead letter's key and value to its origin topic with the replay headers; returns
    where each landed (``topic[partition]@offset``), once the broker acked all of them."""
    from aiokafka import AIOKafkaProducer

    from fogverse.kafka_client import client_options

    producer = AIOKafkaProducer(**client_options(), bootstrap_servers=bootstrap, acks="all",
                                client_id="siaga-dlq-replay")
    await producer.start()
    try:
        acks = [await producer.send(d.origin_topic, d.value, key=d.key, headers=replay_headers(d, now))
                for d in letters]
        landed = await asyncio.gather(*acks)
        return [f"{m.topic}[{m.partition}]@{m.offset}" for m in landed]
    finally:
        await producer.stop()


# ─── the command ───────────────────────────────────────────────────────────────────────────


def _environment() -> str:
    from fogverse.settings import KafkaSecurity, RuntimeSettings, environment_help

    return environment_help(RuntimeSettings, KafkaSecurity)


def build_parser() -> argparse.ArgumentParser:
    environment = _environment()
    parser = argparse.ArgumentParser(prog="python -m fogverse.dlq", description=__doc__, epilog=environment,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,replay}")
    for name, help_text in (("list", "show the dead letters of a topic"),
                            ("replay", "send dead letters back to their origin topic")):
        command = commands.add_parser(name, help=help_text, description=help_text, epilog=environment,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_argument("topic", help="the origin topic (analyze) or its dead-letter topic (analyze.dlq)")
        command.add_argument("--stage", action="append", choices=STAGES, default=[],
                             help="only dead letters that failed at this stage (repeatable)")
        command.add_argument("--since", help="only those that failed at or after this time (ISO 8601 or an age: 2h)")
        command.add_argument("--until", help="only those that failed at or before this time (ISO 8601 or an age)")
        if name == "list":
            command.add_argument("--json", action="store_true", help="one JSON object per dead letter and line")
        else:
            command.add_argument("--dry-run", action="store_true", help="say what would be sent, send nothing")
            command.add_argument("--include-replayed", action="store_true",
                                 help="also send dead letters that failed again after a replay")
    return parser


def main(argv: list[str] | None = None) -> int:
    from fogverse.kafka_client import BrokerUnreachable, preflight
    from fogverse.settings import ConfigError, RuntimeSettings

    parser = build_parser()
    args = parser.parse_args(argv)
    now = datetime.now(timezone.utc)
    try:
        choice = Choice(frozenset(args.stage), *(parse_time(t, now) if t else None for t in (args.since, args.until)))
    except ValueError as exc:
        parser.error(f"--since/--until: {exc}")
    try:
        settings = RuntimeSettings.from_env()
        topic = dead_letter_topic(args.topic, settings.dlq_suffix)
        bootstrap = settings.bootstrap_servers
        asyncio.run(preflight(bootstrap))
        letters = asyncio.run(read_dead_letters(bootstrap, topic))
    except ConfigError as exc:
        print(f"fogverse.dlq: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokerUnreachable as exc:
        print(f"fogverse.dlq: {exc}: start it, or point {settings.bootstrap_variable} at one", file=sys.stderr)
        return 1
    except (NoSuchTopic, TimeoutError) as exc:
        print(f"fogverse.dlq: {exc}", file=sys.stderr)
        return 1
    if args.command == "list":
        chosen = [d for d in letters if choice.matches(d)]
        if args.json:
            for d in chosen:
                print(json.dumps(d.as_json(), ensure_ascii=False))
        else:
            print(render(chosen, len(letters)))
        return 0
    plan = plan_replay(letters, choice, args.include_replayed)
    for letter, why in plan.skipped:
        print(f"skip {letter.where}: {why}")
    if args.dry_run:
        for d in plan.send:
            print(f"would send {d.where} to {d.origin_topic} ({d.stage}: {' '.join(d.reason.split())[:70]})")
        print(f"dry run: {len(plan.send)} would be sent, {len(plan.skipped)} skipped, of {len(letters)} in {topic}")
        return 0
    landed = asyncio.run(send_back(bootstrap, plan.send, now)) if plan.send else []
    for d, where in zip(plan.send, landed):
        print(f"sent {d.where} to {where}")
    print(f"replayed {len(landed)}, skipped {len(plan.skipped)}, of {len(letters)} in {topic}")
    return 0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


if __name__ == "__main__":
    sys.exit(main())
