"""Feature routers, in the order the Dispatcher tries them (the fallback router comes last)."""

from __future__ import annotations

from aiogram import Router

from bot.telegram.routers import (
    channels,
    errors,
    fallback,
    groups,
    info,
    settings,
    staff,
    staff_guard,
    start,
    subscription,
)

ROUTERS: list[Router] = [
    groups.router,  # membership and migration first: service messages are not commands
    start.router,
    settings.router,
    subscription.router,
    info.router,
    # Staff routers: after the subscriber routers, before the fallback, so that a non-staff
    # user's staff command gets the fallback's "unknown command" answer (staff_guard counts
    # the refusal and passes it on).
    staff.router,
    channels.router,
    staff_guard.router,
    fallback.router,
    errors.router,  # error events only: failures the handlers above did not catch
]
