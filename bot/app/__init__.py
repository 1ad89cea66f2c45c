"""The application: the one object every adapter (Telegram, SMS, the terminal demo, the replay
runner, the web console) drives. Adapters call these intent methods; none opens the database,
which stays private to the application (bot.root opens it and hands it in).

Messages (bot.app.carebot.Carebot)
- accept(channel, address, inbound, delivery_id, once=) / accept_many(channel, deliveries):
  store webhook deliveries once (False for a duplicate); process_pending() handles them.
- receive(channel, address, inbound) / receive_from(person_id, inbound): accept and handle
  at once. say(person_id, text) and press(person_id, packed_action) are the two kinds of
  inbound as a roster person, on their own channel: what the chat does, the console does.
- fire_due_timers(until), timer_stats(), next_due(), outbox_after(id), last_outbox_id().
- import_agency(file), has_agency(), person(id), health().
- listen_for_work(wake): wake(kind) when another worker adds timers, outbox rows or inbound
  (PostgreSQL's LISTEN/NOTIFY; never on SQLite, where polling finds them).

Back office (bot.app.office.OfficeIntents; lookups are read-only and return domain values)
- resolve_escalation(staff_id, number, decision): "approve" | "deny" (waiver, dispute,
  change) | "unfilled" | ("offer", provider_id); as the chat's buttons, notices included.
- record_payment(staff_id, member_id, amount) -> Account (raises PaymentRefused/NotAllowed).
- waiting_escalations() -> [WaitingEscalation]; statement(member_id, lines) -> Statement.
- provider_appointments(provider_id) -> [Request]; provider_owed(provider_id, start, end)
  -> [Payout]; provider_hours(provider_id) -> (windows, days off).
- week_schedule(day) -> [Request] of that agency-time week; search_people(text, role=None).
- ledger_export(start_day, end_day) -> LedgerExport (rows for the accountant's CSV).

Web console (bot.app.console.ConsoleIntents, over the back office's; read models in the
staff member's language from bot.app.console_views)
- console_staff(id), use_console_link(claim), warm_console(); console_week(lang, first,
  page, query), console_inbox / console_card, console_member, console_provider,
  console_search(query).
- staff_press(staff, packed): a staff button, as in chat; console_payment(lang, staff,
  member_id, typed) through record_payment; change_hours(lang, staff, provider_id, change).

Channel plumbing (bot.app.outbox.OutboxIntents): what the senders of the outbox need
(claim, settle, leases), so that no adapter holds a unit of work itself.
"""

from bot.app.backend import Backend
from bot.app.carebot import Carebot, Opener, apology
from bot.app.office import (
    Decision,
    LedgerExport,
    NotAllowed,
    Payout,
    Statement,
    WaitingEscalation,
)

__all__ = [
    "Backend",
    "Carebot",
    "Decision",
    "LedgerExport",
    "NotAllowed",
    "Opener",
    "Payout",
    "Statement",
    "WaitingEscalation",
    "apology",
]
