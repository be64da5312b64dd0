"""JSON builders for the objects the fake Bot API server returns and pushes as updates.

The shapes follow the Bot API closely enough for aiogram's pydantic models to accept them
(required fields are all present), so handlers see what production would show them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal

JSON = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
MemberStatus = Literal["creator", "administrator", "member", "restricted", "left", "kicked"]

# Telegram's "GroupAnonymousBot": the sender of messages written by an anonymous admin.
ANONYMOUS_ADMIN_ID = 1087968824


def chat_type_for(chat_id: int) -> ChatType:
    """Guess the chat type from the id the way Telegram numbers chats."""
    if chat_id > 0:
        return "private"
    # Supergroups and channels live under -100...; briefbot never posts to channels.
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def user_json(user_id: int, *, is_bot: bool = False, username: str | None = None) -> JSON:
    """A User object with a predictable name."""
    if user_id == ANONYMOUS_ADMIN_ID:
        return {
            "id": user_id,
            "is_bot": True,
            "first_name": "Group",
            "username": "GroupAnonymousBot",
        }
    return {
        "id": user_id,
        "is_bot": is_bot,
        "first_name": f"User{user_id}",
        "username": username or f"user{user_id}",
        "language_code": "en",
    }


def chat_json(chat_id: int, chat_type: ChatType | None = None, title: str | None = None) -> JSON:
    """A Chat object; private chats carry the user's name, the others a title."""
    kind = chat_type or chat_type_for(chat_id)
    if kind == "private":
        return {
            "id": chat_id,
            "type": kind,
            "first_name": f"User{chat_id}",
            "username": f"user{chat_id}",
        }
    return {"id": chat_id, "type": kind, "title": title or f"Group {chat_id}"}


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)
_MEMBER_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def member_json(user: JSON, status: MemberStatus, *, is_anonymous: bool = False) -> JSON:
    """A ChatMember object of the given status with every field aiogram requires."""
    member: JSON = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = is_anonymous
    elif status == "administrator":
        member.update({"can_be_edited": False, "is_anonymous": is_anonymous})
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "restricted":
        member.update({"is_member": True, "until_date": 0})
        member.update(dict.fromkeys(_MEMBER_RIGHTS, False))
    elif status == "kicked":
        member["until_date"] = 0
    return member


def message_json(
    message_id: int,
    chat: JSON,
    sender: JSON | None,
    date: int,
    text: str | None = None,
    **extra: Any,
) -> JSON:
    """A Message object; `extra` adds fields verbatim (sender_chat, photo, caption...)."""
    message: JSON = {"message_id": message_id, "date": date, "chat": chat}
    if sender is not None:
        message["from"] = sender
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            # Telegram marks the leading command; aiogram's filters do not need it, but
            # handlers that read entities do.
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command)},
            ]
    message.update({key: value for key, value in extra.items() if value is not None})
    return message


class UpdateQueue:
    """Updates waiting for getUpdates, plus the push_* builders that fill the queue.

    `next_message_id(chat_id)` is shared with the server so that user and bot messages in
    one chat never share an id, as in Telegram.
    """

    def __init__(self, bot_user: JSON, next_message_id: Callable[[int], int]) -> None:
        self.bot_user = bot_user
        self._next_message_id = next_message_id
        self._pending: list[JSON] = []
        self._last_update_id = 100_000
        self._callback_serial = 0
        self.callback_ids: set[str] = set()
        self._changed = asyncio.Event()

    # --- queue -------------------------------------------------------------------------

    @property
    def pending(self) -> list[JSON]:
        """Updates not yet confirmed by an offset (a copy)."""
        return list(self._pending)

    def notify(self) -> None:
        """Wake every long poll (new update, newer poller, or shutdown)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, seconds: float) -> bool:
        """Wait for notify() at most `seconds`; True if it came."""
        try:
            await asyncio.wait_for(self._changed.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' offset: forget updates below it (negative: keep the last -offset)."""
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def clear(self) -> None:
        """Drop every pending update (deleteWebhook with drop_pending_updates)."""
        self._pending.clear()

    def push_update(self, payload: JSON) -> JSON:
        """Queue a raw update (everything but update_id); return it with its update_id."""
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **payload}
        self._pending.append(update)
        self.notify()
        return update

    # --- builders ----------------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        from_id: int | None = None,
        chat_type: ChatType | None = None,
        *,
        anonymous_admin: bool = False,
        reply_to: JSON | None = None,
        **extra: Any,
    ) -> JSON:
        """Queue a `message` update written by `from_id` (default: the private chat's user).

        `chat_type` is guessed from the id when omitted (positive: private, -100...:
        supergroup, other negative: group). `anonymous_admin=True` makes the sender
        GroupAnonymousBot with `sender_chat` = the group, as Telegram shows an anonymous
        admin.
        """
        chat = chat_json(chat_id, chat_type)
        if anonymous_admin:
            sender = user_json(ANONYMOUS_ADMIN_ID)
            extra["sender_chat"] = chat
        else:
            sender = user_json(from_id if from_id is not None else chat_id)
        message = message_json(
            self._next_message_id(chat_id),
            chat,
            sender,
            int(time.time()),
            text,
            reply_to_message=reply_to,
            **extra,
        )
        return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        from_id: int,
        data: str,
        message: JSON | None = None,
    ) -> JSON:
        """Queue a `callback_query` pressed on `message` (default: a bot message stub).

        The query id becomes valid for answerCallbackQuery.
        """
        self._callback_serial += 1
        query_id = f"{from_id}{self._callback_serial:06d}"
        self.callback_ids.add(query_id)
        if message is None:
            message = message_json(1, chat_json(chat_id), self.bot_user, int(time.time()), "…")
        query = {
            "id": query_id,
            "from": user_json(from_id),
            "message": message,
            "chat_instance": f"-{abs(chat_id)}77",
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def push_my_chat_member(
        self,
        chat_id: int,
        from_id: int,
        new_status: MemberStatus,
        old_status: MemberStatus = "member",
        chat_type: ChatType | None = None,
    ) -> JSON:
        """Queue a `my_chat_member` update: the bot's own status changed in `chat_id`.

        Private chat + "kicked" means the user blocked the bot; a group + "member" or
        "administrator" means the bot was added; "left"/"kicked" in a group, removed.
        """
        change = {
            "chat": chat_json(chat_id, chat_type),
            "from": user_json(from_id),
            "date": int(time.time()),
            "old_chat_member": member_json(self.bot_user, old_status),
            "new_chat_member": member_json(self.bot_user, new_status),
        }
        return self.push_update({"my_chat_member": change})

    def push_migration(self, old_chat_id: int, new_chat_id: int, from_id: int) -> list[JSON]:
        """Queue both service messages of a group -> supergroup upgrade (old chat first)."""
        now = int(time.time())
        old = message_json(
            self._next_message_id(old_chat_id),
            chat_json(old_chat_id, "group"),
            user_json(from_id),
            now,
            migrate_to_chat_id=new_chat_id,
        )
        new = message_json(
            self._next_message_id(new_chat_id),
            chat_json(new_chat_id, "supergroup"),
            user_json(ANONYMOUS_ADMIN_ID),
            now,
            sender_chat=chat_json(new_chat_id, "supergroup"),
            migrate_from_chat_id=old_chat_id,
        )
        return [self.push_update({"message": old}), self.push_update({"message": new})]
