"""``python -m workers status``: every scaled service at a glance, from its workflow's ``state`` query.

One block per service (``--json``: one object per service, for scripts): its instances (live,
deploying, removing), the source topic's partitions, input and output rates, consumer lag and
each instance's processing rate as the last evaluation measured them, the last decision with its
reason, and what the workflow waits for (a cooldown timer, a first heartbeat).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field

from temporalio.client import Client

from workers.settings import ControllerSettings
from workflows.messages import SCALER_WORKFLOW
from workflows.state import DEPLOYING, REMOVING, ScalerState, utc_clock

CONNECT_TIMEOUT_S = 5.0


@dataclass
class ServiceStatus:
    service: str
    workflow_id: str
    live: list[str] = field(default_factory=list)
    deploying: list[str] = field(default_factory=list)
    removing: list[str] = field(default_factory=list)
    source_topic: str | None = None
    partitions: int | None = None
    input_rate: float | None = None
    output_rate: float | None = None
    lag: int | None = None
    processing_rate: float | None = None
    decision: str | None = None
    reason: str | None = None
    decided_at: str | None = None
    waiting_for: str = ""
    cooldown_until: str | None = None
    evaluations: int = 0
    failures: int = 0


def status_of(workflow_id: str, state: ScalerState) -> ServiceStatus:
    deploying = sorted(r.name for r in state.managed(DEPLOYING))
    removing = sorted(r.name for r in state.managed(REMOVING))
    live = sorted(set(state.live_instances) - set(deploying) - set(removing))
    decision = state.last_decision
    numbers = decision.numbers if decision else {}
    return ServiceStatus(
        service=state.service, workflow_id=workflow_id, live=live, deploying=deploying, removing=removing,
        source_topic=state.spec.source_topic if state.spec else None, partitions=_int(numbers.get("partitions")),
        input_rate=numbers.get("input_rate"), output_rate=numbers.get("output_rate"), lag=_int(numbers.get("lag")),
        processing_rate=numbers.get("processing_rate"),
        decision=decision.summary() if decision else None, reason=decision.detail if decision else None,
        decided_at=utc_clock(decision.at) if decision else None, waiting_for=state.waiting_for(),
        cooldown_until=utc_clock(state.cooldown_until) if state.cooldown_until else None,
        evaluations=state.evaluations, failures=len(state.failures))


async def collect(client: Client, task_queue: str) -> list[ServiceStatus]:
    query = f"WorkflowType = '{SCALER_WORKFLOW}' AND ExecutionStatus = 'Running' AND TaskQueue = '{task_queue}'"
    found = []
    async for execution in client.list_workflows(query):
        state = await client.get_workflow_handle(execution.id).query("state", result_type=ScalerState)
        found.append(status_of(execution.id, state))
    return sorted(found, key=lambda s: s.service)


def render(statuses: list[ServiceStatus]) -> str:
    if not statuses:
        return "no scaled service yet (a service appears once one of its instances announces itself)"
    blocks = []
    for s in statuses:
        rate = (f"in {_num(s.input_rate)}/s, out {_num(s.output_rate)}/s, lag {_num(s.lag)}, "
                f"{_num(s.processing_rate)} msgs/s per instance when busy")
        blocks.append("\n".join([
            f"{s.service}  ({s.workflow_id}; {s.evaluations} evaluations, {s.failures} failures)",
            f"  instances    {len(s.live)} live ({', '.join(s.live) or '-'}), {len(s.deploying)} deploying"
            f"{' (' + ', '.join(s.deploying) + ')' if s.deploying else ''}, {len(s.removing)} removing",
            f"  partitions   {_num(s.partitions)} ({s.source_topic or '?'})",
            f"  rates        {rate}",
            f"  decision     {s.decision or 'none yet'}{' at ' + s.decided_at if s.decided_at else ''}",
            f"               {s.reason or ''}",
            f"  waiting for  {s.waiting_for}",
        ]))
    return "\n\n".join(blocks)


async def run_status(settings: ControllerSettings, as_json: bool) -> int:
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    except (RuntimeError, OSError, asyncio.TimeoutError) as exc:
        why = "no answer within {:g} s".format(CONNECT_TIMEOUT_S) if isinstance(exc, asyncio.TimeoutError) \
            else "connection refused" if "refused" in str(exc).lower() else str(exc).split(":", 1)[0]
        # one line: the SDK's error is a screenful of gRPC internals
        print(f"workers status: no Temporal server answers at {settings.temporal_address} (TEMPORAL_ADDRESS): "
              f"{why}; start one (python -m workers stack), or point TEMPORAL_ADDRESS at one", file=sys.stderr)
        return 1
    statuses = await collect(client, settings.task_queue)
    if as_json:
        print(json.dumps([s.__dict__ for s in statuses], indent=2))
    else:
        print(render(statuses))
    return 0


def main(argv: list[str]) -> int:
    return asyncio.run(run_status(ControllerSettings.from_env(), as_json="--json" in argv))


def _int(value) -> int | None:
    return None if value is None or isinstance(value, str) else int(value)


def _num(value) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)
