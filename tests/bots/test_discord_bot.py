"""The Discord bot, unchanged from discord.py's gateway socket to the real broker.

The Discord gateway cannot be reached from here: discord.py's own client is pointed at a local
stand-in that speaks the gateway protocol (HELLO, IDENTIFY, READY, GUILD_CREATE, MESSAGE_CREATE)
and the REST calls the bot makes, so message objects are built by discord.py itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path

import discord
import pytest
import yarl
from discord.gateway import DiscordWebSocket

from apps.discord_bot import commands
from apps.discord_bot.bot import CannotStart, DiscordBot
from apps.discord_bot.handler import NOT_CONFIRMED_REACTION
from apps.discord_bot.limits import AuthorRateLimit
from fogverse.contracts import MAX_TEXT_CHARS, Analysis, Report, ThroughputReport, parse_observer_message
from fogverse.processes import ManagedProcess, free_port, python_module
from fogverse.settings import ConfigError, RuntimeSettings
from apps.discord_bot.settings import DiscordSettings
from kafka_helpers import produce, read_until, start_kafka_node

from bot_processes import app_env
from discord_standin import DiscordStandIn, snowflake, user
from polling import wait_for

TOKEN = "test-bot-token"
MESSAGE_CONTENT_INTENT = 1 << 15


@contextlib.contextmanager
def pointed_at(standin: DiscordStandIn):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(discord.http.Route, "BASE", standin.api_base)
        patch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(standin.gateway_url))
        yield


def make_bot(bootstrap: str, **env: str) -> DiscordBot:
    environ = {"TOKEN": TOKEN, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "METRICS_INTERVAL": "0.5", **env}
    runtime = RuntimeSettings.from_env(environ, service_name="discord_bot")
    return DiscordBot(DiscordSettings.from_env(environ), runtime)


@contextlib.asynccontextmanager
async def running(bot: DiscordBot, standin: DiscordStandIn):
    task = asyncio.create_task(bot.run())
    ready = asyncio.create_task(standin.ready.wait())
    await asyncio.wait([task, ready], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # raises what stopped the bot
        raise AssertionError("the bot stopped before it connected")
    assert ready.done(), "the bot did not connect to the gateway stand-in"
    # discord.py announces ready ~2 s after READY (guild_ready_timeout); closing sooner leaves a stray task
    assert await wait_for(bot.client.is_ready, 10), "the client never became ready"
    try:
        yield bot
    finally:
        bot.request_stop()
        await asyncio.wait_for(task, 30)


class Channel:
    """The module's bot and its topics."""

    def __init__(self, standin: DiscordStandIn, bootstrap: str, topic: str, incidents_topic: str):
        self.standin, self.bootstrap, self.topic, self.incidents_topic = standin, bootstrap, topic, incidents_topic

    async def reports_until(self, done, timeout_s: float = 30) -> list[Report]:
        records = await read_until(self.bootstrap, self.topic,
                                   lambda rs: done([Report.model_validate_json(r.value) for r in rs]), timeout_s)
        return [Report.model_validate_json(r.value) for r in records]

    async def sentinel(self) -> list[Report]:
        """A person posts once more; read up to it (one channel ▸ one key ▸ one partition ▸ in order)."""
        marker = f"sentinel-{uuid.uuid4().hex[:8]}"
        await self.standin.post("reports", marker)
        return await self.reports_until(lambda rs: any(r.text == marker for r in rs))


@pytest.fixture(scope="module")
async def discord_server():
    standin = await DiscordStandIn(TOKEN).start()
    with pointed_at(standin):
        yield standin
    await standin.stop()


@pytest.fixture(scope="module")
async def watched(discord_server, kafka_bootstrap):
    topic, incidents_topic = f"discord-{uuid.uuid4().hex[:8]}", f"client-{uuid.uuid4().hex[:8]}"
    channels = f"{discord_server.channels['reports']},{discord_server.channels['general']}"
    bot = make_bot(kafka_bootstrap, DISCORD_PRODUCER_TOPIC=topic, DISCORD_CHANNELS=channels,
                   DISCORD_INCIDENTS_TOPIC=incidents_topic, OBSERVER_TOPIC=f"{topic}.observer")
    async with running(bot, discord_server):
        yield Channel(discord_server, kafka_bootstrap, topic, incidents_topic)


