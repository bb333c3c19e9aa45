"""Scraping a running process's ``/metrics`` over real HTTP, read with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, list[tuple[dict[str, str], float]]]  # sample name ▸ (labels, value) of each series


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as http:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "text/plain", response.content_type
            text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum over the series of ``name`` whose labels include ``labels``; None: no such series."""
    found = [v for series, v in samples.get(name, []) if all(series.get(k) == w for k, w in labels.items())]
    return sum(found) if found else None


async def scrape_until(url: str, condition: Callable[[Samples], bool], what: str, timeout_s: float = 60.0,
                       process=None) -> Samples:
    """Scrape every half second until ``condition`` holds; fail with the last scrape (and the log) if not."""
    deadline, samples = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise AssertionError(f"{process.name} exited while waiting for {what}:\n{process.tail(60)}")
        try:
            samples = await scrape(url)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            samples = {}
        if samples and condition(samples):
            return samples
        await asyncio.sleep(0.5)
    shown = {k: v for k, v in samples.items() if k.startswith("siaga_")}
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; last scrape: {shown}"
                         + (f"\n{process.tail(40)}" if process is not None else ""))
