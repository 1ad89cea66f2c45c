"""The one renderer: a notice written per recipient, in their language and channel wording."""

from __future__ import annotations

from bot.domain.booking import Status
from bot.i18n import _, current_language, for_channel
from bot.services.notices import STATUS_WORDS, Notice, render, status_words


def test_a_notice_is_written_in_each_recipients_language() -> None:
    notice = Notice("{provider} has arrived.", {"provider": "Léa"})
    assert render("en", notice)[0] == "Léa has arrived."
    assert render("fr", notice)[0] == "Léa est là."


def test_lazy_values_are_written_in_the_recipients_language() -> None:
    seen: list[str] = []

    def day(lang: str) -> str:
        seen.append(current_language())
        return {"fr": "mardi", "en": "Tuesday"}[lang]

    notice = Notice("You are off on {day}; nothing was changed.", {"day": day})
    assert "mardi" in render("fr", notice)[0]
    assert "Tuesday" in render("en", notice)[0]
    assert seen == ["fr", "en"]  # the locale is set per recipient while rendering


def test_underscore_reads_the_locale_the_renderer_sets() -> None:
    notice = Notice("{answer}", {"answer": lambda lang: _("Client absent")})
    assert render("fr", notice)[0] == "Client absent"
    notice = Notice("{answer}", {"answer": lambda lang: _("No, keep it")})
    assert render("en", notice)[0] == "No, keep it"
    assert render("fr", notice)[0] != "No, keep it"


def test_option_labels_are_catalogue_messages() -> None:
    notice = Notice("This session can no longer be moved.", {}, [("No, keep it", "pc:1:n")])
    _text, options = render("fr", notice)
    assert options[0][1] == "pc:1:n" and options[0][0] != "No, keep it"


def test_sms_recipients_get_the_sms_wording_when_there_is_one() -> None:
    notice = Notice("I will speak English with you from now on.")
    chat, by_sms = render("fr", notice)[0], render(for_channel("fr", "sms"), notice)[0]
    assert by_sms != chat
    assert "en FR" in by_sms  # the SMS catalogue writes the language name without accents


def test_every_status_has_words_and_none_is_its_code_in_french() -> None:
    assert set(STATUS_WORDS) == set(Status)
    for status in Status:
        assert status_words("fr", status) != status.value
    assert status_words("fr", Status.ESCALATED, staff=True) == "en attente de l'agence"


def test_french_status_words_agree_with_the_session_they_qualify() -> None:
    # A status qualifies "la séance" / "la réservation": its participles are feminine, like
    # "confirmée" (it read "annulé" among them; issue 11, 4c).
    participles = {
        Status.ESCALATED: "confiée",
        Status.CONFIRMED: "confirmée",
        Status.COMPLETED: "terminée",
        Status.CANCELLED: "annulée",
        Status.EXPIRED: "déclarée",
    }
    for status, feminine in participles.items():
        assert feminine in status_words("fr", status).split(), status
