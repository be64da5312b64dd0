"""A fake Telegram Bot API server on loopback, for tests that drive a real aiogram Bot.

aiogram talks to it over real HTTP via ``TelegramAPIServer.from_base(server.base_url)``;
nothing in aiogram is patched. Usage (the `fake_botapi` fixture gives a started server)::

    bot = fake_botapi.make_bot()
    await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
    assert fake_botapi.messages(42)[0].visible == "hi"

    fake_botapi.fail_chat(42, Faults.BLOCKED)          # 403 for chat 42 until cleared
    fake_botapi.fail_next(Faults.INTERNAL, "sendMessage", times=2)
    fake_botapi.storm_429(5.0, retry_after=37)          # every send gets 429 for 5 s
    fake_botapi.push_message(42, "/start")              # for getUpdates / polling

Accepted messages are recorded with their chat, text, parse mode, link preview options,
reply markup, message id and the monotonic time of acceptance. Rate limits follow
Telegram's FAQ (see RateLimits) and answer 429 with retry_after.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import pytest_asyncio
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from tests.fakes.botapi_faults import (
    ArmedFault,
    Delivery,
    Fault,
    Faults,
    RateLimiter,
    RateLimits,
    too_many_requests,
)
from tests.fakes.botapi_methods import ApiError, MethodsMixin, Params, SentMessage
from tests.fakes.botapi_updates import JSON, ChatType, MemberStatus, UpdateQueue

DEFAULT_TOKEN = "123456789:AAHfakeBotApiToken_0123456789-abcdefg"
# Methods that Telegram's flood control counts as sends.
SEND_METHODS = frozenset({"sendmessage", "sendphoto"})
# A 429 storm also hits edits, which Telegram floods separately but just as hard.
STORM_METHODS = SEND_METHODS | {"editmessagetext"}
NOT_FOUND = Fault(404, "Not Found")


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request the server answered (or dropped): method, decoded params, HTTP status."""

    method: str
    params: dict[str, Any]
    status: int  # 0: dropped or hung, no answer was sent
    at: float


@dataclass(slots=True)
class _Storm:
    until: float
    retry_after: int | None
    chat_id: int | None


