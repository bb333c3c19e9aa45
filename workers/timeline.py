"""What the controller decided over time, as a CSV and a picture.

- ``python -m workers record [--service analyzer] [--csv PATH] [--seconds N]``: follows the
  service's ``scaler/<service>`` workflow (its ``state`` query, once a second), prints one line per
  evaluation (rates, lag, instances, the decision) and appends each to the CSV.
- ``python -m workers plot CSV [-o PNG]``: input and output rates, lag, instances and every scale
  change over time, in one PNG (needs the ``plot`` extra: ``pip install -e ".[plot]"``).

The state keeps only the last decisions (``workflows.state.KEEP_DECISIONS``), so a recorder must
run while the service is being scaled; ``python -m workers demo`` runs one for its whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from temporalio.client import Client

from fogverse.plotting import pyplot
from workers.settings import ControllerSettings
from workflows.decide.scaling import Decision
from workflows.messages import scaler_workflow_id
from workflows.state import ScalerState, utc_clock

POLL_S = 1.0
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Row:
    """One evaluation: what was measured and what was decided."""

    at: float  # the controller's clock (Unix seconds)
    service: str
    input_rate: float | None
    output_rate: float | None
    lag: int | None
    instances: int
    target_instances: int
    action: str
    reason: str

    @classmethod
    def of(cls, service: str, decision: Decision) -> "Row":
        n = decision.numbers
        return cls(decision.at, service, _float(n.get("input_rate")), _float(n.get("output_rate")),
                   _int(n.get("lag")), decision.instances, decision.target_instances, decision.action,
                   decision.reason)

    def line(self) -> str:
        change = f" ▸ {self.target_instances}" if self.target_instances != self.instances else ""
        return (f"{utc_clock(self.at)}  {self.service}: in {_text(self.input_rate)}/s, out {_text(self.output_rate)}/s, "
                f"lag {_text(self.lag)}, instances {self.instances}{change}  {self.action}: {self.reason}")


COLUMNS = [f.name for f in fields(Row)]


class Recorder:
    """Collects the decisions of one service's workflow as they come, each once."""

    def __init__(self, client: Client, service: str):
        self.handle = client.get_workflow_handle(scaler_workflow_id(service))
        self.service = service
        self.rows: list[Row] = []
        self._seen: set[float] = set()

    async def poll(self) -> list[Row]:
        """The decisions taken since the last poll, oldest first (none while the workflow is not there yet)."""
        try:
            state = await self.handle.query("state", result_type=ScalerState)
        except Exception:  # not started yet (no instance announced the service), or busy: next poll
            return []
        new = [Row.of(self.service, d) for d in state.decisions if d.at not in self._seen]
        for row in new:
            self._seen.add(row.at)
        self.rows.extend(new)
        return new


def write_rows(path: Path, rows: list[Row], append: bool = True) -> None:
    fresh = not append or not path.exists() or path.stat().st_size == 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w" if not append else "a", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        if fresh:
            writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))


def read_rows(path: Path) -> list[Row]:
    with path.open(newline="") as source:
        reader = csv.DictReader(source)
        if reader.fieldnames is None or set(COLUMNS) - set(reader.fieldnames):
            raise ValueError(f"{path} is not a timeline CSV: it needs the columns {', '.join(COLUMNS)}")
        rows = []
        for number, raw in enumerate(reader, start=2):
            try:
                rows.append(Row(at=float(raw["at"]), service=raw["service"], input_rate=_float(raw["input_rate"]),
                                output_rate=_float(raw["output_rate"]), lag=_int(raw["lag"]),
                                instances=int(raw["instances"]), target_instances=int(raw["target_instances"]),
                                action=raw["action"], reason=raw["reason"]))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from None
    return sorted(rows, key=lambda r: r.at)


def plot(rows: list[Row], png: Path, title: str = "") -> Path:
    """Input/output rate and lag above, instances and scale changes below; returns ``png``."""
    if not rows:
        raise ValueError("nothing to plot: the timeline has no evaluations")
    plt = pyplot()
    start = rows[0].at
    t = [r.at - start for r in rows]
    fig, (rates, count) = plt.subplots(2, 1, sharex=True, figsize=(10, 6), height_ratios=(3, 2))
    rates.plot(t, [_nan(r.input_rate) for r in rows], label="input msgs/s", color="tab:blue")
    rates.plot(t, [_nan(r.output_rate) for r in rows], label="output msgs/s", color="tab:green")
    rates.set_ylabel("messages / s")
    lag = rates.twinx()
    lag.plot(t, [_nan(r.lag) for r in rows], label="lag", color="tab:gray", linestyle=":")
    lag.set_ylabel("consumer lag (messages)")
    lines = rates.get_lines() + lag.get_lines()
    rates.legend(lines, [line.get_label() for line in lines], loc="upper left")
    count.step(t, [r.target_instances for r in rows], where="post", color="tab:orange", label="instances")
    for r, x in zip(rows, t):
        if r.action in ("scale_out", "scale_in"):
            marker, colour = ("^", "tab:red") if r.action == "scale_out" else ("v", "tab:purple")
            count.plot([x], [r.target_instances], marker=marker, color=colour, markersize=10, linestyle="none")
            count.annotate(f"{r.action} {r.instances}▸{r.target_instances}", (x, r.target_instances),
                           textcoords="offset points", xytext=(4, 6), fontsize=8)
    count.set_ylabel("instances")
    count.set_xlabel(f"seconds since {utc_clock(start)}")
    count.set_ylim(0, max(r.target_instances for r in rows) + 1)
    count.yaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title or f"{rows[0].service}: rates, lag and instances")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


async def record(settings: ControllerSettings, service: str, csv_path: Path | None, seconds: float | None,
                 out=sys.stdout) -> int:
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    except (RuntimeError, OSError, asyncio.TimeoutError) as exc:
        print(f"no Temporal server answers at {settings.temporal_address} (TEMPORAL_ADDRESS): {exc}", file=sys.stderr)
        return 1
    recorder = Recorder(client, service)
    until = None if seconds is None else time.monotonic() + seconds
    while until is None or time.monotonic() < until:
        new = await recorder.poll()
        for row in new:
            print(row.line(), file=out, flush=True)
        if csv_path is not None and new:
            write_rows(csv_path, new)
        await asyncio.sleep(POLL_S)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="follow one service's decisions: a line each, and a CSV")
    rec.add_argument("--service", default="analyzer", help="the scaled service (default analyzer)")
    rec.add_argument("--csv", type=Path, help="append every evaluation to this CSV")
    rec.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    draw = sub.add_parser("plot", help="a PNG of rates, lag, instances and scale changes from a CSV")
    draw.add_argument("csv", type=Path)
    draw.add_argument("-o", "--output", type=Path, help="the PNG (default: the CSV's name with .png)")
    args = parser.parse_args(argv)
    if args.command == "plot":
        try:
            png = plot(read_rows(args.csv), args.output or args.csv.with_suffix(".png"))
        except FileNotFoundError:
            print(f"no such file: {args.csv}", file=sys.stderr)
            return 2
        except (ValueError, RuntimeError) as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(png)
        return 0
    try:
        return asyncio.run(record(ControllerSettings.from_env(), args.service, args.csv, args.seconds))
    except KeyboardInterrupt:
        return 0


def _float(value) -> float | None:
    if value in (None, "") or isinstance(value, str) and value == "inf":
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _nan(value) -> float:
    return math.nan if value is None else float(value)


def _text(value) -> str:
    return "?" if value is None else f"{value:g}"
