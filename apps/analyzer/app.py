"""The analyzer service: ``analyze`` (Report) ▸ emergency models ▸ ``client`` (Analysis).

``ANALYZER_MODE`` picks how the runtime runs the models: ``serial`` (one worker thread, the
batch in one call) or ``parallel`` (the batch split across ``WORKER_THREADS`` threads;
onnxruntime releases the GIL, so threads really run at once). ``MODEL_MODE`` picks the models.
"""

from __future__ import annotations

import time

from fogverse import prometheus
from fogverse.codec import JsonModelCodec
from fogverse.contracts import Analysis, Report
from fogverse.lifecycle import main_entry, run_until_signalled
from fogverse.runtime import PipelineApp
from apps.analyzer.settings import AnalyzerSettings
from fogverse.settings import RuntimeSettings

SERVICE = "analyzer"


def build_app(environ=None) -> PipelineApp[Report, Analysis]:
    from apps.analyzer.model import EmergencyModel

    settings = AnalyzerSettings.from_env(environ)
    runtime = RuntimeSettings.from_env(environ, bootstrap_var="ANALYZER_CONSUMER_SERVERS", service_name=SERVICE)
    parallel = settings.analyzer_mode == "parallel"
    # In parallel mode the runtime's threads share the cores, so each onnxruntime call gets one.
    model = EmergencyModel.load(settings.model_mode, threads=1 if parallel else None)
    slow_down_s = settings.slow_down_ms / 1000

    def analyze(reports: list[Report]) -> list[Analysis]:
        if slow_down_s:
            # a deliberate overload knob for scaling demos and tests: costs this much per message
            time.sleep(slow_down_s * len(reports))
        predictions = model.predict([r.text for r in reports])
        return [
            Analysis(report=report, emergency=p.emergency, emergency_score=p.emergency_score,
                     category=p.category, category_score=p.category_score, model_version=model.version)
            for report, p in zip(reports, predictions)
        ]

    return PipelineApp(
        service=runtime.service_name or SERVICE, source_topic=settings.consumer_topic,
        target_topic=settings.producer_topic, group_id=settings.consumer_group_id, process=analyze,
        input_codec=JsonModelCodec(Report), output_codec=JsonModelCodec(Analysis), settings=runtime,
        parallel=parallel, shows_lag=settings.metrics_port > 0,
    )


async def _run() -> None:
    app = build_app()
    prometheus.serve(AnalyzerSettings.from_env().metrics_port, app.settings.metrics_host, "ANALYZER_METRICS_PORT")
    await run_until_signalled(app)


def main() -> None:
    main_entry(SERVICE, _run)
