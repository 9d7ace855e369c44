"""Input hygiene: the one place that cleans what people and models type.

Forms, the admin, the phone agent's tools and the search selectors all use
these functions, so "Ali" and "A\u200bli" are never two patients anywhere,
a search can never build a query too large for the database, and a date can
never overflow a calendar. Everything here refuses with `Refused` (a message
meant for the person, or the model, that sent the value) or returns the
value in its one canonical form; nothing is silently half-kept.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime, timedelta

NAME_MAX = 120
REASON_MAX = 255
MESSAGE_MAX = 1000
SEARCH_MAX = 100
SEARCH_WORDS = 8
# How much of a refused value a reply may quote: enough to recognise it, not
# enough to carry instructions or fill a reply.
QUOTE_MAX = 30
FIRST_DAY = date(1900, 1, 1)
# Far enough for any rule, near enough that a week or a day after it is still a
# date (9999-12-31 + 1 day is not): for checks that must not read the database.
NO_OVERFLOW_DAY = date(2999, 12, 31)
# Dates a filter may name beyond the booking horizon (a year of look-ahead).
FILTER_SLACK = timedelta(days=366)
NAME_PUNCTUATION = frozenset(" -'.\u2019")


class Refused(ValueError):
    """A value we will not take; `message` says why, to whoever sent it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _invisible(ch: str) -> bool:
    # Cc: NUL and other control characters; Cf: zero-width and bidi
    # controls; Cs: lone surrogates (a JSON "\ud800" from a model), which
    # cannot even be encoded to UTF-8 for the database.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")


def _whitespace(text: str) -> str:
    return " ".join(text.split())


def clean_text(raw, *, what: str, max_length: int, required: bool = False) -> str:
    """One line of text: NFC, single spaces, no invisible or control characters, at most `max_length`."""
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise Refused(f"The {what} must be text.")
    text = _whitespace(raw)  # tabs and newlines become spaces before the control check
    if any(_invisible(ch) for ch in text):
        raise Refused(f"The {what} has invisible or control characters; please type it again.")
    text = unicodedata.normalize("NFC", text)
    if len(text) > max_length:
        raise Refused(f"The {what} is too long ({max_length} characters at most).")
    if required and not text:
        raise Refused(f"Please give the {what}.")
    return text


def clean_name(raw) -> str:
    """A person's name: letters (any script, with their accents), spaces, hyphens, apostrophes and dots."""
    name = clean_text(raw, what="name", max_length=NAME_MAX)
    if len(name) < 2 or not any(ch.isalpha() for ch in name):
        raise Refused("Please give the patient's full name.")
    if any(not (ch.isalpha() or unicodedata.category(ch).startswith("M") or ch in NAME_PUNCTUATION) for ch in name):
        raise Refused("A name may have only letters, spaces, hyphens, apostrophes and dots.")
    return name


def clean_reason(raw) -> str:
    return clean_text(raw, what="reason for the visit", max_length=REASON_MAX)


def clean_message(raw) -> str:
    """A caller's message for staff. Nobody can retype what a caller said, so invisible characters are
    dropped rather than refused; the length is still capped."""
    if isinstance(raw, str):
        raw = "".join(ch for ch in raw if not _invisible(ch) or ch.isspace())
    return clean_text(raw, what="message", max_length=MESSAGE_MAX)


def clean_search(raw) -> str:
    """A search box's text; refused when longer than SEARCH_MAX characters or SEARCH_WORDS words."""
    query = clean_text(raw, what="search", max_length=SEARCH_MAX)
    if len(query.split()) > SEARCH_WORDS:
        raise Refused(f"Search with at most {SEARCH_WORDS} words.")
    return query


def search_words(raw) -> list[str]:
    """The words a selector may search for: never more than SEARCH_WORDS, never invisible characters.

    Selectors call this even after a form refused the query, so that no
    caller of theirs can build a query with thousands of conditions.
    """
    text = raw if isinstance(raw, str) else ""
    text = "".join(ch for ch in text[: SEARCH_MAX * 2] if not _invisible(ch))
    return unicodedata.normalize("NFC", text).split()[:SEARCH_WORDS]


def quote(raw, limit: int = QUOTE_MAX) -> str:
    """A short, visible, quoted part of a value, for a reply that refuses it."""
    text = raw if isinstance(raw, str) else repr(raw)
    text = _whitespace("".join(ch for ch in text if not _invisible(ch)))
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    return json.dumps(text, ensure_ascii=False)