def answer_to(standin: DiscordStandIn, channel: str, message_id: int) -> str | None:
    """What the bot replied to ``message_id``, if it did."""
    for body in standin.sent_to(channel):
        if str(body.get("message_reference", {}).get("message_id")) == str(message_id):
            return body["content"]
    return None


async def test_a_persons_message_in_a_watched_channel_is_published(watched):
    text = "Ada kebakaran di Jalan Sudirman dekat halte, asap tebal!"
    message_id = await watched.standin.post("reports", text)
    reports = await watched.reports_until(lambda rs: any(r.id == f"discord-{message_id}" for r in rs))
    report = next(r for r in reports if r.id == f"discord-{message_id}")
    assert report.text == text
    assert report.source == "discord"
    assert report.channel_id == str(watched.standin.channels["reports"])
    assert report.author_id and report.author_id != watched.standin.bot_user["id"]
    assert report.metadata["guild_id"] == str(watched.standin.guild_id)
    assert report.metadata["channel_name"] == "reports"
    assert report.metadata["author_name"] == "warga"
    assert report.metadata["jump_url"].endswith(f"/{watched.standin.channels['reports']}/{message_id}")
    assert report.created_at == pytest.approx(discord.utils.snowflake_time(message_id).timestamp())
    assert "truncated" not in report.metadata


async def test_a_reply_names_the_report_it_answers_and_a_forward_does_not(watched):
    first = await watched.standin.post("reports", "Kebakaran di Jalan Sudirman dekat halte!")
    reply = await watched.standin.post("reports", "masih ada yg kejebak gk?", reply_to=first)
    forward = await watched.standin.post("reports", "Kebakaran di Jalan Sudirman dekat halte!", forwards=first)
    wanted = {f"discord-{m}" for m in (first, reply, forward)}
    reports = {r.id: r for r in await watched.reports_until(lambda rs: wanted <= {r.id for r in rs})}
    assert reports[f"discord-{reply}"].reply_to == f"discord-{first}"
    assert reports[f"discord-{first}"].reply_to is None
    assert reports[f"discord-{forward}"].reply_to is None, "a forward is no answer"


async def test_the_gateway_connection_asks_for_message_content(watched):
    assert watched.standin.identifies[-1]["intents"] & MESSAGE_CONTENT_INTENT


async def test_bots_itself_unwatched_channels_and_textless_messages_are_not_published(watched):
    standin = watched.standin
    skipped = [
        await standin.post("reports", "from another bot", author=user(12345, "other-bot", bot=True)),
        await standin.post("reports", "from siaga itself", author=standin.bot_user),
        await standin.post("other", "in a channel that is not on the allow-list"),
        await standin.post("reports", "", attachments=[{"id": "1", "filename": "fire.jpg", "size": 10,
                                                         "url": "https://cdn.example/fire.jpg",
                                                         "proxy_url": "https://cdn.example/fire.jpg"}]),
        await standin.post("reports", "   "),
        await standin.post("reports", "", message_type=7),  # "X joined the server"
    ]
    published = await standin.post("general", "the other watched channel is read too")
    reports = await watched.sentinel()
    ids = {r.id for r in reports}
    assert f"discord-{published}" in ids
    assert not ids & {f"discord-{m}" for m in skipped}


async def test_mentions_reach_the_models_as_names_not_ids(watched):
    neighbour = user(snowflake(), "pak_rt")
    message_id = await watched.standin.post("reports", f"<@{neighbour['id']}> @everyone rumah di gang 5 roboh",
                                            mentions=[neighbour])
    reports = await watched.reports_until(lambda rs: any(r.id == f"discord-{message_id}" for r in rs))
    assert next(r for r in reports if r.id == f"discord-{message_id}").text == "@pak_rt @everyone rumah di gang 5 roboh"


async def test_long_message_is_truncated_and_flagged(watched):
    text = "Banjir " + "x" * (MAX_TEXT_CHARS + 500)
    message_id = await watched.standin.post("reports", text)
    reports = await watched.reports_until(lambda rs: any(r.id == f"discord-{message_id}" for r in rs))
    report = next(r for r in reports if r.id == f"discord-{message_id}")
    assert report.text == text[:MAX_TEXT_CHARS]
    assert report.metadata["truncated"] == "true"


async def test_help_is_answered_in_the_channel_and_not_published(watched):
    message_id = await watched.standin.post("reports", "$help")
    assert await wait_for(lambda: answer_to(watched.standin, "reports", message_id)) == commands.HELP_TEXT
    [body] = [b for b in watched.standin.sent_to("reports") if b["content"] == commands.HELP_TEXT]
    assert body["allowed_mentions"]["parse"] == []  # an answer never pings anyone
    reports = await watched.sentinel()
    assert f"discord-{message_id}" not in {r.id for r in reports}


