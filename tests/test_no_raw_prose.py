"""Prose in one place (issue 11, point 3): services, flows and handlers say what to tell whom
as notices (Desk.tell / notify / notify_staff), which the one renderer writes in each
recipient's language. This scan of bot/ fails when a message is composed by hand and sent
raw: `desk.send(...)` or `desk.tell_staff(compose)` outside the renderer.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = frozenset({"send", "tell_staff"})
# Where Desk itself sends: the renderer's own low-level send (notify).
RENDERER = {"bot/services/desk.py:Desk.notify"}


def raw_sends() -> Counter[str]:
    """'path:Class.function' -> how many raw sends it makes, over every module of bot/."""
    found: Counter[str] = Counter()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        found.update(_sends_in(name, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _sends_in(name: str, tree: ast.AST) -> list[str]:
    out: list[str] = []

    def visit(node: ast.AST, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = [*scope, child.name]
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr in RAW
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id in ("desk", "self")
            ):
                where = f"{name}:{'.'.join(_outer(scope))}"
                if where not in RENDERER and (child.func.value.id == "desk" or "Desk" in scope):
                    out.append(where)
            visit(child, inner)

    visit(tree, [])
    return out


def _outer(scope: list[str]) -> list[str]:
    """The enclosing class and function (a nested helper counts as its outer function)."""
    if scope and scope[0][:1].isupper():
        return scope[:2]
    return scope[:1]


def test_no_raw_prose_send() -> None:
    found = raw_sends()
    assert not found, f"send a notice (desk.tell / notify / notify_staff) instead: {found}"


def test_the_scan_sees_a_raw_send_and_lets_notices_through() -> None:
    source = (
        "async def f(desk, person):\n"
        "    await desk.send(person, tr(desk.lang(person), 'Hello'))\n"
        "    await desk.tell(person, 'Hello')\n"
        "    def compose(lang, _):\n"
        "        return tr(lang, 'Hi')\n"
        "    await desk.tell_staff(compose)\n"
        "class Desk:\n"
        "    async def stale(self, person):\n"
        "        await self.send(person, 'x')\n"
    )
    assert _sends_in("bot/x.py", ast.parse(source)) == [
        "bot/x.py:f",
        "bot/x.py:f",
        "bot/x.py:Desk.stale",
    ]
