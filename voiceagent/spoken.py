"""Days, dates and times as the receptionist says them, in English and Urdu.

Pure functions, no database: what the agent says itself (the greeting, the
read-back of a booking, opening hours in its instructions) goes through
here, so that a caller hears "tomorrow, Tuesday the 3rd of March, at 9:30 in
the morning" or "کل، منگل تین مارچ کو صبح ساڑھے نو بجے", never "2026-03-03
09:30". The tools' replies to the model stay plain English data; the model
turns those into speech itself.

English keeps digits for times ("9:30 in the morning"): every voice reads
them well. Urdu is written in Urdu script with number words, because a
voice reading "9:30" in an Urdu sentence may read it as English, and the
clock is spoken differently: quarter past is سوا, half past ساڑھے (and the
special ڈیڑھ, ڈھائی for 1:30 and 2:30), quarter to پونے.
"""

from __future__ import annotations

from datetime import date, datetime, time

ENGLISH, URDU = "en", "ur"

_EN_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
_UR_WEEKDAYS = ["پیر", "منگل", "بدھ", "جمعرات", "جمعہ", "ہفتہ", "اتوار"]
_UR_MONTHS = ["جنوری", "فروری", "مارچ", "اپریل", "مئی", "جون", "جولائی", "اگست", "ستمبر", "اکتوبر",
              "نومبر", "دسمبر"]

# Urdu numbers up to a hundred are each a word of their own (no regular
# tens + units pattern as in English), so they are listed.
_UR_NUMBERS = (
    "صفر ایک دو تین چار پانچ چھ سات آٹھ نو "
    "دس گیارہ بارہ تیرہ چودہ پندرہ سولہ سترہ اٹھارہ انیس "
    "بیس اکیس بائیس تئیس چوبیس پچیس چھبیس ستائیس اٹھائیس انتیس "
    "تیس اکتیس بتیس تینتیس چونتیس پینتیس چھتیس سینتیس اڑتیس انتالیس "
    "چالیس اکتالیس بیالیس تینتالیس چوالیس پینتالیس چھیالیس سینتالیس اڑتالیس انچاس "
    "پچاس اکاون باون ترپن چون پچپن چھپن ستاون اٹھاون انسٹھ "
    "ساٹھ اکسٹھ باسٹھ تریسٹھ چونسٹھ پینسٹھ چھیاسٹھ سڑسٹھ اڑسٹھ انہتر "
    "ستر اکہتر بہتر تہتر چوہتر پچہتر چھہتر ستتر اٹھہتر اناسی "
    "اسی اکیاسی بیاسی تراسی چوراسی پچاسی چھیاسی ستاسی اٹھاسی نواسی "
    "نوے اکانوے بانوے ترانوے چورانوے پچانوے چھیانوے ستانوے اٹھانوے ننانوے"
).split()


def urdu_number(n: int) -> str:
    """0 to 9,999 in Urdu words: 27 -> ستائیس, 2027 -> دو ہزار ستائیس, 1980 -> انیس سو اسی."""
    if not 0 <= n < 10_000:
        raise ValueError(f"{n} is out of range for spoken Urdu numbers")
    if n < 100:
        return _UR_NUMBERS[n]
    if 1100 <= n < 2000:
        # Years are read in hundreds: 1980 is "nineteen hundred eighty".
        head, rest = divmod(n, 100)
        return f"{_UR_NUMBERS[head]} سو" + (f" {_UR_NUMBERS[rest]}" if rest else "")
    words = []
    thousands, n = divmod(n, 1000)
    if thousands:
        words.append(f"{_UR_NUMBERS[thousands]} ہزار")
    hundreds, n = divmod(n, 100)
    if hundreds:
        words.append(f"{_UR_NUMBERS[hundreds]} سو")
    if n:
        words.append(_UR_NUMBERS[n])
    return " ".join(words)


def part_of_day(moment: time) -> str:
    """"morning" (until noon), "afternoon" (until 5 pm), "evening" (until 9 pm) or "night"."""
    if moment.hour < 12:
        return "morning"
    if moment.hour < 17:
        return "afternoon"
    if moment.hour < 21:
        return "evening"
    return "night"


