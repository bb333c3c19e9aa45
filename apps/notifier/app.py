"""One notifier process: the ``client`` sink, the incident tracker, push, and the web server."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from apps.notifier.devices import DeviceRegistry
from apps.notifier.feed import IncidentFeed
from apps.notifier.incidents import IncidentChange, IncidentRules, IncidentTracker
from apps.notifier.push import FcmPush, RetryPolicy, firebase_app
from apps.notifier.web import ReceiverApi, build_web_app
from fogverse.codec import JsonModelCodec
from fogverse.contracts import Analysis
from fogverse.runtime import PipelineApp
from fogverse.settings import NotifierSettings, RuntimeSettings

log = logging.getLogger(__name__)

SERVICE = "notifier"
ALERT_QUEUE_MAX = 1000  # alerts waiting for push; beyond this the oldest are dropped
DRAIN_ALERTS_S = 10.0  # at stop, how long queued alerts may still be pushed
WEB_SHUTDOWN_S = 3.0


class Notifier:
    def __init__(self, settings: NotifierSettings, runtime: RuntimeSettings):
        self.settings = settings
        self.tracker = IncidentTracker(IncidentRules(
            window_s=settings.incident_window_s, similarity=settings.incident_similarity,
            alert_counts=settings.incident_alert_counts, max_incidents=settings.incident_max,
            retention_s=settings.incident_retention_s, samples=settings.incident_samples,
        ))
        self.feed = IncidentFeed(self.tracker)
        self.devices = DeviceRegistry(settings.state_dir / "notifier" / "devices.json",
                                      settings.device_tokens, settings.max_devices)
        firebase = firebase_app(settings)
        self.push = FcmPush(firebase, self.devices, RetryPolicy(
            settings.push_max_retries, settings.push_backoff_s, settings.push_backoff_max_s)) if firebase else None
        self.pipeline = PipelineApp(
            service=SERVICE, source_topic=settings.consumer_topic, target_topic=None,
            group_id=settings.consumer_group_id, process=self._process,
            input_codec=JsonModelCodec(Analysis), output_codec=None, settings=runtime,
        )
        self.web_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alerts: asyncio.Queue[IncidentChange] | None = None
        self._consuming = False

    def request_stop(self) -> None:
        self.pipeline.request_stop()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._alerts = asyncio.Queue(maxsize=ALERT_QUEUE_MAX)
        runner = web.AppRunner(build_web_app(ReceiverApi(
            tracker=self.tracker, feed=self.feed, devices=self.devices,
            firebase_web_config=self.settings.firebase_web_config, push_enabled=self.push is not None,
            alert_counts=self.settings.incident_alert_counts, keepalive_s=self.settings.sse_keepalive_s,
            consuming=lambda: self._consuming,
        )), shutdown_timeout=WEB_SHUTDOWN_S, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.web_port = runner.addresses[0][1]
        log.info("receiver at http://%s:%d/", self.settings.http_host, self.web_port)
        if self.push is None:
            log.info("push is off: FIREBASE_KEY is not set (the receiver still gets every incident)")
        else:
            log.info("push is on: %d device token(s) registered", len(self.devices))
        background = [asyncio.create_task(self.feed.run(), name="incident-feed"),
                      asyncio.create_task(self._push_alerts(), name="push-alerts")]
        try:
            self._consuming = True
            await self.pipeline.run()
        finally:
            self._consuming = False
            await self._drain_alerts()
            self.feed.flush()
            self.feed.close()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await runner.cleanup()
            if self.push is not None:
                await self.push.close()

    def _process(self, analyses: list[Analysis]) -> list[None]:
        """Runs on the pipeline's worker thread; a sink, so nothing is produced."""
        for analysis in analyses:
            change = self.tracker.observe(analysis)
            if change is None:
                continue
            self.feed.mark(change)
            if change.alert and self.push is not None:
                self._loop.call_soon_threadsafe(self._queue_alert, change)
        return [None] * len(analyses)

    def _queue_alert(self, change: IncidentChange) -> None:
        if self._alerts.full():
            dropped = self._alerts.get_nowait()
            log.warning("push is behind; dropped the alert for incident %s", dropped.incident_id)
        self._alerts.put_nowait(change)

    async def _push_alerts(self) -> None:
        while True:
            change = await self._alerts.get()
            try:
                report = await self.push.send(change.incident, change.created)
                log.info("alert for incident %s (%s, count %d): %d sent, %d removed, %d failed, %d retries",
                         change.incident_id, change.incident.category, change.incident.count,
                         report.sent, len(report.removed), report.failed, report.retries)
            except Exception:  # one failed alert must not stop the next
                log.exception("could not push the alert for incident %s", change.incident_id)
            finally:
                self._alerts.task_done()

    async def _drain_alerts(self) -> None:
        if self.push is None or self._alerts is None or self._alerts.empty():
            return
        try:
            await asyncio.wait_for(self._alerts.join(), DRAIN_ALERTS_S)
        except asyncio.TimeoutError:
            log.warning("stopped with %d alert(s) not pushed", self._alerts.qsize())
