"""Reads for patients."""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher

from django.db.models import Q, QuerySet
from django.db.models.functions import Upper

from clinic import hygiene
from patients.models import Patient
from patients.phone import try_normalize_phone


def patient_search(query: str) -> QuerySet[Patient]:
    """Patients matching every word of `query`: a piece of the name or digits of the phone.

    Searches all patients, not a recent window: "raza 4567" finds Ali Raza
    whose number ends in 4567, however long ago he registered.
    """
    words = hygiene.search_words(query)
    qs = Patient.objects.all()
    for word in words:
        qs = qs.filter(phone_match("phone", word) or Q(full_name__icontains=word))
    if not words:
        return qs.order_by("full_name", "id")
    # Matches are sorted by an expression no B-tree index provides (Upper:
    # the unique constraint indexes lower(full_name)), so PostgreSQL reads them
    # through the trigram indexes and sorts them, a cost that grows with the
    # matches. Ordered by an indexed name it may instead walk that index and
    # test every patient until a page is full: seconds at 500,000 patients
    # for "ali raza".
    return qs.order_by(Upper("full_name"), "id")


# How far a search counts its matches. A part of a common name ("raza",
# "khan") can match tens of thousands of patients; counting them all would
# read every one, and nobody pages past the first few hundred: they type more.
MATCH_CAP = 500


def count_matches(matches: QuerySet[Patient], cap: int = MATCH_CAP) -> tuple[int, bool]:
    """(number of matches up to `cap`, whether there are more): reads at most cap + 1 of them."""
    found = matches.order_by()[: cap + 1].count()
    return min(found, cap), found > cap


def read_page(page: QuerySet[Patient]) -> QuerySet[Patient]:
    """The rows of one page of patient_search (a slice of it), read in two steps.

    The page's ids are chosen by a query that needs only the name and the id,
    which PostgreSQL can answer from patient_search_idx alone: it walks
    the names in page order, testing each inside the index, and stops when the
    page is full (a few milliseconds when the matches are many; when they are
    few it uses the trigram index instead). Only those rows are then read whole.
    Choosing the page from whole rows instead would fetch each name it tests
    from the table, or read and sort every match.
    """
    return Patient.objects.filter(pk__in=page.values("pk")).order_by(*page.query.order_by)


def phone_match(field: str, word: str) -> Q | None:
    """`word` of a search box as part of a phone number stored in E.164 in `field`;
    None when the word is not a number ("0300", "+92", "1234-567" are; "Raza" is not).

    Shared by every search over stored numbers (patients, calls).
    """
    digits = "".join(ch for ch in word if ch.isdigit())
    if not digits or len(digits) < len(word) - 1:
        return None
    # E.164 drops a national number's trunk zero ("0300..." is "+92300..."),
    # so the digits after it match too.
    return Q(**{f"{field}__contains": digits}) | Q(**{f"{field}__contains": digits.lstrip("0") or digits})


def patients_for_phone(phone: str) -> QuerySet[Patient]:
    """Everyone registered under one number (a parent and their children), newest first."""
    e164 = try_normalize_phone(phone)
    if not e164:
        return Patient.objects.none()
    return Patient.objects.filter(phone=e164).order_by("-updated_at", "id")


# Names at least this alike (difflib's ratio, 0..1) are "the same person typed
# twice": "Ali Raza" / "Ali Raaza" / "Aly Raza" are 0.88-0.94, while a parent
# and child on one number ("Ali Raza" / "Sara Raza") are about 0.7.
SIMILAR_NAME_RATIO = 0.85


def _name_key(name: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: how alike names are compared."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.casefold().split())


def names_look_alike(a: str, b: str) -> bool:
    a, b = _name_key(a), _name_key(b)
    if not a or not b:
        return False
    if a == b or SequenceMatcher(None, a, b).ratio() >= SIMILAR_NAME_RATIO:
        return True
    # "Ali Raza" and "Muhammad Ali Raza": every word of the shorter name, two or more of them.
    short, long = sorted((set(a.split()), set(b.split())), key=len)
    return len(short) >= 2 and short <= long


def similar_patients(*, full_name: str, phone: str, exclude_pk: int | None = None) -> list[Patient]:
    """Patients registered under the same phone number whose name looks like `full_name`.

    Shown before saving a new or edited patient, so that "Ali Raaza" is not
    registered next to "Ali Raza". The very same name (any case or spacing)
    is left out: that is the same patient, whom patient_find_or_create books
    and patient_create refuses with its own message. Reads one number's
    patients (a family, a handful of rows) through the phone index.
    """
    qs = patients_for_phone(phone)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    same = " ".join((full_name or "").split()).casefold()
    return [p for p in qs[:50] if p.full_name.casefold() != same and names_look_alike(full_name, p.full_name)]
