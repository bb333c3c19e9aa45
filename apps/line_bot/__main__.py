"""``python -m apps.line_bot``: the LINE webhook; each text message becomes a report on the ``analyze`` topic."""

from fogverse import prometheus
from fogverse.lifecycle import main_entry, parse_command_line, run_until_signalled
from apps.line_bot.settings import LineSettings
from fogverse.settings import RuntimeSettings

from apps.line_bot.bot import LineBot

DESCRIPTION = ("Siaga's LINE bot: serves the LINE Messaging API webhook (POST /callback, signatures checked "
               "with CHANNEL_SECRET) and publishes each text message as a report to the analyze topic; "
               "answers 503 while the broker is away, so LINE delivers again.")


async def main() -> None:
    bot = LineBot.from_env()
    prometheus.serve(bot.settings.metrics_port, bot.runtime.metrics_host, "LINE_METRICS_PORT")
    await run_until_signalled(bot)


if __name__ == "__main__":
    parse_command_line("python -m apps.line_bot", DESCRIPTION, LineSettings, RuntimeSettings)
    main_entry("line_bot", main)
