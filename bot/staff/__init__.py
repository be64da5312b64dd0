"""What staff commands do, apart from Telegram: validate, change, audit (one transaction each).

The Telegram routers (bot/telegram/routers/staff*.py, channels.py) parse a command, call one
function here and format the result; `briefbot config export` reads the same state.
"""

from __future__ import annotations

from bot.errors import BriefbotError


class StaffError(BriefbotError):
    """A staff request that cannot be carried out; `code` picks the reply, `params` fill it."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
