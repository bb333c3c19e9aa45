from fogverse.lifecycle import main_entry, run_until_signalled

from apps.line_bot.bot import LineBot


async def main() -> None:
    await run_until_signalled(LineBot.from_env())


if __name__ == "__main__":
    main_entry("line_bot", main)
