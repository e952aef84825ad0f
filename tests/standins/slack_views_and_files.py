"""App Home, modals and file uploads through the Slack stand-in: `views.*` and `files.*`."""

from __future__ import annotations

import time
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.standins.slack_records import Reply, TokenOwner, error_reply, maybe_json, ok_reply
from tests.standins.slack_state import SlackStandInState

__all__ = ["SlackViewsAndFilesMethods"]


class SlackViewsAndFilesMethods(SlackStandInState):
    """Views published or opened, and files uploaded to the URL handed out, then shared in a channel."""

    def _upload(self, request: Request) -> Response:
        """The upload URL `files.getUploadURLExternal` hands out: the raw body is the file."""
        file_id = request.path.removeprefix("/upload/")
        content = request.get_data()
        with self._lock:
            pending = self._pending_uploads.get(file_id)
            if request.method != "POST" or pending is None:
                return Response("not_found", status=404, mimetype="text/plain")
            pending["content"] = content.decode("utf-8", errors="replace")
        return Response("OK - " + str(len(content)), status=200, mimetype="text/plain")

    def _store_view(self, view: Any, owner: TokenOwner, view_id: str | None = None) -> dict[str, Any]:
        parsed = maybe_json(view)
        if not isinstance(parsed, dict):
            parsed = {}
        if view_id is None:
            self._view_counter += 1
            view_id = f"V{self._view_counter:08d}"
        return {
            **parsed,
            "id": view_id,
            "team_id": owner.workspace.team_id,
            "app_id": owner.workspace.app_id,
            "bot_id": owner.workspace.bot_id,
            "hash": f"{int(time.time())}.{self._view_counter:08d}",
        }

    def _views_publish(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        user_id = str(params.get("user_id", ""))
        view = maybe_json(params.get("view"))
        if not user_id:
            return error_reply("invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "home":
            return error_reply("invalid_arguments")
        stored = self._store_view(view, owner)
        self._home_views[user_id] = stored
        return ok_reply(view=stored)

    def _views_open(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        view = maybe_json(params.get("view"))
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            return error_reply("invalid_arguments")
        if not isinstance(view, dict):
            return error_reply("invalid_arguments")
        stored = self._store_view(view, owner)
        self._modal_views[stored["id"]] = stored
        return ok_reply(view=stored)

    def _views_update(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        assert owner is not None
        view = maybe_json(params.get("view"))
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        if not view_id and external_id:
            matching = (v["id"] for v in self._modal_views.values() if v.get("external_id") == external_id)
            view_id = next(matching, None)
        if not view_id or view_id not in self._modal_views:
            return error_reply("not_found")
        stored = self._store_view(view, owner, view_id=str(view_id))
        self._modal_views[stored["id"]] = stored
        return ok_reply(view=stored)

    def _files_get_upload_url(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return error_reply("invalid_arguments")
        file_id = f"F{len(self._files) + len(self._pending_uploads) + 1:08d}"
        self._pending_uploads[file_id] = {"id": file_id, "name": str(params["filename"]), "content": None}
        return ok_reply(upload_url=f"{self.url}/upload/{file_id}", file_id=file_id)

    def _files_complete_upload(self, params: dict[str, Any], owner: TokenOwner | None) -> Reply:
        """Share uploaded files in ``channel_id`` as one message (with ``initial_comment``), as Slack does."""
        files = maybe_json(params.get("files"))
        if not isinstance(files, list) or not files:
            return error_reply("invalid_arguments")
        pending = [self._pending_uploads.get(str(f.get("id"))) for f in files if isinstance(f, dict)]
        if len(pending) != len(files) or any(p is None or p["content"] is None for p in pending):
            return error_reply("file_not_found")
        channel = self._resolve_channel(str(params.get("channel_id") or ""))
        if channel and (error := self._channel_error(channel)) is not None:
            return error
        shared = []
        for item, upload in zip(files, pending, strict=True):
            assert upload is not None
            del self._pending_uploads[upload["id"]]
            title = str(item.get("title") or upload["name"])
            self._files.append({**upload, "title": title, "channel": channel or None})
            shared.append({"id": upload["id"], "name": upload["name"], "title": title})
        if channel:
            self._messages.append(
                {
                    "channel": channel,
                    "text": str(params.get("initial_comment") or ""),
                    "blocks": None,
                    "ts": self._next_ts(),
                    "thread_ts": None,
                    "accepted_at": self._clock(),
                    "metadata": None,
                    "files": shared,
                }
            )
        return ok_reply(files=shared)