class FakeBotAPI(MethodsMixin):
    """aiohttp server on 127.0.0.1 (free port) speaking the Bot API; an async context manager.

    `clock` (default time.monotonic) times rate limits, storms and the recorded
    `accepted_at`; pass a fake clock to test long retry_after values without sleeping.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(token, clock)
        self.token = token
        self.clock = clock
        self.limiter = RateLimiter(limits or RateLimits())
        self.call_log: list[ApiCall] = []
        self.updates = UpdateQueue(self.bot_user, self.next_message_id)
        self._method_faults: list[ArmedFault] = []
        self._chat_faults: dict[int, ArmedFault] = {}
        self._storms: list[_Storm] = []
        self._closing = asyncio.Event()
        self._bots: list[Bot] = []
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._poll_generation = 0

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 with a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)  # photos
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert isinstance(server, asyncio.base_events.Server)
        self._port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Close the bots from make_bot(), release hung requests and long polls, stop."""
        for bot in self._bots:
            await bot.session.close()
        self._closing.set()
        self.updates.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """The value for TelegramAPIServer.from_base(), e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self._port}"

    def make_bot(
        self, *, timeout: float | None = None, default: DefaultBotProperties | None = None
    ) -> Bot:
        """An aiogram Bot talking to this server; its session is closed by close()."""
        api = TelegramAPIServer.from_base(self.base_url)
        session = (
            AiohttpSession(api=api) if timeout is None else AiohttpSession(api=api, timeout=timeout)
        )
        bot = Bot(self.token, session=session, default=default)
        self._bots.append(bot)
        return bot

    # --- queries -----------------------------------------------------------------------

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Accepted messages (deleted ones included, flagged), oldest first."""
        return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every request answered so far, optionally of one method (case-insensitive)."""
        wanted = method.lower() if method else None
        return [c for c in self.call_log if wanted is None or c.method.lower() == wanted]

    # --- faults and limits -------------------------------------------------------------

    def fail_chat(self, chat_id: int, fault: Fault, times: int | None = None) -> None:
        """Every call aimed at `chat_id` fails with `fault` (`times` calls, or until cleared)."""
        self._chat_faults[chat_id] = ArmedFault(fault, times)

    def fail_next(self, fault: Fault, method: str | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` (None: any method) fail with `fault`.

        With a Dispatcher polling, method=None would also hit getUpdates: name the method.
        """
        self._method_faults.append(ArmedFault(fault, times, method.lower() if method else None))

    def storm_429(
        self, seconds: float, retry_after: int | None = None, chat_id: int | None = None
    ) -> None:
        """Answer every send (to `chat_id`, or any chat) with 429 for `seconds`.

        retry_after defaults to the seconds left in the storm, rounded up.
        """
        self._storms.append(_Storm(self.clock() + seconds, retry_after, chat_id))

    def clear_faults(self) -> None:
        """Remove every injected fault and storm."""
        self._method_faults.clear()
        self._chat_faults.clear()
        self._storms.clear()

    def set_rate_limits(self, limits: RateLimits) -> None:
        """Switch rate limits (RateLimits.disabled() for none) and forget spent capacity."""
        self.limiter.reset(limits)

    # --- update injection (see UpdateQueue for the details) ----------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        from_id: int | None = None,
        chat_type: ChatType | None = None,
        **kwargs: Any,
    ) -> JSON:
        """Queue an incoming message; see UpdateQueue.push_message."""
        return self.updates.push_message(chat_id, text, from_id, chat_type, **kwargs)

    def push_callback(
        self, chat_id: int, from_id: int, data: str, message_id: int | None = None
    ) -> JSON:
        """Queue a button press on the recorded bot message `message_id` (or a stub)."""
        message = None
        if message_id is not None:
            found = self.find_message(chat_id, message_id)
            if found is None:
                raise KeyError(f"no bot message {message_id} in chat {chat_id}")
            message = found.as_json(self.bot_user)
        return self.updates.push_callback(chat_id, from_id, data, message)

    def push_my_chat_member(
        self,
        chat_id: int,
        from_id: int,
        new_status: MemberStatus,
        old_status: MemberStatus = "member",
        chat_type: ChatType | None = None,
    ) -> JSON:
        """Queue a change of the bot's own membership; see UpdateQueue.push_my_chat_member."""
        return self.updates.push_my_chat_member(chat_id, from_id, new_status, old_status, chat_type)

    def push_migration(self, old_chat_id: int, new_chat_id: int, from_id: int) -> list[JSON]:
        """Queue both service messages of a group -> supergroup upgrade (old chat first)."""
        return self.updates.push_migration(old_chat_id, new_chat_id, from_id)

    # --- HTTP --------------------------------------------------------------------------

    def _pick_fault(self, method: str, chat_id: int | None) -> Fault | None:
        for armed in self._method_faults:
            if armed.matches(method):
                return armed.consume()
        if chat_id is not None:
            armed_chat = self._chat_faults.get(chat_id)
            if armed_chat is not None and armed_chat.matches(method):
                return armed_chat.consume()
            if method in STORM_METHODS:
                now = self.clock()
                for storm in self._storms:
                    if now < storm.until and storm.chat_id in {None, chat_id}:
                        wait = storm.retry_after or max(1, math.ceil(storm.until - now))
                        return too_many_requests(wait)
        return None

    def _answer(self, call: str, params: Params, status: int, body: JSON) -> web.Response:
        self.call_log.append(ApiCall(call, params.values, status, self.clock()))
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = request.match_info["method"]
        params = Params({}, {})
        try:
            params = await Params.read(request)
            return await self._dispatch(request, call, params)
        except ApiError as error:
            return self._answer(call, params, error.fault.status, error.fault.body())

    async def _dispatch(
        self, request: web.Request, call: str, params: Params
    ) -> web.StreamResponse:
        method = call.lower()  # Telegram's method names are case-insensitive
        if request.match_info["token"] != self.token:
            return self._answer(call, params, 401, Faults.UNAUTHORIZED.body())
        handler = self.handlers().get(method)
        if handler is None:
            return self._answer(call, params, 404, NOT_FOUND.body())
        chat_id = params.chat_id()
        fault = self._pick_fault(method, chat_id)
        if fault is not None and fault.delivery is Delivery.RESPOND:
            return self._answer(call, params, fault.status, fault.body())
        if method in SEND_METHODS and chat_id is not None:
            retry_after = self.limiter.retry_after(chat_id, self.clock())
            if retry_after:
                return self._answer(call, params, 429, too_many_requests(retry_after).body())
        result = await handler(params)
        if method in SEND_METHODS and chat_id is not None:
            self.limiter.spend(chat_id, self.clock())
        if fault is None:
            return self._answer(call, params, 200, {"ok": True, "result": result})
        # Delivered, but the client never learns it: the "uncertain send" of ADVERSARIAL 33.
        self.call_log.append(ApiCall(call, params.values, 0, self.clock()))
        if fault.delivery is Delivery.HANG:
            await self._closing.wait()
        if request.transport is not None:  # None: the client already gave up (timeout)
            request.transport.close()
        return web.Response(status=500)  # never reaches the client: the socket is closed

    def updates_callback_ids(self) -> set[str]:
        """Ids of the callback queries pushed so far."""
        return self.updates.callback_ids

    def drop_pending_updates(self) -> None:
        """Forget queued updates."""
        self.updates.clear()

    async def get_updates(self, params: Params) -> list[JSON]:
        """getUpdates: confirm by offset, wait up to `timeout` s; a newer poll ends this one."""
        return await self._long_poll(params)

    async def _long_poll(self, params: Params) -> list[JSON]:
        self.updates.confirm(params.get_int("offset") or 0)
        limit = min(max(params.get_int("limit") or 100, 1), 100)
        # Real time, not self.clock: a fake clock must not stretch or skip the long poll.
        deadline = time.monotonic() + float(params.get_int("timeout") or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self.updates.notify()  # an older long poll sees the newer generation and ends in 409
        while True:
            if generation != self._poll_generation:
                raise ApiError(Faults.CONFLICT)
            pending = self.updates.pending
            left = deadline - time.monotonic()
            if pending or left <= 0 or self._closing.is_set():
                return pending[:limit]
            await self.updates.wait_change(left)


@pytest_asyncio.fixture
async def fake_botapi() -> AsyncIterator[FakeBotAPI]:
    """A started FakeBotAPI with default rate limits; bots from make_bot() closed after."""
    async with FakeBotAPI() as server:
        yield server


__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "Delivery",
    "FakeBotAPI",
    "Fault",
    "Faults",
    "RateLimits",
    "SentMessage",
    "fake_botapi",
]
