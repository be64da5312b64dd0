"""The Bot API methods of the fake server: request decoding, validation, recording.

Validation mirrors what Telegram refuses and briefbot must cope with: empty or too long
text (counted after entity parsing), bad HTML, captions over 1024, edits of unknown or
unchanged messages, stale callback queries.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.botapi_faults import Fault
from tests.fakes.botapi_html import EntityParseError, telegram_length, visible_text
from tests.fakes.botapi_updates import (
    JSON,
    MemberStatus,
    chat_json,
    chat_type_for,
    member_json,
    message_json,
    user_json,
)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
# aiogram sends nested objects as JSON strings inside the form.
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "entities",
        "caption_entities",
        "commands",
        "allowed_updates",
        "reply_parameters",
        "scope",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """Raised by a method to answer with `fault` (an error status and description)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.description)
        self.fault = fault


def bad_request(description: str) -> ApiError:
    """A 400 "Bad Request: ..." error."""
    return ApiError(Fault(400, f"Bad Request: {description}"))


@dataclass(slots=True)
class Params:
    """Decoded request parameters (query, form or JSON body) and uploaded files."""

    values: dict[str, Any]
    files: dict[str, bytes]

    @classmethod
    async def read(cls, request: web.Request) -> Params:
        """Decode the request the way Telegram accepts it (GET query, form, multipart, JSON)."""
        values: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if isinstance(body, dict):
                values.update(body)
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    values[key] = value
        for key in JSON_FIELDS & values.keys():
            if isinstance(values[key], str):
                try:
                    values[key] = json.loads(values[key])
                except ValueError:
                    raise bad_request(f"can't parse {key} JSON object") from None
        return cls(values, files)

    def get_str(self, key: str) -> str | None:
        """A text parameter, or None when absent."""
        value = self.values.get(key)
        return None if value is None else str(value)

    def get_int(self, key: str) -> int | None:
        """An integer parameter, or None when absent; 400 when not a number."""
        value = self.values.get(key)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {key} specified") from None

    def get_bool(self, key: str) -> bool:
        """A boolean parameter (aiogram sends "true"; absent means false)."""
        return self.values.get(key) in {True, "true", "True", "1"}

    def get_json(self, key: str) -> Any:
        """A nested object parameter (already decoded from JSON)."""
        return self.values.get(key)

    def chat_id(self) -> int | None:
        """The numeric chat_id, None when absent or a @username (unknown here)."""
        value = self.values.get("chat_id")
        if value is None or (isinstance(value, str) and value.startswith("@")):
            return None
        return self.get_int("chat_id")


@dataclass(slots=True)
class SentMessage:
    """A message the server accepted (it would be visible in the chat)."""

    chat_id: int
    message_id: int
    method: str  # "sendMessage" or "sendPhoto"
    text: str | None  # as sent, markup included
    caption: str | None
    parse_mode: str | None
    visible: str  # text or caption as the recipient sees it
    link_preview_options: JSON | None
    reply_markup: JSON | None
    accepted_at: float  # server clock (monotonic by default)
    date: int
    photo_size: int | None = None  # bytes of an uploaded photo
    photo_ref: str | None = None  # file_id or URL when the photo was not uploaded
    params: dict[str, Any] = field(default_factory=dict)
    edits: list[str] = field(default_factory=list)  # earlier texts, oldest first
    deleted: bool = False

    def as_json(self, bot_user: JSON) -> JSON:
        """The Message object Telegram returns for this message."""
        extra: JSON = {"reply_markup": self.reply_markup}
        if self.method == "sendPhoto":
            extra["caption"] = self.visible or None
            extra["photo"] = [
                {
                    "file_id": f"AgAC{self.chat_id}_{self.message_id}",
                    "file_unique_id": f"AQAD{self.message_id}",
                    "width": 320,
                    "height": 240,
                    "file_size": self.photo_size or 0,
                },
            ]
        text = self.visible if self.method == "sendMessage" else None
        return message_json(
            self.message_id, chat_json(self.chat_id), bot_user, self.date, text, **extra
        )


def _checked(text: str | None, parse_mode: str | None, limit: int, what: str) -> str:
    """Visible text after entity parsing, or the 400 Telegram gives."""
    if parse_mode is not None and parse_mode.lower() not in PARSE_MODES:
        raise bad_request("unsupported parse_mode")
    try:
        visible = visible_text(text or "", parse_mode)
    except EntityParseError as error:
        raise bad_request(f"can't parse entities: {error}") from None
    if not visible and what == "message":
        raise bad_request("message text is empty")
    if telegram_length(visible) > limit:
        raise bad_request(f"{what} is too long")
    return visible


