"""``python -m workers worker`` with ``CONTROLLER_METRICS_PORT``: the Temporal SDK's own Prometheus
exporter, scraped and parsed while the controller evaluates a real service, decisions included."""

from __future__ import annotations

import pytest

from controller_harness import (ServiceUnderTest, Traffic, close_out, connect_temporal, scaler_state,
                                start_control_plane, start_first_instance, wait_for_state)
from fogverse.processes import free_port
from prometheus_scrape import scrape_until, value

pytestmark = pytest.mark.slow


async def test_metrics_scraped_and_parsed(kafka_bootstrap, temporal_address, tmp_path):
    temporal = await connect_temporal(temporal_address)
    sut = ServiceUnderTest(kafka_bootstrap, temporal_address, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    first = start_first_instance(sut)
    plane = start_control_plane(sut, CONTROLLER_METRICS_PORT=str(port))
    try:
        async with Traffic(sut) as traffic:
            traffic.rate = 5.0
            await wait_for_state(temporal, sut, lambda s: s.evaluations >= 3, 90, "three evaluations",
                                 watch=[first, plane])
            before = await scaler_state(temporal, sut)
            # the first instance joining its group had the partition workflow decide too
            samples = await scrape_until(
                url, lambda s: value(s, "siaga_scaling_decisions_total", service=sut.service)
                and value(s, "siaga_partition_decisions_total", topic=sut.source), "the decisions on the SDK's meter",
                process=plane)
            after = await scaler_state(temporal, sut)
    finally:
        await close_out(temporal, sut, [plane, first])

    decided = value(samples, "siaga_scaling_decisions_total", service=sut.service)
    assert before.evaluations <= decided <= after.evaluations + 1, (before.evaluations, decided, after.evaluations)
    counted = {(labels["action"], labels["reason"]) for labels, v in samples["siaga_scaling_decisions_total"]
               if labels.get("service") == sut.service and v > 0}
    assert counted <= {(d.action, d.reason) for d in after.decisions}, (counted, after.decisions[-3:])
    assert {action for action, _ in counted} == {"hold"}, "5 messages/s is well within one instance"
    assert value(samples, "siaga_partition_decisions_total", topic=sut.source, action="hold",
                 reason="enough_partitions", workflow_type="PartitionGrowth") >= 1, "one member, one partition"
    # the SDK's own: this worker's task queue polled and workflow tasks completed
    assert value(samples, "temporal_worker_start_total", task_queue=sut.task_queue) == 1
    assert value(samples, "temporal_workflow_completed_total", task_queue=sut.task_queue,
                 workflow_type="ControlTick") >= 3, "a tick per evaluation, at least"
    assert value(samples, "temporal_local_activity_execution_latency_count", task_queue=sut.task_queue,
                 activity_type="dispatch_tick") >= 3


def test_a_metrics_port_in_use_stops_the_controller_at_start_naming_the_variable(tmp_path):
    import socket

    # no broker and no Temporal server answer there: the port is checked before they are waited for
    sut = ServiceUnderTest(f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        plane = start_control_plane(sut, CONTROLLER_METRICS_PORT=str(taken.getsockname()[1]))
        try:
            assert plane.popen.wait(30) == 2, plane.tail()
        finally:
            plane.stop()
    assert "CONTROLLER_METRICS_PORT" in plane.tail() and "in use" in plane.tail()
