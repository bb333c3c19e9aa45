"""What the bot answers in a channel: ``$help`` and ``$incidents``."""

from __future__ import annotations

from discord.utils import escape_markdown, escape_mentions

from fogverse.contracts import Analysis

PREFIX = "$"
HELP = "help"
INCIDENTS = "incidents"
EXCERPT_CHARS = 200
DISCORD_MAX_CHARS = 2000

HELP_TEXT = (
    "**Siaga** reads the messages in this channel and checks them for emergencies "
    "(fire, accidents, natural hazards, violence, hazardous materials).\n"
    "`$help` shows this message.\n"
    "`$incidents` lists the latest emergencies Siaga found in this channel "
    "(for moderators: needs the Manage Messages permission)."
)
NOT_A_MODERATOR_TEXT = "`$incidents` is for moderators of this channel (Manage Messages permission)."
NOT_IN_A_SERVER_TEXT = "`$incidents` works in server channels only."
NO_INCIDENTS_TEXT = "Siaga has found no emergencies in this channel recently."


def command_of(text: str) -> str | None:
    """``help`` for ``$help``, ``incidents`` for ``$incidents ...``; None for anything else."""
    words = text.strip().split(maxsplit=1)
    if not words or not words[0].startswith(PREFIX):
        return None
    name = words[0][len(PREFIX):].lower()
    return name if name in (HELP, INCIDENTS) else None


def incidents_text(incidents: list[Analysis]) -> str:
    if not incidents:
        return NO_INCIDENTS_TEXT
    lines = ["**Latest emergencies in this channel** (newest first, as the analyzer judged them):"]
    for number, analysis in enumerate(incidents, start=1):
        report = analysis.report
        category = (analysis.category or "unclassified").replace("_", " ")
        excerpt = report.text if len(report.text) <= EXCERPT_CHARS else report.text[:EXCERPT_CHARS - 1] + "…"
        excerpt = escape_mentions(escape_markdown(" ".join(excerpt.split())))
        link = report.metadata.get("jump_url", "")
        line = (f"{number}. **{category}** · {analysis.emergency_score:.0%} · <t:{int(report.created_at)}:R> · "
                f"{excerpt} {link}").rstrip()
        if sum(len(kept) + 1 for kept in lines) + len(line) > DISCORD_MAX_CHARS:
            break  # Discord refuses longer messages: the newest incidents are the ones kept
        lines.append(line)
    return "\n".join(lines)