def say_time(moment: time | datetime, language: str) -> str:
    """A clock time as said on the phone: "9:30 in the morning", "صبح ساڑھے نو بجے".

    An aware datetime must already be in the clinic's zone (the caller's wall clock).
    """
    moment = moment.timetz() if isinstance(moment, datetime) else moment
    if language == URDU:
        return _urdu_time(moment)
    return _english_time(moment)


def _english_time(moment: time) -> str:
    hour, minute = moment.hour, moment.minute
    if (hour, minute) == (0, 0):
        return "midnight"
    if (hour, minute) == (12, 0):
        return "12 noon"
    clock = str(hour % 12 or 12) + (f":{minute:02d}" if minute else "")
    part = part_of_day(moment)
    if part == "night" or (part == "morning" and hour < 4):
        return f"{clock} at night"
    return f"{clock} in the {part}"


def _urdu_part(hour: int) -> str:
    if 4 <= hour < 12:
        return "صبح"
    if 12 <= hour < 16:
        return "دوپہر"
    if 16 <= hour < 20:
        return "شام"
    return "رات"


def _urdu_time(moment: time) -> str:
    hour, minute = moment.hour, moment.minute
    twelve = hour % 12 or 12
    following = twelve % 12 + 1
    if minute == 0:
        clock = f"{urdu_number(twelve)} بجے"
    elif minute == 15:
        clock = f"سوا {urdu_number(twelve)} بجے"
    elif minute == 30 and twelve == 1:
        clock = "ڈیڑھ بجے"
    elif minute == 30 and twelve == 2:
        clock = "ڈھائی بجے"
    elif minute == 30:
        clock = f"ساڑھے {urdu_number(twelve)} بجے"
    elif minute == 45:
        clock = f"پونے {urdu_number(following)} بجے"
    else:
        clock = f"{urdu_number(twelve)} بج کر {urdu_number(minute)} منٹ پر"
    return f"{_urdu_part(hour)} {clock}"


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def say_date(day: date, language: str, *, today: date | None = None) -> str:
    """A day as said on the phone: "tomorrow, Tuesday the 3rd of March", "کل، منگل تین مارچ".

    The year is said only when it is not this year; "today" and "tomorrow"
    lead when `today` is given and it is one of them.
    """
    this_year = (today or day).year
    if language == URDU:
        text = f"{_UR_WEEKDAYS[day.weekday()]} {urdu_number(day.day)} {_UR_MONTHS[day.month - 1]}"
        if day.year != this_year:
            text += f" {urdu_number(day.year)}"
        relative = {0: "آج", 1: "کل", 2: "پرسوں"}
        separator = "، "
    else:
        text = f"{_EN_WEEKDAYS[day.weekday()]} the {_ordinal(day.day)} of {_EN_MONTHS[day.month - 1]}"
        if day.year != this_year:
            text += f" {day.year}"
        relative = {0: "today", 1: "tomorrow"}
        separator = ", "
    if today is not None and (day - today).days in relative:
        return relative[(day - today).days] + separator + text
    return text


def say_when(moment: datetime, language: str, *, today: date | None = None) -> str:
    """Day and time together: "tomorrow, Tuesday the 3rd of March, at 9:30 in the morning",
    "کل، منگل تین مارچ کو صبح ساڑھے نو بجے". `moment` is in the clinic's zone."""
    day = say_date(moment.date(), language, today=today)
    if language == URDU:
        return f"{day} کو {say_time(moment, language)}"
    return f"{day}, at {say_time(moment, language)}"



def say_digits(digits: str, language: str) -> str:
    """A phone number read back digit by digit, in the groups patients.phone.spoken_digits makes:
    "0 3 0 0, 1 2 3, 4 5 6 7" or "صفر تین صفر صفر، ایک دو تین، چار پانچ چھ سات"."""
    if language != URDU:
        return digits
    return "، ".join(
        " ".join(urdu_number(int(d)) for d in group.split()) for group in digits.split(", ")
    )
