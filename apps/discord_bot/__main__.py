"""``python -m apps.discord_bot``: the Discord bot; each message it reads becomes a report on the ``analyze`` topic."""

from fogverse import prometheus
from fogverse.lifecycle import main_entry, parse_command_line, run_until_signalled
from apps.discord_bot.settings import DiscordSettings
from fogverse.settings import RuntimeSettings, bootstrap_variable

from apps.discord_bot.bot import CannotStart, DiscordBot

DESCRIPTION = ("Siaga's Discord bot: reads the messages of the channels it is in (DISCORD_CHANNELS) and "
               "publishes each as a report to the analyze topic; answers $help and $incidents (the latest "
               "emergencies from the client topic, for moderators).")


async def main() -> None:
    bot = DiscordBot.from_env()
    prometheus.serve(bot.settings.metrics_port, bot.runtime.metrics_host, "DISCORD_METRICS_PORT")
    try:
        await run_until_signalled(bot)
    except CannotStart as exc:
        why = str(exc)
        if bot.settings.bootstrap_servers in why:  # the broker: name the variable the address came from
            why += f": start it, or point {bootstrap_variable('DISCORD_ANALYZER_SERVERS')} at one"
        raise SystemExit(f"discord_bot: cannot start: {why}") from None  # exit 1, the reason on stderr


if __name__ == "__main__":
    parse_command_line("python -m apps.discord_bot", DESCRIPTION, DiscordSettings, RuntimeSettings)
    main_entry("discord_bot", main)
