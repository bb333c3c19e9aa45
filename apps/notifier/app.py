"""One notifier process: the ``client`` sink, the incident tracker, the store, push, and the web server.

A batch of analyses is folded into the tracker and its changes (reports, incidents, alerts to
push) are written to the store in one transaction, all inside ``process``: the pipeline commits
the ``client`` offset only after ``process`` returns, so never past a report not on disk.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from apps.discord_bot.limits import AuthorRateLimit
from apps.notifier.devices import DeviceRegistry
from apps.notifier.feed import IncidentFeed
from apps.notifier.incidents import SEEN_REPORTS_MAX, IncidentRules, IncidentTracker
from apps.notifier.heap import HeapKeeper, HeapSettings
from apps.notifier.outbox import AlertOutbox, OutboxSettings
from apps.notifier.push import FcmPush, firebase_app
from apps.notifier.store import BatchRecord, NotifierStore, QueuedAlert
from apps.notifier.web import ReceiverApi, build_web_app
from fogverse import prometheus
from fogverse.codec import JsonModelCodec
from fogverse.contracts import Analysis
from fogverse.runtime import PipelineApp
from apps.notifier.settings import NotifierSettings
from fogverse.settings import RuntimeSettings

log = logging.getLogger(__name__)

SERVICE = "notifier"
DRAIN_ALERTS_S = 10.0  # at stop, how long alerts being sent may still finish (the rest wait in the store)
WEB_SHUTDOWN_S = 3.0


class StoreFailed(BaseException):
    """The store could not record a batch: the process stops, its offsets uncommitted.

    A BaseException, so that the pipeline does not turn the batch into dead letters."""


def incident_rules(settings: NotifierSettings) -> IncidentRules:
    """The tracker's rules as the ``INCIDENT_*`` settings give them (the notifier's and the grouping bench's)."""
    return IncidentRules(
        window_s=settings.incident_window_s, place_window_s=settings.incident_place_window_s,
        similarity=settings.incident_similarity,
        alert_counts=settings.incident_alert_counts, max_incidents=settings.incident_max,
        retention_s=settings.incident_retention_s, samples=settings.incident_samples,
    )


class Notifier:
    def __init__(self, settings: NotifierSettings, runtime: RuntimeSettings,
                 outbox_settings: OutboxSettings | None = None, heap_settings: HeapSettings | None = None):
        self.settings = settings
        state_dir = settings.state_dir / "notifier"
        self.store = NotifierStore(state_dir / "notifier.db")
        self.tracker = IncidentTracker(incident_rules(settings))
        self.tracker.restore(self.store.incident_states(), self.store.report_ids(SEEN_REPORTS_MAX))
        prometheus.track_incidents_open(lambda: len(self.tracker))
        self.feed = IncidentFeed(self.tracker, max_subscribers=settings.sse_max_clients)
        self.devices = DeviceRegistry(self.store, settings.device_tokens, settings.max_devices,
                                      legacy_file=state_dir / "devices.json")
        firebase = firebase_app(settings)
        self.push = FcmPush(firebase, self.devices) if firebase else None
        self.outbox = AlertOutbox(self.store, self.push, outbox_settings or OutboxSettings.from_env(
            notifier=settings)) if self.push else None
        self.pipeline = PipelineApp(
            service=SERVICE, source_topic=settings.consumer_topic, target_topic=None,
            group_id=settings.consumer_group_id, process=self._process,
            input_codec=JsonModelCodec(Analysis), output_codec=None, settings=runtime,
            shows_lag=True,  # its HTTP port always serves /metrics
        )
        self.heap = HeapKeeper(heap_settings or HeapSettings.from_env())
        self.web_port: int | None = None
        self.web_app: web.Application | None = None  # while it runs: its routes (the OpenAPI test reads them)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consuming = False

    def request_stop(self) -> None:
        self.pipeline.request_stop()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        runner = web.AppRunner(build_web_app(ReceiverApi(
            tracker=self.tracker, feed=self.feed, devices=self.devices,
            firebase_web_config=self.settings.firebase_web_config, push_enabled=self.push is not None,
            alert_counts=self.settings.incident_alert_counts, keepalive_s=self.settings.sse_keepalive_s,
            consuming=lambda: self._consuming,
            device_requests=AuthorRateLimit(self.settings.device_requests_per_minute),
            write_timeout_s=self.settings.sse_write_timeout_s,
        )), shutdown_timeout=WEB_SHUTDOWN_S, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.web_port = runner.addresses[0][1]
        self.web_app = runner.app
        log.info("receiver at http://%s:%d/", self.settings.http_host, self.web_port)
        if self.push is None:
            log.info("push is off: FIREBASE_KEY is not set (the receiver still gets every incident)")
        else:
            log.info("push is on: %d device token(s) registered, %d alert(s) pending", len(self.devices),
                     self.store.pending_alerts())
        background = [asyncio.create_task(self.feed.run(), name="incident-feed"),
                      asyncio.create_task(self.heap.run(), name="heap-keeper")]
        if self.outbox is not None:
            background.append(asyncio.create_task(self.outbox.run(), name="alert-outbox"))
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
            self.store.close()

    def _process(self, analyses: list[Analysis]) -> list[None]:
        """Runs on the pipeline's worker thread; a sink, so nothing is produced."""
        changes, reports = [], []
        for analysis in analyses:
            change = self.tracker.observe(analysis)
            if change is not None:
                changes.append(change)
                reports.append((analysis.report.id, change.incident_id))
        if not changes:
            return [None] * len(analyses)
        touched = dict.fromkeys(c.incident_id for c in changes)
        states = [(i, state["last_seen"], state) for i in touched if (state := self.tracker.state(i)) is not None]
        alerts = []
        if self.outbox is not None:
            tokens, now = tuple(self.devices.tokens()), time.time()
            alerts = [QueuedAlert(c.incident_id, c.level, c.created, c.incident.model_dump_json(), tokens, next_at=now)
                      for c in changes if c.alert]
        merged = [(absorbed, c.incident_id) for c in changes for absorbed in c.absorbed]
        try:
            self.store.record(BatchRecord(reports, states, self.tracker.take_forgotten(), alerts, merged))
        except Exception as exc:
            # The tracker already holds this batch: retrying it report by report (what the pipeline
            # does with a failing batch) would find only "duplicates" and commit them unrecorded.
            raise StoreFailed(f"could not record a batch in {self.store.path}: {exc}") from exc
        self.feed.mark_all(changes)
        if alerts:
            self._loop.call_soon_threadsafe(self.outbox.wake)
        return [None] * len(analyses)

    async def _drain_alerts(self) -> None:
        if self.outbox is None:
            return
        if not await self.outbox.idle(DRAIN_ALERTS_S):
            log.info("stopped with alerts still to push; they wait in the store for the next start")
