import pytest

from patients.phone import InvalidPhoneNumber, format_phone, mask_phone, normalize_phone, spoken_digits, try_normalize_phone


@pytest.mark.parametrize("typed", ["0300 1234567", "+92 300 1234567", "923001234567", "0300-123-4567",
                                   "+92 (300) 123 4567", "00923001234567"])
def test_the_ways_callers_write_one_pakistani_number(typed):
    assert normalize_phone(typed) == "+923001234567"


def test_foreign_numbers_keep_their_country():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("typed", ["", "   ", "12", "hello", "0300 12"])
def test_unreadable_numbers_get_a_message(typed):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalize_phone(typed)
    assert info.value.messages[0] in ("Please give a phone number.",
                                      f"{typed.strip()!r} is not a phone number we can dial; please give it with the area code.")
    assert try_normalize_phone(typed) == ""


def test_staff_read_local_numbers_in_national_form():
    assert format_phone("+923001234567") == "0300 1234567"
    assert format_phone("+442079460958") == "+44 20 7946 0958"
    assert format_phone("") == ""


def test_logs_see_only_the_last_digits_and_the_agent_reads_groups():
    assert mask_phone("+923001234567") == "**********567"
    assert mask_phone("") == "(none)"
    assert spoken_digits("+923001234567") == "0 3 0 0, 1 2 3, 4 5 6 7"
    assert spoken_digits("+442079460958") == "4 4, 2 0 7, 9 4 6, 0 9 5 8"
