"""The console's pages (Starlette routes under /console, Jinja2 templates, htmx)."""

from __future__ import annotations

import hmac
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.app import Carebot
from bot.app.console import weekdays
from bot.domain.agency import Staff
from bot.domain.errors import NotFound
from bot.handlers.export import write_ledger
from bot.handlers.webconsole import sessions
from bot.i18n import normalize_language, tr
from bot.nlu.hours import HoursChange
from bot.services.console_links import ConsoleLinks

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SAFE = frozenset({"GET", "HEAD"})


MAX_FORM = 16_384  # bytes: the console's forms are a few fields


async def form_of(request: Request) -> dict[str, str]:
    """A url-encoded form's fields (the first value of each); the console posts nothing else."""
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True)
class Visit:
    """One request to a console page: the session, and the staff member once signed in."""

    request: Request
    session: sessions.Session
    staff: Staff | None
    lang: str


Page = Callable[[Visit], Awaitable[Response]]


class Console:
    """The console's routes over one bot; `links` signs links and sessions alike."""

    def __init__(self, bot: Carebot, links: ConsoleLinks) -> None:
        self.bot = bot
        self.links = links
        self.secure = links.base_url.startswith("https://")
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            enable_async=False,
        )

    def routes(self) -> list[BaseRoute]:
        """Every console route, to mount in the app of `carebot run`."""
        staff = self._staff_only
        return [
            Route("/console", staff(self.week)),
            Route("/console/signin", self._open(self.signin_page)),
            Route("/console/signin", self._open(self.signin), methods=["POST"]),
            Route("/console/signout", self._open(self.signout), methods=["POST"]),
            Route("/console/inbox", staff(self.inbox)),
            Route("/console/inbox/act", staff(self.act), methods=["POST"]),
            Route("/console/members/{member_id}", staff(self.member)),
            Route("/console/members/{member_id}/payment", staff(self.payment), methods=["POST"]),
            Route("/console/providers/{provider_id}", staff(self.provider)),
            Route("/console/providers/{provider_id}/hours", staff(self.hours), methods=["POST"]),
            Route("/console/search", staff(self.search)),
            Route("/console/export.csv", staff(self.export)),
            Mount("/console/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    # --- sessions, CSRF, staff only --------------------------------------------------------

    async def _visit(self, request: Request) -> Visit:
        now = self.bot.clock.now()
        session = sessions.read(self.links.secret, request.cookies.get(sessions.COOKIE), now)
        session = (session or sessions.Session.anonymous(now)).touched(now)
        staff, lang = None, "en"
        if session.staff_id:
            found = await self.bot.console_staff(session.staff_id)
            if found is None:  # removed from the roster since: signed out
                session = sessions.Session.anonymous(now)
            else:
                staff, lang = found
        if staff is None:
            lang = normalize_language(request.headers.get("accept-language"), "en")
        return Visit(request, session, staff, lang)

    def _keep(self, response: Response, session: sessions.Session) -> Response:
        response.set_cookie(
            sessions.COOKIE,
            sessions.write(self.links.secret, session),
            max_age=int(sessions.IDLE.total_seconds()),
            path="/console",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _csrf_ok(self, visit: Visit) -> bool:
        if visit.request.method in SAFE:
            return True
        sent = visit.request.headers.get("x-csrf-token")
        if sent is None:
            sent = (await form_of(visit.request)).get("csrf")
        return sent is not None and hmac.compare_digest(sent, visit.session.csrf)

    def _open(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        """A page for anyone (the sign-in); forms still need the CSRF token."""

        async def endpoint(request: Request) -> Response:
            visit = await self._visit(request)
            if not await self._csrf_ok(visit):
                return self._keep(self._refused(visit, 403), visit.session)
            response = await page(visit)
            return (
                self._keep(response, visit.session) if response.status_code != 303 else (response)
            )

        return endpoint

    def _staff_only(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in staff only; anyone else is told how to sign in."""

        async def endpoint(request: Request) -> Response:
            visit = await self._visit(request)
            if visit.staff is None:
                return self._keep(self._signed_out(visit), visit.session)
            if not await self._csrf_ok(visit):
                return self._keep(self._refused(visit, 403), visit.session)
            try:
                response = await page(visit)
            except NotFound:
                response = self.render(
                    visit, "message.html", status=404, message=tr(visit.lang, "Nobody by that id.")
                )
            return self._keep(response, visit.session)

        return endpoint

    def render(self, visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
        """A page in the visitor's language."""
        lang = visit.lang

        def translate(message: str, **params: object) -> str:
            return tr(lang, message, **params)

        html = self.env.get_template(template).render(
            _=translate,
            lang=lang,
            staff=visit.staff,
            csrf=visit.session.csrf,
            path=visit.request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def _signed_out(self, visit: Visit) -> Response:
        return self.render(
            visit,
            "message.html",
            status=401,
            message=tr(
                visit.lang,
                'Only agency staff can open the console. Write "/console" to the bot to '
                "receive a sign-in link.",
            ),
        )

    def _refused(self, visit: Visit, status: int) -> Response:
        return self.render(
            visit,
            "message.html",
            status=status,
            message=tr(visit.lang, "This form has expired. Reload the page and try again."),
        )

    # --- sign-in ---------------------------------------------------------------------------

    async def signin_page(self, visit: Visit) -> Response:
        """The page a link opens: a button, so that a chat app's preview does not use it up."""
        token = visit.request.query_params.get("t", "")
        valid = self.links.read(token, self.bot.clock.now()) is not None
        return self.render(visit, "signin.html", token=token, valid=valid)

    async def signin(self, visit: Visit) -> Response:
        """Use the link up and open a session; a forged, old or used link is refused."""
        form = await form_of(visit.request)
        token = form.get("t")
        claim = self.links.read(token if isinstance(token, str) else "", self.bot.clock.now())
        staff = None if claim is None else await self.bot.use_console_link(claim)
        if staff is None:
            return self.render(
                visit,
                "message.html",
                status=403,
                message=tr(
                    visit.lang,
                    "This sign-in link is not valid any more (used, older than 15 minutes, or "
                    'altered). Write "/console" to the bot for a new one.',
                ),
            )
        now = self.bot.clock.now()
        # A new form token with the new session: one learnt before sign-in is worth nothing.
        session = sessions.Session(staff.id, sessions.Session.anonymous(now).csrf, 0).touched(now)
        return self._keep(RedirectResponse("/console", status_code=303), session)

    async def signout(self, visit: Visit) -> Response:
        """End the session."""
        if visit.staff is not None:
            log.info("console: %s signed out", visit.staff.id)
        return self._keep(
            RedirectResponse("/console/signin", status_code=303),
            sessions.Session.anonymous(self.bot.clock.now()),
        )

    # --- pages -----------------------------------------------------------------------------

    async def week(self, visit: Visit) -> Response:
        """The week as a calendar: providers as rows, 7 days from the one asked (today)."""
        params = visit.request.query_params
        first: date | None = None
        try:
            first = date.fromisoformat(params["day"]) if params.get("day") else None
        except ValueError:
            first = None
        page = int(params["page"]) if params.get("page", "").isdigit() else 1
        week = await self.bot.console_week(visit.lang, first, page, params.get("q", "")[:80])
        return self.render(
            visit,
            "week.html",
            week=week,
            before=(week.first - timedelta(days=7)).isoformat(),
            after=(week.first + timedelta(days=7)).isoformat(),
        )

    async def inbox(self, visit: Visit) -> Response:
        """Open escalations, change requests and waiver requests with their actions."""
        assert visit.staff is not None
        cards = await self.bot.console_inbox(visit.lang, visit.staff)
        return self.render(visit, "inbox.html", cards=cards)

    async def act(self, visit: Visit) -> Response:
        """Press one of an escalation's buttons; the card comes back saying who acted."""
        assert visit.staff is not None
        form = await form_of(visit.request)
        packed, card_id = form.get("action"), form.get("card")
        if not isinstance(packed, str) or not await self.bot.staff_press(visit.staff, packed):
            return self._refused(visit, 400)
        number = int(card_id) if isinstance(card_id, str) and card_id.isdigit() else 0
        card = await self.bot.console_card(visit.lang, visit.staff, number)
        if visit.request.headers.get("hx-request") != "true":
            return RedirectResponse("/console/inbox", status_code=303)
        if card is None:
            return HTMLResponse("")
        return self.render(visit, "_card.html", card=card)

    async def member(self, visit: Visit, notice: str = "", ok: bool = True) -> Response:
        """A member: upcoming appointments, statement, and the payment form."""
        member_id = visit.request.path_params["member_id"]
        member, upcoming, statement = await self.bot.console_member(visit.lang, member_id)
        return self.render(
            visit,
            "member.html",
            member=member,
            upcoming=upcoming,
            statement=statement,
            notice=notice,
            ok=ok,
        )

    async def payment(self, visit: Visit) -> Response:
        """Record what a member paid, as `/paid` does in chat."""
        assert visit.staff is not None
        form = await form_of(visit.request)
        amount = form.get("amount")
        ok, notice = await self.bot.console_payment(
            visit.lang,
            visit.staff,
            visit.request.path_params["member_id"],
            amount if isinstance(amount, str) else "",
        )
        return await self.member(visit, notice, ok)

    async def provider(self, visit: Visit, notice: str = "", ok: bool = True) -> Response:
        """A provider: appointments, what they are owed, weekly hours and days off."""
        page = await self.bot.console_provider(
            visit.lang, visit.request.path_params["provider_id"]
        )
        days = list(enumerate(weekdays(visit.lang)))
        return self.render(visit, "provider.html", page=page, notice=notice, ok=ok, weekdays=days)

    async def hours(self, visit: Visit) -> Response:
        """Add or remove a weekly window or a day off, with the chat's checks (§9)."""
        assert visit.staff is not None
        change = hours_change(await form_of(visit.request))
        if change is None:
            return await self.provider(
                visit, tr(visit.lang, "Give a day and hours like 09:00 and 18:00."), ok=False
            )
        edit = await self.bot.change_hours(
            visit.lang, visit.staff, visit.request.path_params["provider_id"], change
        )
        lang = visit.lang
        if edit.saved:
            notice = tr(lang, "Hours saved; {provider} is told.", provider=edit.provider)
        elif edit.not_a_day_off:
            notice = tr(lang, "That day is not a day off.")
        else:
            notice = tr(
                lang,
                "Refused: {provider} holds appointments this change would break: {list}. "
                "Nothing was changed.",
                provider=edit.provider,
                list="; ".join(edit.broken),
            )
        return await self.provider(visit, notice, edit.saved)

    async def search(self, visit: Visit) -> Response:
        """Members and providers by name or phone."""
        query = visit.request.query_params.get("q", "")[:80]
        found = await self.bot.console_search(query)
        return self.render(
            visit,
            "search.html",
            query=query,
            found=[(p, p.role == "member") for p in found],
        )

    async def export(self, visit: Visit) -> Response:
        """The ledger export (`carebot export ledger`) as a CSV download."""
        params = visit.request.query_params
        today = self.bot.clock.now().date()
        try:
            first = date.fromisoformat(params.get("from") or today.replace(day=1).isoformat())
            last = date.fromisoformat(params.get("to") or today.isoformat())
        except ValueError:
            return self.render(
                visit,
                "message.html",
                status=400,
                message=tr(visit.lang, "Dates are written YYYY-MM-DD."),
            )
        assert visit.staff is not None
        log.info("console: %s exported the ledger %s..%s", visit.staff.id, first, last)
        out = io.StringIO()
        await write_ledger(self.bot, first, last, out)
        body = out.getvalue()
        name = f"ledger-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def _minutes(text: str) -> int | None:
    """'09:00' -> 540; '24:00' is the end of the day; None for anything else."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    value = int(hours) * 60 + int(minutes)
    return value if 0 <= value <= 24 * 60 and int(minutes) < 60 else None


def hours_change(form: dict[str, str]) -> HoursChange | None:
    """The change a provider-hours form asks for, or None when it is incomplete or wrong."""
    kind = form.get("kind", "")
    if kind in ("add_window", "remove_window"):
        weekday, start, end = form.get("weekday", ""), form.get("start", ""), form.get("end", "")
        lo, hi = _minutes(start), _minutes(end)
        if not (weekday.isdigit() and int(weekday) < 7) or lo is None or hi is None or lo >= hi:
            return None
        return HoursChange(kind, (int(weekday),), lo, hi)
    if kind in ("days_off", "day_back"):
        try:
            day = date.fromisoformat(form.get("day", ""))
        except ValueError:
            return None
        return HoursChange(kind, days=(day,))
    return None
