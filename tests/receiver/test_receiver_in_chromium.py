"""The receiver in real headless Chromium, fed by a real notifier process and the real broker.

Uses Debian's chromium (never a downloaded browser); CI installs it with .ci/install-system-packages.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fogverse.processes import ManagedProcess, python_module, wait_for_port
from kafka_helpers import produce
from notifier.notifier_harness import analysis_json, notifier_env

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
SCREENSHOT = Path(os.environ.get("RECEIVER_SCREENSHOT", "/tmp/siaga-receiver-phone.png"))
WAIT_MS = 30_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture
def notifier(kafka_bootstrap, subprocess_env, topic_name, tmp_path):
    topic = topic_name("client")
    env = {**subprocess_env, **notifier_env(kafka_bootstrap, topic, tmp_path, INCIDENT_ALERT_COUNTS="5,20")}
    process = ManagedProcess("notifier", python_module("apps.notifier"), env=env,
                             log_path=tmp_path / "notifier.log").start()
    try:
        wait_for_port("127.0.0.1", int(env["NOTIFIER_PORT"]), 30, process)
        yield topic, f"http://127.0.0.1:{env['NOTIFIER_PORT']}", process
    finally:
        process.stop()


@pytest.fixture
async def phone():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        try:
            yield context
        finally:
            await context.close()
            await browser.close()


async def test_incidents_appear_grow_and_filter_live(kafka_bootstrap, notifier, phone):
    topic, base, process = notifier
    await phone.grant_permissions(["notifications"], origin=base)
    page = await phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    await page.goto(base)
    await page.wait_for_selector("#status.live", timeout=WAIT_MS)
    assert await page.is_visible("#empty")

    now = time.time()
    await produce(kafka_bootstrap, topic, [analysis_json("Huge fire at the Riverside warehouse, smoke everywhere",
                                                         at=now)])
    fire = page.locator('.incident[data-category="fire"]')
    await fire.locator(".count", has_text="1").wait_for(timeout=WAIT_MS)
    assert await page.is_hidden("#empty")

    await produce(kafka_bootstrap, topic, [
        analysis_json("Riverside warehouse still burning, firefighters there", at=now + 1),
        analysis_json("Smoke from the Riverside warehouse fire covers the bridge", at=now + 2),
        analysis_json("Riverside warehouse fire: roads closed", at=now + 3, source="line"),
        analysis_json("The Riverside warehouse is on fire!!", at=now + 4, source="discord"),
    ])
    await fire.locator(".count", has_text="5").wait_for(timeout=WAIT_MS)
    assert await fire.count() == 1, "similar reports grow one incident, they do not add cards"
    assert (await fire.locator(".keywords").inner_text()).startswith("Riverside warehouse"), "the place leads"
    assert await fire.locator(".title").inner_text() == "Fire at Riverside warehouse"
    assert await fire.locator(".summary").inner_text() in {
        "Huge fire at the Riverside warehouse, smoke everywhere", "Riverside warehouse still burning, firefighters there",
        "Smoke from the Riverside warehouse fire covers the bridge", "Riverside warehouse fire: roads closed",
        "The Riverside warehouse is on fire!!"}, "one of its reports sums it up"
    assert await fire.locator(".sources").inner_text() == "3 crawler · 1 discord · 1 line"
    assert await fire.locator(".samples li").count() == 3
    shown, summary = await fire.locator(".samples li").all_inner_texts(), await fire.locator(".summary").inner_text()
    assert not any(text.startswith(summary) for text in shown), "the summary is not shown twice"

    await produce(kafka_bootstrap, topic, [analysis_json("Bus overturned on the Puncak pass, many injured",
                                                         category="accident", at=now + 5)])
    await page.locator('.incident[data-category="accident"]').wait_for(timeout=WAIT_MS)
    crash = page.locator('.incident[data-category="accident"]')
    assert await crash.locator(".summary").inner_text() == "Bus overturned on the Puncak pass, many injured"
    assert await crash.locator(".samples li").count() == 0, "one report: its summary alone"
    await page.click('#filters button[data-category="accident"]')
    await page.wait_for_function("document.querySelectorAll('.incident').length === 1", timeout=WAIT_MS)
    assert await page.locator(".incident").get_attribute("data-category") == "accident"
    await page.click('#filters button[data-category=""]')
    await page.wait_for_function("document.querySelectorAll('.incident').length === 2", timeout=WAIT_MS)

    titles = await page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.ready;
        return (await registration.getNotifications()).map((n) => n.title);
    }""")
    assert titles, "browser notifications should have been shown for the alerts"
    assert set(titles) <= {"Fire at Riverside warehouse: new incident", "Fire at Riverside warehouse: 5 reports",
                           "Accident at Puncak pass: new incident"}
    assert "Accident at Puncak pass: new incident" in titles

    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert process.alive()
    assert errors == [], f"the page logged errors: {errors}"


async def test_the_page_survives_a_reload_and_shows_what_is_known(kafka_bootstrap, notifier, phone):
    topic, base, _ = notifier
    await produce(kafka_bootstrap, topic, [analysis_json("Chlorine gas leak at the water plant", category="hazmat")])
    page = await phone.new_page()
    await page.goto(f"{base}/#category=hazmat")
    await page.locator('.incident[data-category="hazmat"]').wait_for(timeout=WAIT_MS)
    assert await page.get_attribute('#filters button[data-category="hazmat"]', "aria-pressed") == "true"
    await page.reload()
    await page.locator('.incident[data-category="hazmat"] .count', has_text="1").wait_for(timeout=WAIT_MS)
    manifest = await page.evaluate("fetch('/manifest.webmanifest').then((r) => r.json())")
    assert manifest["display"] == "standalone"
    assert await page.evaluate("navigator.serviceWorker.ready.then((r) => Boolean(r.active))")


async def test_two_incidents_found_to_be_one_event_become_one_card(kafka_bootstrap, notifier, phone):
    topic, base, process = notifier
    page = await phone.new_page()
    await page.goto(base)
    await page.wait_for_selector("#status.live", timeout=WAIT_MS)
    now = time.time()
    await produce(kafka_bootstrap, topic, [
        analysis_json("Gudang terbakar di Jalan Gatot Subroto", at=now),
        analysis_json("Warehouse blaze, black smoke over the toll road", at=now + 1),
    ])
    await page.wait_for_function("document.querySelectorAll('.incident').length === 2", timeout=WAIT_MS)
    await produce(kafka_bootstrap, topic, [
        analysis_json("Warehouse blaze on Gatot Subroto, smoke over the toll road", at=now + 2)])
    await page.locator('.incident .count', has_text="3").wait_for(timeout=WAIT_MS)
    await page.wait_for_function("document.querySelectorAll('.incident').length === 1", timeout=WAIT_MS)
    assert process.alive()
