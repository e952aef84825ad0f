"""Messages through the Slack stand-in: `chat.*` and `conversations.*`, with the per-channel rate limit."""

from __future__ import annotations

import math
from typing import Any

from tests.standins.slack_records import (
    Reply,
    SlackWorkspace,
    TokenOwner,
    error_reply,
    maybe_json,
    ok_reply,
)
from tests.standins.slack_state import SlackStandInState

__all__ = ["SlackMessagingMethods"]


class SlackMessagingMethods(SlackStandInState):
    """Posting, updating, linking to and reading back messages, and the channels they live in."""

    def _rate_limited(self, channel: str) -> Reply | None:
        """ "Next allowed time" per channel: one accepted post per 1/rate seconds."""
        if not self.rate_per_channel_per_s:
            return None
        now = self._clock()
        next_allowed = self._next_allowed_post.get(channel)
        if next_allowed is not None and now < next_allowed:
            retry_after = max(1, math.ceil(next_allowed - now))
            return Reply(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        self._next_allowed_post[channel] = now + 1.0 / self.rate_per_channel_per_s
        return None

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self._messages:
            if message["channel"] == channel and message["ts"] == ts:
                return message
        return None

    def _permalink(self, workspace: SlackWorkspace, channel: str, ts: str, thread_ts: str | None) -> str:
        link = f"{workspace.url}archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link

    def _chat_post_message(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        channel = self._resolve_channel(str(params.get("channel", "")))
        if (error := self._channel_error(channel)) is not None:
            return error
        text, blocks = params.get("text"), maybe_json(params.get("blocks"))
        if not text and not blocks and not params.get("attachments"):
            return error_reply("no_text")
        if (limited := self._rate_limited(channel)) is not None:
            return limited
        ts = self._next_ts()
        thread_ts = params.get("thread_ts") or None
        message = {
            "channel": channel,
            "text": text or "",
            "blocks": blocks,
            "ts": ts,
            "thread_ts": str(thread_ts) if thread_ts else None,
            "accepted_at": self._clock(),
            "metadata": maybe_json(params.get("metadata")) or None,
        }
        self._messages.append(message)
        wire_message: dict[str, Any] = {
            "type": "message",
            "text": message["text"],
            "user": owner.workspace.bot_user_id,
            "bot_id": owner.workspace.bot_id,
            "ts": ts,
        }
        if blocks:
            wire_message["blocks"] = blocks
        if thread_ts:
            wire_message["thread_ts"] = str(thread_ts)
        return ok_reply(channel=channel, ts=ts, message=wire_message)

    def _chat_post_ephemeral(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        channel = self._resolve_channel(str(params.get("channel", "")))
        if (error := self._channel_error(channel)) is not None:
            return error
        if not params.get("user"):
            return error_reply("user_not_found")
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel,
                "user": params["user"],
                "text": params.get("text") or "",
                "blocks": maybe_json(params.get("blocks")),
                "ts": ts,
            }
        )
        return ok_reply(message_ts=ts)

    def _chat_update(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        channel = str(params.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return error
        message = self._find_message(channel, str(params.get("ts", "")))
        if message is None:
            return error_reply("message_not_found")
        if "text" in params:
            message["text"] = params["text"] or ""
        if "blocks" in params:
            message["blocks"] = maybe_json(params["blocks"])
        return ok_reply(
            channel=channel,
            ts=message["ts"],
            text=message["text"],
            message={"text": message["text"], "blocks": message["blocks"]},
        )

    def _chat_get_permalink(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        channel = str(params.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return error
        message_ts = str(params.get("message_ts", ""))
        message = self._find_message(channel, message_ts)
        if message is None and (channel, message_ts) in self.user_messages:
            message = {"ts": message_ts, "thread_ts": None}
        if message is None:
            return error_reply("message_not_found")
        permalink = self._permalink(owner.workspace, channel, message["ts"], message["thread_ts"])
        return ok_reply(channel=channel, permalink=permalink)

    def _conversations_info(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        channel = str(params.get("channel", ""))
        if not channel or channel in self.missing_channels:
            return error_reply("channel_not_found")
        is_im = channel.startswith("D")
        return ok_reply(
            channel={
                "id": channel,
                "name": self.channel_names.get(channel, channel.lower()),
                "is_channel": not is_im,
                "is_im": is_im,
                "is_private": channel.startswith("G"),
                "is_archived": False,
                "is_member": channel not in self.not_in_channels,
            }
        )

    def _conversations_history(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        """Messages posted here, newest first, between ``oldest`` and ``latest`` (exclusive, as Slack).

        Message ``metadata`` is returned only with ``include_all_metadata``, as Slack does; pages
        follow ``limit`` and an opaque ``cursor``.
        """
        assert owner is not None
        channel = str(params.get("channel", ""))
        if (error := self._channel_error(channel)) is not None:
            return error
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or math.inf)
        limit = max(1, min(int(params.get("limit") or 100), 999))
        offset = int(params.get("cursor") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in {"1", "true"}
        found = [
            m
            for m in reversed(self._messages)
            if m["channel"] == channel and oldest < float(m["ts"]) < latest and not m["thread_ts"]
        ]
        page = found[offset : offset + limit]
        wire: list[dict[str, Any]] = []
        for message in page:
            item: dict[str, Any] = {
                "type": "message",
                "text": message["text"],
                "user": owner.workspace.bot_user_id,
                "bot_id": owner.workspace.bot_id,
                "ts": message["ts"],
            }
            if message["blocks"]:
                item["blocks"] = message["blocks"]
            if message.get("files"):
                item["files"] = message["files"]
            if with_metadata and message.get("metadata"):
                item["metadata"] = message["metadata"]
            wire.append(item)
        has_more = offset + limit < len(found)
        return ok_reply(
            messages=wire,
            has_more=has_more,
            response_metadata={"next_cursor": str(offset + limit) if has_more else ""},
        )

    def _conversations_open(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        if params.get("channel"):
            return ok_reply(channel={"id": str(params["channel"])})
        users = [u.strip() for u in str(params.get("users", "")).split(",") if u.strip()]
        if not users:
            return error_reply("users_list_not_supplied")
        if len(users) > 8:
            return error_reply("too_many_users")
        if len(users) == 1:
            channel_id = self._dm_channel_id(users[0])
        else:
            channel_id = "G" + "".join(sorted(u[1:] for u in users))[:20]
        return ok_reply(channel={"id": channel_id})