def verdict(channel_id: int, text: str, *, emergency: bool = True, source: str = "discord",
            category: str | None = "fire", posted: float | None = None) -> bytes:
    report = Report(text=text, source=source, channel_id=str(channel_id), created_at=posted or time.time(),
                    metadata={"jump_url": f"https://discord.com/channels/1/{channel_id}/1"})
    return Analysis(report=report, emergency=emergency, emergency_score=0.93 if emergency else 0.1,
                    category=category if emergency else None, category_score=0.8 if emergency else None,
                    model_version="test").model_dump_json().encode()




async def test_incidents_lists_the_analyzers_emergencies_for_that_channel_to_moderators(watched):
    standin = watched.standin
    reports_channel, general = standin.channels["reports"], standin.channels["general"]
    now = time.time()
    await produce(watched.bootstrap, watched.incidents_topic, [
        verdict(reports_channel, "Kebakaran gudang di Cakung", posted=now - 60),
        verdict(reports_channel, "Tabrakan beruntun di tol, @everyone tolong", category="accident", posted=now),
        verdict(reports_channel, "cuaca cerah hari ini", emergency=False),
        verdict(general, "Banjir di kanal barat", category="natural_hazard"),
        verdict(reports_channel, "LINE group with a colliding id", source="line"),
        b"not an analysis at all",
    ])
    deadline, answer = time.monotonic() + 30, None
    while time.monotonic() < deadline:  # the reader may still be catching up with the topic
        asked = await standin.post("reports", "$incidents", moderator=True)
        answer = await wait_for(lambda: answer_to(standin, "reports", asked))
        if answer and "Cakung" in answer:
            break
        await asyncio.sleep(0.5)
    assert answer and "Cakung" in answer, answer
    assert answer.index("Tabrakan") < answer.index("Cakung"), "newest first"
    assert "**accident**" in answer and "93%" in answer
    assert "@\u200beveryone" in answer  # mentions in a message excerpt are defused
    for absent in ("cuaca cerah", "Banjir", "colliding"):
        assert absent not in answer

    asked = await standin.post("reports", "$incidents")  # not a moderator
    assert await wait_for(lambda: answer_to(standin, "reports", asked)) == commands.NOT_A_MODERATOR_TEXT


async def test_the_bot_reports_its_throughput_to_the_observer_topic(watched):
    await watched.sentinel()
    records = await read_until(
        watched.bootstrap, f"{watched.topic}.observer",
        lambda rs: any(isinstance(m := parse_observer_message(r.value), ThroughputReport)
                       and m.target_topic == watched.topic and m.total_messages >= 1 for r in rs), 20)
    throughput = [m for m in (parse_observer_message(r.value) for r in records)
                  if isinstance(m, ThroughputReport) and m.total_messages >= 1]
    assert throughput and throughput[0].service == "discord_bot"


@contextlib.asynccontextmanager
async def own_bot(kafka_bootstrap: str, **env: str):
    """A bot of its own settings (no channel list unless given), on a stand-in of its own."""
    standin = await DiscordStandIn(TOKEN).start()
    topic = f"discord-{uuid.uuid4().hex[:8]}"
    bot = make_bot(kafka_bootstrap, DISCORD_PRODUCER_TOPIC=topic, OBSERVER_TOPIC=f"{topic}.observer", **env)
    try:
        with pointed_at(standin):
            async with running(bot, standin):
                yield Channel(standin, kafka_bootstrap, topic, f"client-{uuid.uuid4().hex[:8]}")
    finally:
        await standin.stop()


async def test_direct_messages_are_not_read_by_default_even_without_a_channel_list(kafka_bootstrap):
    async with own_bot(kafka_bootstrap) as channel:
        direct = await channel.standin.post("reports", "a direct message to the bot", in_guild=False)
        anywhere = await channel.standin.post("other", "any server channel is read without a list")
        ids = {r.id for r in await channel.sentinel()}
    assert f"discord-{anywhere}" in ids
    assert f"discord-{direct}" not in ids


