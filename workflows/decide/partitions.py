"""The partition decision: how many partitions a topic needs for its consumer group. Start reading here.

The thesis's model is one consumer group per topic, where a member without a partition has no
work. So when a group has more members than its topic has partitions, ``decide_partitions``
grows the topic to the member count:

- never past ``MAX_PARTITIONS``, and never down: Kafka cannot remove partitions, and a key's
  partition changes with every growth, so growth is rare, capped and one-way;
- never for a group that consumes more than one topic: its assignor spreads the partitions of
  all its topics over all its members, so the member count says nothing about what one of those
  topics needs (the thesis's stated limitation); that is refused, saying so, not guessed at.

Every growth says which keys move (``key_remapping``). No I/O, no clock: the partition workflow
calls it with what the measure activity read, so it replays.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm
from typing import Literal

from workflows.messages import PartitionMeasurement

PartitionAction = Literal["grow", "hold", "refuse"]
GROW: PartitionAction = "grow"
HOLD: PartitionAction = "hold"
REFUSE: PartitionAction = "refuse"


@dataclass(frozen=True)
class KeyRemapping:
    """Where a key's messages go once a topic has ``after`` partitions instead of ``before``.

    Kafka's default partitioner sends a key to ``murmur2(key) mod n``. With hashes spread evenly,
    a key keeps its partition when ``h mod before == h mod after``, which repeats every
    ``lcm(before, after)`` hashes: counting over one period gives the exact share.
    """

    before: int
    after: int
    moved_share: float  # of all keys, the share that lands on another partition
    moves: list[list[int]]  # old partition ▸ the partitions its keys spread over (evenly) afterwards

    def summary(self) -> str:
        spread = "; ".join(f"p{old} ▸ {' '.join(f'p{new}' for new in news)}" for old, news in enumerate(self.moves))
        return f"{self.moved_share:.0%} of keys change partition ({spread})"


def key_remapping(before: int, after: int) -> KeyRemapping:
    period = lcm(before, after)
    stay = sum(1 for h in range(period) if h % before == h % after)
    moves = [sorted({h % after for h in range(old, period, before)}) for old in range(before)]
    return KeyRemapping(before, after, round(1 - stay / period, 4), moves)


@dataclass(frozen=True)
class PartitionDecision:
    action: PartitionAction
    reason: str  # a short code: members_exceed_partitions, enough_partitions, at_max_partitions ...
    detail: str  # one sentence with the numbers, for people reading the log and the Temporal UI
    topic: str
    group_id: str
    members: int
    partitions_before: int
    partitions_after: int  # what the topic should have; equal to before unless growing
    capped: bool = False  # MAX_PARTITIONS kept it below the member count
    remapping: KeyRemapping | None = None  # set when growing


def decide_partitions(measured: PartitionMeasurement, max_partitions: int) -> PartitionDecision:
    m = measured
    other_topics = [t for t in m.group_topics if t != m.topic]

    def decision(action: PartitionAction, reason: str, detail: str, after: int | None = None, capped: bool = False,
                 remapping: KeyRemapping | None = None) -> PartitionDecision:
        return PartitionDecision(action, reason, detail, m.topic, m.group_id, m.members, m.partitions,
                                 m.partitions if after is None else after, capped, remapping)

    if other_topics and m.topic in m.group_topics:
        return decision(REFUSE, "group_spans_topics", (
            f"consumer group {m.group_id} consumes {len(m.group_topics)} topics ({', '.join(m.group_topics)}): "
            f"partition growth needs one group per topic, because the group's {m.members} member(s) share the "
            f"partitions of all its topics, so their count says nothing about how many {m.topic} needs; give each "
            "topic's consumers their own group"))
    if m.group_topics and m.topic not in m.group_topics:
        return decision(HOLD, "group_not_on_topic", f"consumer group {m.group_id} consumes "
                        f"{', '.join(m.group_topics)}, not {m.topic}: nothing to grow for it")
    if m.members <= m.partitions:
        return decision(HOLD, "enough_partitions", f"{m.topic} has {m.partitions} partition(s) for {m.members} "
                        f"member(s) of {m.group_id}" + (": growth is one-way" if m.members < m.partitions else ""))
    target = min(m.members, max_partitions)
    capped = target < m.members
    if target <= m.partitions:
        return decision(HOLD, "at_max_partitions", f"{m.members} members of {m.group_id} but {m.topic} already has "
                        f"{m.partitions} partition(s), MAX_PARTITIONS={max_partitions}: "
                        f"{m.members - m.partitions} member(s) stay idle", capped=True)
    remapping = key_remapping(m.partitions, target)
    cap = f" (capped by MAX_PARTITIONS={max_partitions})" if capped else ""
    return decision(GROW, "members_exceed_partitions", (
        f"grow {m.topic} from {m.partitions} to {target} partitions for {m.members} members of {m.group_id}{cap}; "
        f"{remapping.summary()}"), target, capped, remapping)


def plan_growth(topic: str, group_id: str, partitions: int, instances: int, max_partitions: int) -> PartitionDecision:
    """The growth a scale out needs first: ``instances`` consumers of ``group_id`` each get a partition.

    ``decide_partitions`` answers to members that already joined; this answers to members about
    to be deployed, so they find work when they join instead of waiting for a growth.
    """
    target = min(instances, max_partitions)
    if target <= partitions:
        return PartitionDecision(HOLD, "enough_partitions", f"{topic} has {partitions} partition(s) for {instances} "
                                 f"instance(s) of {group_id}", topic, group_id, instances, partitions, partitions,
                                 target < instances)
    remapping = key_remapping(partitions, target)
    capped = target < instances
    cap = f" (capped by MAX_PARTITIONS={max_partitions})" if capped else ""
    return PartitionDecision(GROW, "instances_need_partitions", (
        f"grow {topic} from {partitions} to {target} partitions before deploying up to {instances} instances of "
        f"{group_id}{cap}; {remapping.summary()}"), topic, group_id, instances, partitions, target, capped, remapping)
