"""Days, dates and times as callers hear them, in English and in Urdu (voiceagent.spoken)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from voiceagent.spoken import say_date, say_time, say_when, urdu_number


@pytest.mark.parametrize("clock, english, urdu", [
    (time(9, 0), "9 in the morning", "صبح نو بجے"),
    (time(9, 30), "9:30 in the morning", "صبح ساڑھے نو بجے"),
    (time(9, 15), "9:15 in the morning", "صبح سوا نو بجے"),
    (time(9, 45), "9:45 in the morning", "صبح پونے دس بجے"),
    (time(11, 45), "11:45 in the morning", "صبح پونے بارہ بجے"),
    (time(12, 0), "12 noon", "دوپہر بارہ بجے"),
    (time(12, 45), "12:45 in the afternoon", "دوپہر پونے ایک بجے"),
    (time(13, 30), "1:30 in the afternoon", "دوپہر ڈیڑھ بجے"),
    (time(14, 30), "2:30 in the afternoon", "دوپہر ڈھائی بجے"),
    (time(15, 10), "3:10 in the afternoon", "دوپہر تین بج کر دس منٹ پر"),
    (time(16, 0), "4 in the afternoon", "شام چار بجے"),
    (time(17, 40), "5:40 in the evening", "شام پانچ بج کر چالیس منٹ پر"),
    (time(20, 5), "8:05 in the evening", "رات آٹھ بج کر پانچ منٹ پر"),
    (time(22, 0), "10 at night", "رات دس بجے"),
    (time(0, 0), "midnight", "رات بارہ بجے"),
    (time(2, 30), "2:30 at night", "رات ڈھائی بجے"),
    (time(6, 0), "6 in the morning", "صبح چھ بجے"),
])
def test_clock_times_are_said_as_people_say_them(clock, english, urdu):
    assert say_time(clock, "en") == english
    assert say_time(clock, "ur") == urdu


def test_urdu_has_no_digits_and_english_uses_the_twelve_hour_clock():
    for hour in range(24):
        for minute in range(60):
            urdu = say_time(time(hour, minute), "ur")
            english = say_time(time(hour, minute), "en")
            assert not any(ch.isdigit() for ch in urdu), urdu
            assert urdu.endswith(("بجے", "منٹ پر")), urdu
            if english != "midnight":
                assert 1 <= int(english.split()[0].split(":")[0]) <= 12, english


@pytest.mark.parametrize("n, words", [
    (0, "صفر"), (1, "ایک"), (11, "گیارہ"), (19, "انیس"), (27, "ستائیس"), (31, "اکتیس"), (49, "انچاس"),
    (59, "انسٹھ"), (79, "اناسی"), (99, "ننانوے"), (100, "ایک سو"), (2027, "دو ہزار ستائیس"),
    (2000, "دو ہزار"), (1980, "انیس سو اسی"), (2105, "دو ہزار ایک سو پانچ"),
])
def test_urdu_number_words(n, words):
    assert urdu_number(n) == words


def test_urdu_numbers_refuse_what_no_date_or_time_needs():
    with pytest.raises(ValueError):
        urdu_number(10_000)
    with pytest.raises(ValueError):
        urdu_number(-1)


def test_dates_in_both_languages_with_today_tomorrow_and_other_years():
    monday = date(2026, 3, 2)
    assert say_date(monday, "en") == "Monday the 2nd of March"
    assert say_date(monday, "ur") == "پیر دو مارچ"
    assert say_date(date(2026, 3, 21), "en") == "Saturday the 21st of March"
    assert say_date(date(2026, 3, 13), "en") == "Friday the 13th of March"
    assert say_date(date(2026, 3, 23), "en") == "Monday the 23rd of March"
    assert say_date(date(2026, 3, 31), "ur") == "منگل اکتیس مارچ"
    assert say_date(monday, "en", today=monday) == "today, Monday the 2nd of March"
    assert say_date(monday, "ur", today=date(2026, 3, 1)) == "کل، پیر دو مارچ"
    assert say_date(monday, "ur", today=date(2026, 2, 28)) == "پرسوں، پیر دو مارچ"
    assert say_date(monday, "en", today=date(2026, 2, 20)) == "Monday the 2nd of March"
    assert say_date(date(2027, 1, 4), "en", today=date(2026, 12, 30)) == "Monday the 4th of January 2027"
    assert say_date(date(2027, 1, 4), "ur", today=date(2026, 12, 30)) == "پیر چار جنوری دو ہزار ستائیس"


def test_day_and_time_together():
    moment = datetime(2026, 3, 3, 9, 30)
    assert say_when(moment, "en", today=date(2026, 3, 2)) == "tomorrow, Tuesday the 3rd of March, at 9:30 in the morning"
    assert say_when(moment, "ur", today=date(2026, 3, 2)) == "کل، منگل تین مارچ کو صبح ساڑھے نو بجے"
    assert say_when(datetime(2026, 3, 10, 14, 30), "ur") == "منگل دس مارچ کو دوپہر ڈھائی بجے"


def test_phone_digits_read_one_by_one_in_both_languages():
    from voiceagent.spoken import say_digits

    assert say_digits("0 3 0 0, 1 2 3, 4 5 6 7", "en") == "0 3 0 0, 1 2 3, 4 5 6 7"
    assert say_digits("0 3 0 0, 1 2 3, 4 5 6 7", "ur") == "صفر تین صفر صفر، ایک دو تین، چار پانچ چھ سات"