def _preview_options(params: Params) -> JSON | None:
    options = params.get_json("link_preview_options")
    if isinstance(options, dict):
        return options
    # The pre-7.0 spelling, still accepted by Telegram.
    return {"is_disabled": True} if params.get_bool("disable_web_page_preview") else None


class MethodsMixin:
    """The method handlers; FakeBotAPI supplies HTTP, faults and limits around them."""

    def __init__(self, token: str, clock: Callable[[], float]) -> None:
        self.bot_user: JSON = {
            **user_json(int(token.split(":", 1)[0]), is_bot=True, username="briefbot_test_bot"),
            "first_name": "Briefbot Test",
            "can_join_groups": True,
            "can_read_all_group_messages": False,  # privacy mode on (REFERENCE.md)
            "supports_inline_queries": False,
        }
        self.bot_user.pop("language_code", None)
        self.sent: list[SentMessage] = []
        self.my_commands: dict[str, list[JSON]] = {}  # by scope type, e.g. "default"
        self.left_chats: list[int] = []
        self.answered_callbacks: list[dict[str, Any]] = []
        self.webhook_deletions = 0
        self.webhook: dict[str, Any] | None = None  # the last setWebhook's url and secret_token
        # setMyCommands by (scope type, language code or ""), next to `my_commands` by scope.
        self.my_commands_by_language: dict[tuple[str, str], list[JSON]] = {}
        self._members: dict[tuple[int, int], JSON] = {}
        self._message_ids: dict[int, int] = {}
        self._method_clock = clock

    def next_message_id(self, chat_id: int) -> int:
        """Allocate the next message id in `chat_id` (ids are per chat, from 1)."""
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def find_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """A recorded, not deleted bot message."""
        for message in self.sent:
            if (message.chat_id, message.message_id) == (chat_id, message_id):
                return None if message.deleted else message
        return None

    def set_member(
        self, chat_id: int, user_id: int, status: MemberStatus, *, is_anonymous: bool = False
    ) -> None:
        """Declare `user_id`'s status in `chat_id` for getChatMember/getChatAdministrators.

        Undeclared users are "member"s, matching a user who just wrote in the group.
        """
        user = self.bot_user if user_id == self.bot_user["id"] else user_json(user_id)
        self._members[(chat_id, user_id)] = member_json(user, status, is_anonymous=is_anonymous)

    def handlers(self) -> dict[str, Callable[[Params], Awaitable[Any]]]:
        """Lower-case method name -> handler."""
        return {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "sendphoto": self.send_photo,
            "editmessagetext": self.edit_message_text,
            "answercallbackquery": self.answer_callback_query,
            "setmycommands": self.set_my_commands,
            "deletewebhook": self.delete_webhook,
            "setwebhook": self.set_webhook,
            "getchatmember": self.get_chat_member,
            "getchatadministrators": self.get_chat_administrators,
            "leavechat": self.leave_chat,
            "deletemessage": self.delete_message,
        }

    def _require_chat(self, params: Params) -> int:
        if params.get_str("chat_id") is None:
            raise bad_request("chat_id is empty")
        chat_id = params.chat_id()
        if chat_id is None:
            raise bad_request("chat not found")
        return chat_id

    async def get_me(self, params: Params) -> JSON:
        """getMe: the bot's own User."""
        return self.bot_user

    async def get_updates(self, params: Params) -> list[JSON]:
        """getUpdates: implemented by the server (it needs the long-poll machinery)."""
        raise NotImplementedError

    def _record(self, method: str, chat_id: int, params: Params, visible: str) -> SentMessage:
        message = SentMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            method=method,
            text=params.get_str("text"),
            caption=params.get_str("caption"),
            parse_mode=params.get_str("parse_mode"),
            visible=visible,
            link_preview_options=_preview_options(params),
            reply_markup=params.get_json("reply_markup"),
            accepted_at=self._method_clock(),
            date=int(time.time()),
            params=dict(params.values),
        )
        self.sent.append(message)
        return message

    async def send_message(self, params: Params) -> JSON:
        """sendMessage: validate like Telegram, record, return the Message."""
        chat_id = self._require_chat(params)
        text = params.get_str("text")
        visible = _checked(text, params.get_str("parse_mode"), TEXT_LIMIT, "message")
        return self._record("sendMessage", chat_id, params, visible).as_json(self.bot_user)

    async def send_photo(self, params: Params) -> JSON:
        """sendPhoto: an uploaded file (its byte size is kept) or a file_id/URL, with caption."""
        chat_id = self._require_chat(params)
        photo = params.get_str("photo")
        if not photo:
            raise bad_request("there is no photo in the request")
        upload = params.files.get(photo.removeprefix("attach://"))
        if photo.startswith("attach://") and upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption = params.get_str("caption")
        visible = _checked(caption, params.get_str("parse_mode"), CAPTION_LIMIT, "message caption")
        message = self._record("sendPhoto", chat_id, params, visible)
        if upload is not None:
            message.photo_size = len(upload)
        else:
            message.photo_ref = photo
        return message.as_json(self.bot_user)

    async def edit_message_text(self, params: Params) -> JSON:
        """editMessageText of a recorded message; the old text goes to `edits`."""
        chat_id = self._require_chat(params)
        message = self.find_message(chat_id, params.get_int("message_id") or 0)
        if message is None or message.method != "sendMessage":
            raise bad_request("message to edit not found")
        text = params.get_str("text")
        visible = _checked(text, params.get_str("parse_mode"), TEXT_LIMIT, "message")
        markup = params.get_json("reply_markup")
        if visible == message.visible and markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.edits.append(message.text or "")
        message.text, message.visible, message.reply_markup = text, visible, markup
        message.parse_mode = params.get_str("parse_mode")
        return {**message.as_json(self.bot_user), "edit_date": int(time.time())}

    async def answer_callback_query(self, params: Params) -> bool:
        """answerCallbackQuery: only for a pushed, not yet answered query."""
        query_id = params.get_str("callback_query_id")
        answered = {a.get("callback_query_id") for a in self.answered_callbacks}
        if query_id not in self.updates_callback_ids() or query_id in answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.answered_callbacks.append(dict(params.values))
        return True

    def updates_callback_ids(self) -> set[str]:
        """Ids of callback queries pushed so far (the server's update queue knows them)."""
        return set()

    async def set_my_commands(self, params: Params) -> bool:
        """setMyCommands: stored per scope type; invalid names are refused as by Telegram."""
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise bad_request('field "commands" must be an Array')
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get_json("scope")
        kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
        self.my_commands[kind] = commands
        self.my_commands_by_language[(kind, params.get_str("language_code") or "")] = commands
        return True

    async def set_webhook(self, params: Params) -> bool:
        """setWebhook: remembered, never called (tests post updates to the bot themselves)."""
        self.webhook = {
            "url": params.get_str("url"),
            "secret_token": params.get_str("secret_token"),
        }
        return True

    async def delete_webhook(self, params: Params) -> bool:
        """deleteWebhook: there is never a webhook; may drop pending updates."""
        self.webhook_deletions += 1
        if params.get_bool("drop_pending_updates"):
            self.drop_pending_updates()
        return True

    def drop_pending_updates(self) -> None:
        """Forget queued updates (the server's update queue does it)."""

    async def get_chat_member(self, params: Params) -> JSON:
        """getChatMember: the status declared by set_member(), else "member"."""
        chat_id = self._require_chat(params)
        user_id = params.get_int("user_id")
        if user_id is None:
            raise bad_request("invalid user_id specified")
        declared = self._members.get((chat_id, user_id))
        if declared is not None:
            return declared
        user = self.bot_user if user_id == self.bot_user["id"] else user_json(user_id)
        return member_json(user, "member")

    async def get_chat_administrators(self, params: Params) -> list[JSON]:
        """getChatAdministrators: the creator and administrators declared by set_member()."""
        chat_id = self._require_chat(params)
        if chat_type_for(chat_id) == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            member
            for (chat, _), member in self._members.items()
            if chat == chat_id and member["status"] in {"creator", "administrator"}
        ]

    async def leave_chat(self, params: Params) -> bool:
        """leaveChat: recorded in `left_chats`."""
        self.left_chats.append(self._require_chat(params))
        return True

    async def delete_message(self, params: Params) -> bool:
        """deleteMessage of a recorded bot message (kept in messages(), flagged deleted)."""
        chat_id = self._require_chat(params)
        message = self.find_message(chat_id, params.get_int("message_id") or 0)
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True
        return True
