"""``python -m workers demo``: watch Siaga scale out and back in, in one command, in about five minutes.

It brings the whole system up (``python -m workers up``, on the embedded stack unless
``KAFKA_BOOTSTRAP_SERVERS`` / ``TEMPORAL_ADDRESS`` name servers) with short scaling settings and
each analysis made 100 ms dearer (``ANALYZER_SLOW_DOWN_MS``), so one analyzer carries about
10 msgs/s on any machine. Then it drives the load with a second crawler: a warm-up at ``up``'s
2 msgs/s, a rise to about twice what one instance carries, and back. Meanwhile it prints one line
per evaluation of the analyzer's workflow (rates, lag, instances, the decision and why), writes
them to ``<state>/demo.csv``, and at the end draws ``<state>/demo.png`` (``python -m workers plot``).
It exits 0 once it has seen a scale out and a scale in, 1 if the time ran out first.

Any of the demo's settings can be overridden from the environment (``DEMO_SETTINGS`` lists them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from fogverse.processes import ManagedProcess, child_env, python_module
from workers.timeline import Recorder, Row, plot, write_rows

#: What the demo sets where the environment does not: evaluations every 5 s, a 20 s cooldown,
#: scale in after 45 s of low load, 100 ms more per analysis.
DEMO_SETTINGS = {
    "INPUT_OUTPUT_REFRESH_RATE": "5",
    "WINDOW_MAX_SECOND": "60",
    "DEPLOY_DELAY": "20",
    "HEARBEART_DEPLOY_DELAY": "60",
    "SCALE_IN_STABILIZATION": "45",
    "SCALE_IN_COOLDOWN": "20",
    "RECONCILE_INTERVAL": "30",
    "MAX_INSTANCE": "4",
    "ANALYZER_SLOW_DOWN_MS": "100",
    "BATCH_SIZE": "5",
    "WORKER_THREADS": "1",
    "METRICS_INTERVAL": "1",
    "CONTROLLED_SERVICES": "analyzer",
}
SERVICE = "analyzer"
BANNER = "Ctrl-C stops everything"


@dataclass(frozen=True)
class Plan:
    warmup_s: float = 30.0  # at up's own 2 msgs/s, after the analyzer's first evaluation
    high_rate: float = 16.0  # the second crawler's rate during the rise (on top of up's 2 msgs/s)
    high_s: float = 90.0
    low_max_s: float = 180.0  # after the rise, at most this long waiting for the scale in
    boot_timeout_s: float = 240.0


def demo_env(environ: dict[str, str], state: Path) -> dict[str, str]:
    env = dict(environ)
    for name, value in DEMO_SETTINGS.items():
        env.setdefault(name, value)
    env.setdefault("SIAGA_STATE_DIR", str(state))
    return env


def addresses(env: dict[str, str]) -> tuple[str, str]:
    """(broker, Temporal) as ``up`` will run them."""
    kafka = env.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{env.get('KAFKA_PORT', '9092')}"
    temporal = env.get("TEMPORAL_ADDRESS") or f"127.0.0.1:{env.get('TEMPORAL_PORT', '7233')}"
    return kafka, temporal


class Demo:
    def __init__(self, env: dict[str, str], state: Path, plan: Plan, out=sys.stdout):
        self.env, self.state, self.plan, self.out = env, state, plan, out
        self.csv = state / "demo.csv"
        self.png = state / "demo.png"
        self.rows: list[Row] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def run(self) -> int:
        self.state.mkdir(parents=True, exist_ok=True)
        if self.csv.exists():
            self.csv.unlink()
        up = ManagedProcess("up", python_module("workers", "up"), env=self.env,
                            log_path=self.state / "demo-up.log").start()
        crawler = None
        try:
            if not await self._wait_for_banner(up):
                self.say(f"the system did not come up within {self.plan.boot_timeout_s:.0f} s; "
                         f"see {self.state / 'demo-up.log'}")
                return 1
            kafka, temporal_address = addresses(self.env)
            client = await Client.connect(temporal_address, namespace=self.env.get("TEMPORAL_NAMESPACE", "default"))
            recorder = Recorder(client, SERVICE)
            self.say(f"up (logs in {self.state / 'logs'}); waiting for the {SERVICE}'s first evaluation")
            if not await self._follow(recorder, self.plan.boot_timeout_s, lambda: bool(self.rows)):
                self.say(f"no evaluation of the {SERVICE} within {self.plan.boot_timeout_s:.0f} s")
                return 1
            self.say(f"— warm-up: 2 msgs/s for {self.plan.warmup_s:.0f} s")
            await self._follow(recorder, self.plan.warmup_s)
            self.say(f"— rise: a second crawler adds {self.plan.high_rate:g} msgs/s for {self.plan.high_s:.0f} s "
                     "(one analyzer carries about 10)")
            crawler = ManagedProcess("demo-crawler", python_module("apps.crawler", "--loop", "--rate",
                                                                   f"{self.plan.high_rate:g}", "--quiet"),
                                     # the broker up runs, wherever KAFKA_PORT put it
                                     env=child_env("crawler", {**self.env, "KAFKA_BOOTSTRAP_SERVERS": kafka}),
                                     log_path=self.state / "logs" / "demo-crawler.log").start()
            await self._follow(recorder, self.plan.high_s)
            crawler.stop(timeout_s=10)
            crawler = None
            self.say(f"— back to 2 msgs/s: waiting up to {self.plan.low_max_s:.0f} s for the scale in")
            await self._follow(recorder, self.plan.low_max_s, lambda: self._seen("scale_in"))
        finally:
            if crawler is not None:
                crawler.stop(timeout_s=10)
            up.stop(timeout_s=60)
        return self._finish()

    def _finish(self) -> int:
        if self.rows:
            plot(self.rows, self.png, title="python -m workers demo: the analyzer scaled")
            self.say(f"timeline: {self.csv}\nplot: {self.png}")
        missing = [a for a in ("scale_out", "scale_in") if not self._seen(a)]
        if missing:
            self.say(f"not seen: {', '.join(missing)}")
            return 1
        self.say("seen: a scale out and a scale in")
        return 0

    def _seen(self, action: str) -> bool:
        return any(r.action == action for r in self.rows)

    async def _follow(self, recorder: Recorder, seconds: float, done=lambda: False) -> bool:
        """Print and record each new evaluation for ``seconds`` or until ``done()``; returns done()."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            new = await recorder.poll()
            for row in new:
                self.say("  " + row.line())
            if new:
                self.rows.extend(new)
                write_rows(self.csv, new)
            if done():
                return True
            await asyncio.sleep(1.0)
        return done()

    async def _wait_for_banner(self, up: ManagedProcess) -> bool:
        """``up`` prints its banner once the stack, the controller and the apps are started."""
        deadline = time.monotonic() + self.plan.boot_timeout_s
        while time.monotonic() < deadline:
            if not up.alive():
                return False
            if up.log_path.exists() and BANNER in up.log_path.read_text(errors="replace"):
                return True
            await asyncio.sleep(0.5)
        return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", type=Path,
                        help="where the demo's stack, logs, CSV and PNG go (default: a new temporary directory)")
    parser.add_argument("--high-rate", type=float, default=Plan.high_rate,
                        help="msgs/s the second crawler adds during the rise")
    parser.add_argument("--high-seconds", type=float, default=Plan.high_s, help="how long the rise lasts")
    parser.add_argument("--warmup-seconds", type=float, default=Plan.warmup_s,
                        help="seconds at 2 msgs/s after the first evaluation")
    parser.add_argument("--low-seconds", type=float, default=Plan.low_max_s,
                        help="after the rise, at most this long waiting for the scale in")
    args = parser.parse_args(argv)
    state = (args.state_dir or Path(tempfile.mkdtemp(prefix="siaga-demo-"))).resolve()
    plan = Plan(warmup_s=args.warmup_seconds, high_rate=args.high_rate, high_s=args.high_seconds,
                low_max_s=args.low_seconds)
    try:
        return asyncio.run(Demo(demo_env(dict(os.environ), state), state, plan).run())
    except KeyboardInterrupt:
        return 130
