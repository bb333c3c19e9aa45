"""Which Discord messages become reports, and how."""

from __future__ import annotations

import discord

from fogverse.contracts import MAX_TEXT_CHARS, Report


def watched(message: discord.Message, channel_ids: frozenset[int], read_dms: bool = False) -> bool:
    """In an allow-listed channel (a thread counts as its parent's); an empty list watches every
    server channel. Direct messages only with ``read_dms``: anyone can write to a bot directly."""
    if message.guild is None:
        return read_dms
    if not channel_ids:
        return True
    channel = message.channel
    return channel.id in channel_ids or getattr(channel, "parent_id", None) in channel_ids


def from_people(message: discord.Message, me: discord.abc.User | None) -> bool:
    """Written by a person: not a bot (this one included), not a join or pin notice."""
    if message.author.bot or message.is_system():
        return False
    return me is None or message.author.id != me.id


def report_from_message(message: discord.Message) -> Report | None:
    """The report for a message, or None when it has no text (attachments or stickers only)."""
    # mentions as names ("<@1234>" means nothing to the models); clean_content's zero-width
    # spaces against pings are dropped again, since the text is never posted back as it is
    full_text = message.clean_content.replace("@\u200b", "@")
    text, truncated = full_text[:MAX_TEXT_CHARS], len(full_text) > MAX_TEXT_CHARS
    if not text.strip():
        return None
    metadata = {
        "message_id": str(message.id),
        "author_name": message.author.display_name,
        "jump_url": message.jump_url,
    }
    if message.guild is not None:
        metadata["guild_id"] = str(message.guild.id)
    channel_name = getattr(message.channel, "name", None)
    if channel_name:
        metadata["channel_name"] = channel_name
    if truncated:
        metadata["truncated"] = "true"  # keep the start and say so: a cut text may read differently
    return Report(
        id=f"discord-{message.id}", text=text, source="discord",
        author_id=str(message.author.id), channel_id=str(message.channel.id), metadata=metadata,
        created_at=message.created_at.timestamp(), reply_to=_replied(message),
    )


def _replied(message: discord.Message) -> str | None:
    """The report id of the message this one replies to in its channel ("masih ada yg kejebak?" under a
    fire report is about that fire): the notifier puts a reply in the incident of what it answers."""
    reference = message.reference
    if (reference is None or reference.message_id is None or reference.type != discord.MessageReferenceType.reply
            or reference.channel_id != message.channel.id):
        return None  # a forward, a pin notice's link or a cross-post is no reply
    return f"discord-{reference.message_id}"