def first_name(raw) -> str:
    """The first word of a stored name, clean enough to be spoken to a caller; "" when it is not a name.

    Names stored before names were cleaned (or from a caller profile in
    Redis) may hold anything: invisible characters are dropped, and a first
    word that is not a name by `clean_name` is not said at all.
    """
    text = raw if isinstance(raw, str) else ""
    words = _whitespace("".join(ch for ch in text if not _invisible(ch))).split()
    try:
        return clean_name(words[0]) if words else ""
    except Refused:
        return ""


def as_data(raw) -> str:
    """Caller text for a model's prompt: cleaned, bounded and JSON-quoted, so it reads as a value, not an order."""
    text = raw if isinstance(raw, str) else ""
    text = _whitespace("".join(ch for ch in text if not _invisible(ch)))[:MESSAGE_MAX]
    return json.dumps(text, ensure_ascii=False)


# --- dates ---------------------------------------------------------------------------


def last_day(horizon_days: int | None = None) -> date:
    """The latest date any page, filter or tool takes: the booking horizon plus a year.

    `horizon_days` from a clinic profile already read (the phone agent's
    event loop may not read the database here); otherwise it is read.
    """
    from django.utils import timezone

    if horizon_days is None:
        from clinic.models import ClinicProfile

        horizon_days = ClinicProfile.load().booking_horizon_days
    return timezone.localdate() + timedelta(days=horizon_days) + FILTER_SLACK


def check_day(value, *, latest: date | None = None) -> None:
    """Refuse a date (or datetime) before 1900 or after `latest` (by default last_day())."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if day < FIRST_DAY:
        raise Refused(f"Enter a date from {FIRST_DAY.year} on.")
    latest = latest or last_day()
    if day > latest:
        raise Refused(f"Enter a date up to {latest.isoformat()}.")


def parse_day(raw, *, latest: date | None = None) -> date | None:
    """A YYYY-MM-DD date in the sane range (up to `latest`), or None when empty; Refused otherwise."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Refused(f"{quote(text)} is not a date: write it as YYYY-MM-DD.") from None
    check_day(day, latest=latest)
    return day


# --- Django forms and admin -----------------------------------------------------------


def validate_day(value) -> None:
    """A form or model-form validator: the sane date range as a field error."""
    from django.core.exceptions import ValidationError

    try:
        check_day(value)
    except Refused as exc:
        raise ValidationError(exc.message, code="date_range") from None


def validate_birth_day(value) -> None:
    """A date of birth: from 1900, not in the future."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    if value and value > timezone.localdate():
        raise ValidationError("The date of birth cannot be in the future.", code="date_range")
    validate_day(value)


def cleaned(cleaner, value):
    """`cleaner(value)` with a refusal as a form's ValidationError (for clean_<field> methods)."""
    from django.core.exceptions import ValidationError

    try:
        return cleaner(value)
    except Refused as exc:
        raise ValidationError(exc.message) from None


class SafeInputAdmin:
    """Admin mixin: searches cleaned and capped, date filters and date fields kept in the sane range.

    Put it before admin.ModelAdmin. A refused search shows a message and no
    rows; a date filter outside the range is dropped with a message.
    """

    def get_search_results(self, request, queryset, search_term):
        from django.contrib import messages

        try:
            search_term = clean_search(search_term)
        except Refused as exc:
            messages.warning(request, exc.message)
            return queryset.none(), False
        return self.search_results(request, queryset, search_term)

    def search_results(self, request, queryset, search_term):
        """The search itself, on a cleaned term: admins with their own search override this."""
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request, extra_context=None):
        from django.contrib import messages

        dates = {f.name for f in self.model._meta.get_fields() if f.get_internal_type() in ("DateField", "DateTimeField")}
        far = [key for key, value in request.GET.items() if key.split("__")[0] in dates and _far(key, value)]
        if far:
            messages.warning(request, f"Dates before {FIRST_DAY.year} or after {last_day().year} are not shown.")
            request.GET = request.GET.copy()
            for key in far:
                del request.GET[key]
        return super().changelist_view(request, extra_context)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and db_field.get_internal_type() in ("DateField", "DateTimeField"):
            field.validators.append(validate_day)
        return field


def _far(key: str, value: str) -> bool:
    """Whether an admin date filter's value (a year, or a date, or a datetime) is outside the range."""
    digits = value.strip()[:4]
    if key.endswith(("__month", "__day")) or not digits.isdigit():
        return False  # Django itself refuses a non-date; months and days cannot overflow
    return not FIRST_DAY.year <= int(digits) <= last_day().year or len(value.strip().split("-")[0]) > 4
