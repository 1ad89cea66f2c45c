"""The state a flow keeps between two messages, stored as JSON per person."""

from __future__ import annotations

import copy
from typing import Any

from bot.domain.agency import Person
from bot.i18n import tr
from bot.services.actions import action
from bot.services.desk import Desk, Option

State = dict[str, Any]


async def load(desk: Desk, person: Person, flow: str) -> State | None:
    """The person's state in `flow`, or None when they are elsewhere."""
    if person.id not in desk.conversations:  # one read per message, however many flows ask
        desk.conversations[person.id] = await desk.tx.conversations.get(person.id)
    found = desk.conversations[person.id]
    if found is None or found[0] != flow:
        return None
    return copy.deepcopy(found[1])  # a flow may change its copy without saving it


async def save(desk: Desk, person: Person, flow: str, state: State) -> State:
    """Store a new step; the token changes so that options of older steps go stale.

    A new flow does not start again at 1 (old buttons stay in the chat, and would match):
    tokens start above every message id so far, so no earlier step ever had them.
    """
    state["tok"] = max(int(state.get("tok", 0)), await desk.tx.outbox.last_id()) + 1
    await desk.tx.conversations.save(person.id, flow, state, desk.now)
    desk.conversations[person.id] = (flow, copy.deepcopy(state))
    return state


async def leave(desk: Desk, person: Person) -> None:
    """End whatever flow the person is in."""
    await desk.tx.conversations.end(person.id)
    desk.conversations[person.id] = None


def step_action(flow: str, state: State, *args: object) -> str:
    """An option's action, bound to this step of this flow."""
    return action(flow, state["tok"], *args)


def give_up_option(flow: str, state: State, lang: str) -> Option:
    """The 'give up' option every step offers."""
    return (tr(lang, "Give up"), step_action(flow, state, "x"))


async def pressed(
    desk: Desk, person: Person, flow: str, tok: str, args: tuple[str, ...]
) -> State | None:
    """The flow's state if a press belongs to its current step, else None (after saying so)."""
    state = await load(desk, person, flow)
    if state is None or str(state.get("tok")) != tok or not args:
        await desk.stale(person)
        return None
    return state
