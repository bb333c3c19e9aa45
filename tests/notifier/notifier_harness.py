"""Running a notifier against the test broker, and building the analyses it consumes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiohttp

from apps.notifier.app import SERVICE, Notifier
from fogverse.contracts import Analysis, Report
from fogverse.processes import free_port
from apps.notifier.settings import NotifierSettings
from fogverse.settings import RuntimeSettings


def analysis_json(text: str, category: str | None = "fire", emergency: bool = True, at: float | None = None,
                  source: str = "crawler", **report_fields) -> bytes:
    """``report_fields``: more of the report's (``id``, ``channel_id``, ``reply_to`` ...)."""
    report = Report(text=text, source=source, **({"created_at": at} if at is not None else {}), **report_fields)
    return Analysis(report=report, emergency=emergency, emergency_score=0.93 if emergency else 0.08,
                    category=category if emergency else None, category_score=0.8 if emergency else None,
                    model_version="test").model_dump_json().encode()


def notifier_env(kafka_bootstrap: str, topic: str, state_dir: Path, **extra) -> dict[str, str]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "CLIENT_CONSUMER_TOPIC": topic,
        "CLIENT_CONSUMER_GROUP_ID": f"notifier-{topic}", "OBSERVER_TOPIC": f"{topic}.observer",
        "NOTIFIER_PORT": str(free_port()), "SIAGA_STATE_DIR": str(state_dir), "METRICS_INTERVAL": "0.5",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextlib.asynccontextmanager
async def running_notifier(env: dict[str, str]):
    """An in-process notifier; yields it once its web server answers."""
    notifier = Notifier(NotifierSettings.from_env(env), RuntimeSettings.from_env(env, service_name=SERVICE))
    task = asyncio.create_task(notifier.run())
    try:
        await wait_for_http(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/healthz", task)
        yield notifier
    finally:
        notifier.request_stop()
        await asyncio.wait_for(task, 30)


async def wait_for_http(url: str, task: asyncio.Task | None = None, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if task is not None and task.done():
                task.result()
                raise AssertionError("the notifier stopped before serving")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


async def poll_json(url: str, done, timeout_s: float = 30.0):
    """GET ``url`` until ``done(json)``; returns the last answer."""
    deadline = time.monotonic() + timeout_s
    body = None
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(url) as response:
                body = await response.json()
            if done(body):
                return body
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never satisfied the condition; last answer: {body}")
