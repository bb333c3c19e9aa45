from fogverse.lifecycle import main_entry, run_until_signalled

from apps.discord_bot.bot import CannotStart, DiscordBot


async def main() -> None:
    try:
        await run_until_signalled(DiscordBot.from_env())
    except CannotStart as exc:
        raise SystemExit(f"discord_bot: cannot start: {exc}") from None  # exit 1, the reason on stderr


if __name__ == "__main__":
    main_entry("discord_bot", main)
