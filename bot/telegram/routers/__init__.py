"""Feature routers, in the order the Dispatcher tries them (the fallback router comes last)."""

from __future__ import annotations

from aiogram import Router

ROUTERS: list[Router] = []
