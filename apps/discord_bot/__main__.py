from fogverse.lifecycle import main_entry, run_until_signalled
from fogverse.settings import _Env, bootstrap_variable

from apps.discord_bot.bot import CannotStart, DiscordBot


async def main() -> None:
    bot = DiscordBot.from_env()
    try:
        await run_until_signalled(bot)
    except CannotStart as exc:
        why = str(exc)
        if bot.settings.bootstrap_servers in why:  # the broker: name the variable the address came from
            why += f": start it, or point {bootstrap_variable(_Env(), 'DISCORD_ANALYZER_SERVERS')} at one"
        raise SystemExit(f"discord_bot: cannot start: {why}") from None  # exit 1, the reason on stderr


if __name__ == "__main__":
    main_entry("discord_bot", main)