async def test_direct_messages_are_read_when_DISCORD_READ_DMS_asks(kafka_bootstrap):
    async with own_bot(kafka_bootstrap, DISCORD_READ_DMS="true") as channel:
        direct = await channel.standin.post("reports", "Kebakaran di rumah tetangga saya", in_guild=False)
        reports = await channel.reports_until(lambda rs: any(r.id == f"discord-{direct}" for r in rs))
    assert next(r for r in reports if r.id == f"discord-{direct}").text == "Kebakaran di rumah tetangga saya"


async def test_an_author_over_the_rate_is_dropped_and_logged_once(kafka_bootstrap, caplog):
    caplog.set_level("WARNING", logger="apps.discord_bot.handler")
    async with own_bot(kafka_bootstrap, DISCORD_AUTHOR_RATE="3") as channel:
        spammer = user(snowflake(), "spammer")
        sent = [await channel.standin.post("reports", f"banjir versi {i}", author=spammer) for i in range(7)]
        neighbour = await channel.standin.post("reports", "banjir juga di sini")
        ids = {r.id for r in await channel.sentinel()}
    assert [m for m in sent if f"discord-{m}" in ids] == sent[:3], "the first three pass, the rest are dropped"
    assert f"discord-{neighbour}" in ids, "another author is not limited by the first"
    drops = [r for r in caplog.records if "reports in a minute" in r.getMessage()]
    assert len(drops) == 1 and spammer["id"] in drops[0].getMessage()


def test_the_author_limit_is_per_author_per_sliding_minute():
    now = [0.0]
    limit = AuthorRateLimit(2, clock=lambda: now[0], max_authors=2)
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a"), limit.allow("b")] == [True, True, False, True]
    assert limit.first_drop("a") and not limit.first_drop("a")
    now[0] = 30.0
    assert not limit.allow("a") and not limit.first_drop("a")
    now[0] = 60.0
    assert limit.allow("a") and limit.first_drop("a"), "a new minute: allowed again, and a drop is logged again"
    now[0] = 200.0
    assert limit.allow("c") and len(limit._sent) <= 2, "quiet authors are forgotten"
    assert AuthorRateLimit(0).allow("a"), "0 ▸ no limit"


