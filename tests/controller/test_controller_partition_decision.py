"""The partition decision and the key remapping it reports, as tables."""

from __future__ import annotations

import pytest

from workflows.messages import PartitionMeasurement
from workflows.decide.partitions import GROW, HOLD, REFUSE, decide_partitions, key_remapping


def measured(members: int, partitions: int, topics: tuple[str, ...] = ("analyze",)) -> PartitionMeasurement:
    return PartitionMeasurement("analyze", "analyzer", members, partitions, list(topics))


ROWS = [
    # (situation, measurement, MAX_PARTITIONS, action, reason, partitions after, capped)
    ("a second member joins one partition", measured(2, 1), 12, GROW, "members_exceed_partitions", 2, False),
    ("three members on one partition: straight to three", measured(3, 1), 12, GROW, "members_exceed_partitions", 3,
     False),
    ("as many partitions as members", measured(3, 3), 12, HOLD, "enough_partitions", 3, False),
    ("fewer members than partitions: never shrink", measured(1, 4), 12, HOLD, "enough_partitions", 4, False),
    ("no members at all", measured(0, 1), 12, HOLD, "enough_partitions", 1, False),
    ("growth stops at MAX_PARTITIONS", measured(6, 3), 4, GROW, "members_exceed_partitions", 4, True),
    ("exactly MAX_PARTITIONS members is not capped", measured(4, 1), 4, GROW, "members_exceed_partitions", 4, False),
    ("already at MAX_PARTITIONS: members stay idle", measured(6, 4), 4, HOLD, "at_max_partitions", 4, True),
    ("above MAX_PARTITIONS (lowered later): never shrink", measured(8, 6), 4, HOLD, "at_max_partitions", 6, True),
    ("a group on two topics is refused", measured(3, 1, ("analyze", "client")), 12, REFUSE, "group_spans_topics", 1,
     False),
    ("refused even with enough partitions", measured(1, 4, ("analyze", "client")), 12, REFUSE,
     "group_spans_topics", 4, False),
    ("a group that does not consume the topic", measured(3, 1, ("client",)), 12, HOLD, "group_not_on_topic", 1, False),
    ("subscriptions unreadable: count the members", measured(2, 1, ()), 12, GROW, "members_exceed_partitions", 2,
     False),
]


@pytest.mark.parametrize("situation,measurement,max_partitions,action,reason,after,capped", ROWS,
                         ids=[row[0] for row in ROWS])
def test_partition_decision(situation, measurement, max_partitions, action, reason, after, capped):
    decision = decide_partitions(measurement, max_partitions)
    assert (decision.action, decision.reason, decision.partitions_after, decision.capped) == \
        (action, reason, after, capped), decision.detail
    assert decision.partitions_before == measurement.partitions
    assert (decision.remapping is not None) == (action == GROW)


def test_a_refusal_says_why_and_what_to_do():
    detail = decide_partitions(measured(3, 1, ("analyze", "client")), 12).detail
    assert "analyzer consumes 2 topics (analyze, client)" in detail
    assert "one group per topic" in detail and "their own group" in detail


def test_a_growth_says_which_keys_move():
    detail = decide_partitions(measured(3, 1), 12).detail
    assert "from 1 to 3 partitions for 3 members of analyzer" in detail
    assert "67% of keys change partition (p0 ▸ p0 p1 p2)" in detail


REMAPPINGS = [
    # (before, after, share of keys that move, old partition ▸ where its keys go)
    (1, 2, 0.5, [[0, 1]]),
    (1, 3, 0.6667, [[0, 1, 2]]),
    (2, 3, 0.6667, [[0, 1, 2], [0, 1, 2]]),
    (2, 4, 0.5, [[0, 2], [1, 3]]),
    (3, 4, 0.75, [[0, 1, 2, 3]] * 3),
    (4, 8, 0.5, [[0, 4], [1, 5], [2, 6], [3, 7]]),
    (6, 12, 0.5, [[p, p + 6] for p in range(6)]),
    (3, 3, 0.0, [[0], [1], [2]]),
]


@pytest.mark.parametrize("before,after,moved,moves", REMAPPINGS, ids=[f"{b}to{a}" for b, a, *_ in REMAPPINGS])
def test_key_remapping(before, after, moved, moves):
    remapping = key_remapping(before, after)
    assert remapping.moved_share == moved
    assert remapping.moves == moves


def test_key_remapping_matches_kafkas_partitioner_on_real_hashes():
    """The share counted over one period of residues is what murmur2 mod n does to actual keys."""
    from aiokafka.partitioner import murmur2

    keys = [f"channel-{i}".encode() for i in range(6000)]
    hashes = [murmur2(k) & 0x7FFFFFFF for k in keys]
    for before, after in [(1, 2), (2, 3), (3, 5), (4, 6)]:
        moved = sum(h % before != h % after for h in hashes) / len(hashes)
        assert moved == pytest.approx(key_remapping(before, after).moved_share, abs=0.02)