async def broker_ready(bootstrap: str, timeout_s: float = 30) -> None:
    """A listening port is not yet a broker that answers: produce until it does."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await produce(bootstrap, "warm-up", [b"x"])
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_a_report_the_broker_does_not_confirm_gets_a_warning_reaction(kafka_installed, tmp_path):
    node, broker = await asyncio.to_thread(start_kafka_node, tmp_path / "kafka")
    standin = await DiscordStandIn(TOKEN).start()
    try:
        await broker_ready(node.bootstrap)
        bot = make_bot(node.bootstrap, DISCORD_PRODUCER_TOPIC=f"discord-down-{uuid.uuid4().hex[:6]}",
                       DISCORD_PUBLISH_TIMEOUT="1")
        with pointed_at(standin):
            async with running(bot, standin):
                broker.kill()
                message_id = await standin.post("reports", "Gempa terasa kuat di Cianjur")
                assert await wait_for(lambda: [r for r in standin.reactions if r["message_id"] == message_id], 20)
                [reaction] = [r for r in standin.reactions if r["message_id"] == message_id]
                assert reaction["emoji"] == NOT_CONFIRMED_REACTION
    finally:
        await standin.stop()
        broker.stop()


async def test_a_refused_message_content_intent_stops_with_the_portal_setting_named(kafka_bootstrap):
    standin = await DiscordStandIn(TOKEN).start()
    standin.close_code_after_identify = 4014  # what Discord does when the intent is off in the portal
    try:
        with pointed_at(standin):
            with pytest.raises(CannotStart) as stopped:
                await asyncio.wait_for(make_bot(kafka_bootstrap).run(), 30)
    finally:
        await standin.stop()
    assert "MESSAGE CONTENT INTENT" in str(stopped.value)


async def test_a_rejected_token_is_a_configuration_error_naming_TOKEN(kafka_bootstrap):
    standin = await DiscordStandIn("the-real-token").start()
    try:
        with pointed_at(standin):
            with pytest.raises(ConfigError) as refused:
                await asyncio.wait_for(make_bot(kafka_bootstrap).run(), 30)
    finally:
        await standin.stop()
    assert "TOKEN" in str(refused.value) and TOKEN not in str(refused.value)


def test_an_unreachable_broker_at_start_stops_with_a_clear_message(tmp_path):
    env = app_env(None, TOKEN=TOKEN, DISCORD_ANALYZER_SERVERS=f"127.0.0.1:{free_port()}")
    process = ManagedProcess("discord_bot", python_module("apps.discord_bot"), env=env,
                             log_path=tmp_path / "discord_bot.log").start()
    assert process.popen.wait(60) == 1
    output = process.tail()
    assert "cannot start: the broker at" in output and "unreachable" in output and TOKEN not in output


def test_refuses_to_start_without_TOKEN(kafka_bootstrap, tmp_path):
    process = ManagedProcess("discord_bot", python_module("apps.discord_bot"), env=app_env(kafka_bootstrap),
                             log_path=tmp_path / "discord_bot.log").start()
    assert process.popen.wait(60) == 2
    assert "TOKEN is not set" in process.tail()


def test_refuses_a_channel_list_that_is_not_ids(kafka_bootstrap, tmp_path):
    env = app_env(kafka_bootstrap, TOKEN=TOKEN, DISCORD_CHANNELS="#general")
    process = ManagedProcess("discord_bot", python_module("apps.discord_bot"), env=env,
                             log_path=tmp_path / "discord_bot.log").start()
    assert process.popen.wait(60) == 2
    output = process.tail()
    assert "DISCORD_CHANNELS" in output and TOKEN not in output


async def test_metrics_scraped_and_parsed(kafka_bootstrap, tmp_path):
    import sys

    from apps.discord_bot.handler import Outcome
    from prometheus_scrape import scrape, scrape_until, value

    standin = await DiscordStandIn(TOKEN).start()
    topic, metrics_port = f"discord-{uuid.uuid4().hex[:8]}", free_port()
    env = app_env(kafka_bootstrap, TOKEN=TOKEN, DISCORD_PRODUCER_TOPIC=topic, OBSERVER_TOPIC=f"{topic}.observer",
                  DISCORD_CHANNELS=standin.channels["reports"], DISCORD_INCIDENTS_TOPIC=f"client-{topic}",
                  DISCORD_METRICS_PORT=metrics_port, DISCORD_AUTHOR_RATE="1", STANDIN_API_BASE=standin.api_base,
                  STANDIN_GATEWAY=standin.gateway_url)
    process = ManagedProcess("discord_bot", [sys.executable, str(Path(__file__).with_name("discord_bot_at_standin.py"))],
                             env=env, log_path=tmp_path / "discord_bot.log").start()
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        await asyncio.wait_for(standin.ready.wait(), 60)
        # discord.py dispatches messages once the client is ready (guild_ready_timeout, ~2 s after READY)
        assert await wait_for(lambda: "logged in to Discord" in process.tail(), 30), process.tail()
        before = await scrape(url)
        first_author = user(snowflake(), "warga")
        await standin.post("reports", "Banjir setinggi lutut di Kampung Melayu, laporan 0", author=first_author)
        await standin.post("reports", "Banjir setinggi lutut di Kampung Melayu, laporan 1")
        await standin.post("reports", "Airnya naik lagi", author=first_author)  # over DISCORD_AUTHOR_RATE=1
        await standin.post("reports", "from another bot", author=user(12345, "other-bot", bot=True))
        await standin.post("general", "in a channel that is not on the allow-list")
        await standin.post("reports", "   ")
        await standin.post("reports", "$help")
        published = await read_until(kafka_bootstrap, topic, lambda r: len(r) >= 2, timeout_s=30, watch=process)
        samples = await scrape_until(
            url, lambda s: value(s, "siaga_messages_out_total", topic=topic) == 2
            and value(s, "siaga_messages_received_total", service="discord_bot") == 7,
            "the two reports acked and the seven messages counted", process=process)
    finally:
        code = process.stop()
        await standin.stop()
    assert code == 0, process.tail()
    assert len(published) == 2
    assert value(samples, "siaga_messages_out_total", service="discord_bot", topic=topic) == 2
    assert value(samples, "siaga_publish_failures_total", service="discord_bot") is None
    # every outcome is shown at 0 before the first message, not missing
    assert {o.value: value(before, "siaga_messages_received_total", service="discord_bot", outcome=o.value)
            for o in Outcome} == {o.value: 0 for o in Outcome}
    assert {o.value: value(samples, "siaga_messages_received_total", service="discord_bot", outcome=o.value)
            for o in Outcome} == {"published": 2, "rate_limited": 1, "not_from_people": 1, "not_watched": 1,
                                  "no_text": 1, "command": 1, "not_confirmed": 0}
