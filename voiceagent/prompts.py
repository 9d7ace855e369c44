"""Everything the receptionist says or is told, in one place (the tools' docstrings aside).

The model's instructions are in English (they are read by the model, not
heard); what the agent says itself is in `LINES`, once per language.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from django.utils.formats import date_format

from clinic import hygiene
from patients.phone import spoken_digits
from voiceagent import spoken
from voiceagent.languages import SUPPORTED, caller_languages

INSTRUCTIONS = """\
You are the phone receptionist of {clinic}. You speak with callers on the phone: keep every reply to one
or two short sentences of plain speech, no lists, no markdown, no emojis. Callers may speak {languages}:
always answer in the caller's language (you are told which one before every turn), and switch when they
switch. In English say times like "9:30 in the morning" and dates like "Monday the 2nd of March". In Urdu
write Urdu script (never Roman Urdu or Hindi script), say numbers as words and times the Urdu way
("صبح ساڑھے نو بجے", "دوپہر ڈیڑھ بجے"), and speak as a woman ("کر سکتی ہوں"). Tool results are in
English: tell the caller what they mean in the caller's language. When a tool gives you words in «», say
exactly those words.

The caller's number: {phone_line}

What you do:
- Book, move and cancel appointments, tell callers the clinic's hours, address and providers, and take
  messages for staff. You give no medical advice of any kind: for health questions, offer an appointment
  or a transfer to staff.
- Booking: get the patient's full name (identify_patient; if you are unsure how it is spelt, ask them to
  spell it), then the provider or "anyone", the day and the time of day, and call find_free_times. Offer
  only the times it returns, at most three at a time. Never invent a time and never book a time you did not
  get from find_free_times. When the caller picks one, call book_appointment with confirmed false and read
  the booking back with the words it gives you. Only after the caller clearly says yes, call
  book_appointment with confirmed set to true. If a booking is refused, explain why in one sentence and offer the alternatives
  the tool gives you.
- Moving, cancelling or listing appointments: only for an identified patient. Ask for the patient's full
  name and date of birth and call identify_patient; until it confirms the patient, say nothing about any
  appointment, not even whether one exists, and never talk about another patient's appointments. Read the
  change back (the tool gives you the words when called with confirmed false) and get a yes before calling
  reschedule_appointment or cancel_appointment with confirmed true.
- The caller's own details: after identify_patient has confirmed the patient, a caller may correct how
  their name is spelt (correct_name_spelling) or change their phone number (change_phone_number). Read the
  change back with the words the tool gives you and call it again with confirmed true only after a yes.
- Emergencies: if the caller describes an emergency (chest pain, trouble breathing, heavy bleeding,
  unconsciousness, a stroke, suicidal thoughts), tell them to hang up and call {emergency} now, then offer
  to transfer them to staff.
- A person: when the caller asks for a person, when you cannot help, or after repeated problems, say you
  are transferring them and call transfer_to_staff. If that fails or no one is available, say so and offer
  to take a message (take_message).
- When the caller is done, say a short goodbye and call end_call.
"""

# Everything the receptionist says itself, once per language: the call's
# current language picks the line (CallRun, Receptionist, the tools'
# read-backs). Urdu is in Urdu script, in the feminine first person (sakti
# hoon) of the default voice; choose a female voice for ELEVEN_VOICE_ID_UR.
LINES = {
    "en": {
        "hello": {"morning": "Good morning", "afternoon": "Good afternoon", "evening": "Good evening",
                  "night": "Hello"},
        "greeting": "{hello}, thank you for calling {clinic}. How can I help you today?",
        "greeting_returning": "{hello} {first_name}, welcome back to {clinic}. How can I help you today?",
        # Said, in this language, to a caller greeted in another one.
        "offer": "To speak in English, just speak English.",
        "emergency": "If this is an emergency, please hang up now and call {number} straight away. ",
        "silence": [
            "Are you still there?",
            "I can't hear anything. If you're still there, please say something.",
        ],
        "silence_goodbye": "I haven't heard anything, so I'll end the call now. Please call us again any time. "
                           "Goodbye.",
        "time_limit_goodbye": "I'm sorry, we've reached the time limit for this call. Please call again or ask "
                              "for a member of staff. Goodbye.",
        "transferring": "I'm transferring you to a member of staff now. Please stay on the line.",
        "transfer_failed": "I'm sorry, I couldn't reach anyone just now. I can take a message so that someone "
                           "calls you back.",
        "no_transfer": "I'm sorry, no one can take calls right now. I can take a message so that someone calls "
                       "you back.",
        "failing": "I'm sorry this is taking a while. Would you like me to put you through to a member of staff?",
        "failing_message": "I'm sorry this is taking a while. Would you like me to take a message so that someone "
                           "calls you back?",
        "transfer_closed": "I'm sorry, the clinic is closed now, so no one can take your call. I can take a message "
                           "so that someone calls you back when we open.",
        "after_hours": "Just so you know, the clinic is closed right now and opens again {when}. I can still book, "
                       "move or cancel an appointment, or take a message.",
        "identity_limit": "I'm sorry, I can't check those details over the phone. I can put you through to a "
                          "member of staff, or take a message so that someone calls you back.",
        "tool_error": "I'm sorry, something went wrong on our side. I can take a message so that someone calls "
                      "you back, or put you through to a member of staff.",
        # Reminder calls (the clinic rings the patient): nothing about the visit before the identity check.
        "reminder_greeting": "{hello}, this is {clinic} calling about an upcoming appointment. To protect the "
                             "patient's privacy, may I have the patient's full name and date of birth, please?",
        "reminder_visit": "Thank you. We're calling to remind you of your appointment {when} with {provider}. "
                          "Will you be able to come?",
        "voicemail": "Hello, this is {clinic} with a message for one of our patients. Please call us back on "
                     "{digits}. Thank you, goodbye.",
        "voicemail_no_number": "Hello, this is {clinic} with a message for one of our patients. Please call us "
                               "back. Thank you, goodbye.",
        "readback_booking": "That's {name} with {provider}, {when}. Shall I book it?",
        "readback_reschedule": "Your appointment {old} with {old_provider} moves to {new} with {provider}. "
                               "Shall I move it?",
        "readback_cancel": "That's your appointment {when} with {provider}. Shall I cancel it?",
        "readback_name": "I'll correct the name to {name}, spelt {spelling}. Is that right?",
        "readback_phone": "I'll change the phone number to {digits}. Is that right?",
        "callback_today": "I've passed your message on. Someone from the clinic will call you back on {digits} "
                          "today, before {time}.",
        "callback_when_open": "I've passed your message on. We're closed now; someone from the clinic will call "
                              "you back on {digits} when we open, {when}.",
        "callback_soon": "I've passed your message on. Someone from the clinic will call you back on {digits} as "
                         "soon as we can.",
    },
    "ur": {
        "hello": {"morning": "السلام علیکم، صبح بخیر", "afternoon": "السلام علیکم، دوپہر بخیر",
                  "evening": "السلام علیکم، شام بخیر", "night": "السلام علیکم"},
        "greeting": "{hello}۔ {clinic} میں فون کرنے کا شکریہ۔ میں آپ کی کیا مدد کر سکتی ہوں؟",
        "greeting_returning": "{hello} {first_name} جی۔ {clinic} میں دوبارہ خوش آمدید۔ میں آپ کی کیا مدد کر "
                              "سکتی ہوں؟",
        "offer": "اردو میں بات کرنے کے لیے، بس اردو میں بولیے۔",
        "emergency": "اگر یہ ایمرجنسی ہے تو ابھی فون بند کر کے فوراً {number} پر کال کریں۔ ",
        "silence": [
            "کیا آپ لائن پر ہیں؟",
            "مجھے آپ کی آواز نہیں آ رہی۔ اگر آپ لائن پر ہیں تو کچھ بولیے۔",
        ],
        "silence_goodbye": "مجھے کوئی آواز نہیں آئی، اس لیے میں کال ختم کر رہی ہوں۔ آپ کسی بھی وقت دوبارہ فون کر "
                           "سکتے ہیں۔ خدا حافظ۔",
        "time_limit_goodbye": "معذرت، اس کال کا وقت پورا ہو گیا ہے۔ براہ کرم دوبارہ فون کریں یا عملے سے بات کرنے کا "
                              "کہیں۔ خدا حافظ۔",
        "transferring": "میں آپ کو عملے کے ایک رکن سے ملا رہی ہوں، براہ کرم لائن پر رہیں۔",
        "transfer_failed": "معذرت، اس وقت کسی سے رابطہ نہیں ہو سکا۔ میں آپ کا پیغام لے سکتی ہوں تاکہ کوئی آپ کو "
                           "واپس فون کرے۔",
        "no_transfer": "معذرت، اس وقت کوئی فون پر دستیاب نہیں۔ میں آپ کا پیغام لے سکتی ہوں تاکہ کوئی آپ کو واپس "
                       "فون کرے۔",
        "failing": "معذرت، اس میں وقت لگ رہا ہے۔ کیا میں آپ کو عملے کے کسی رکن سے ملا دوں؟",
        "failing_message": "معذرت، اس میں وقت لگ رہا ہے۔ کیا میں آپ کا پیغام لے لوں تاکہ کوئی آپ کو واپس فون کرے؟",
        "transfer_closed": "معذرت، کلینک اس وقت بند ہے، اس لیے کوئی آپ کی کال نہیں لے سکتا۔ میں آپ کا پیغام لے سکتی "
                           "ہوں تاکہ کلینک کھلنے پر کوئی آپ کو واپس فون کرے۔",
        "after_hours": "آپ کی اطلاع کے لیے، کلینک اس وقت بند ہے اور {when} دوبارہ کھلے گا۔ میں پھر بھی ملاقات بُک، "
                       "تبدیل یا منسوخ کر سکتی ہوں، یا آپ کا پیغام لے سکتی ہوں۔",
        "identity_limit": "معذرت، میں فون پر یہ تفصیلات چیک نہیں کر سکتی۔ میں آپ کو عملے کے کسی رکن سے ملا سکتی ہوں، "
                          "یا آپ کا پیغام لے سکتی ہوں تاکہ کوئی آپ کو واپس فون کرے۔",
        "tool_error": "معذرت، ہماری طرف کچھ خرابی ہو گئی ہے۔ میں آپ کا پیغام لے سکتی ہوں تاکہ کوئی آپ کو واپس فون کرے، "
                      "یا آپ کو عملے کے کسی رکن سے ملا سکتی ہوں۔",
        "reminder_greeting": "{hello}۔ میں {clinic} سے ایک آنے والی ملاقات کے بارے میں فون کر رہی ہوں۔ مریض کی رازداری "
                             "کے لیے، براہ کرم مریض کا پورا نام اور تاریخ پیدائش بتائیے۔",
        "reminder_visit": "شکریہ۔ ہم آپ کو یاد دلانے کے لیے فون کر رہے ہیں کہ آپ کی ملاقات {when} {provider} کے ساتھ "
                          "ہے۔ کیا آپ آ سکیں گے؟",
        "voicemail": "السلام علیکم، یہ {clinic} ہے، ہمارے ایک مریض کے لیے پیغام ہے۔ براہ کرم ہمیں {digits} پر واپس فون "
                     "کریں۔ شکریہ، خدا حافظ۔",
        "voicemail_no_number": "السلام علیکم، یہ {clinic} ہے، ہمارے ایک مریض کے لیے پیغام ہے۔ براہ کرم ہمیں واپس فون "
                               "کریں۔ شکریہ، خدا حافظ۔",
        "readback_booking": "{name} کے لیے {provider} کے ساتھ {when}، کیا میں یہ وقت بُک کر دوں؟",
        "readback_reschedule": "آپ کی {old} والی ملاقات، {old_provider} کے ساتھ، {new} پر {provider} کے ساتھ "
                               "منتقل ہو جائے گی۔ کیا میں تبدیل کر دوں؟",
        "readback_cancel": "آپ کی {when} والی ملاقات، {provider} کے ساتھ، کیا میں منسوخ کر دوں؟",
        "readback_name": "میں نام {name} کر دیتی ہوں، ہجے: {spelling}۔ کیا یہ درست ہے؟",
        "readback_phone": "میں فون نمبر {digits} کر دیتی ہوں۔ کیا یہ درست ہے؟",
        "callback_today": "میں نے آپ کا پیغام پہنچا دیا ہے۔ کلینک سے کوئی آج {time} سے پہلے آپ کو {digits} پر واپس "
                          "فون کرے گا۔",
        "callback_when_open": "میں نے آپ کا پیغام پہنچا دیا ہے۔ کلینک ابھی بند ہے؛ کلینک کھلنے پر، {when}، کوئی آپ کو "
                              "{digits} پر واپس فون کرے گا۔",
        "callback_soon": "میں نے آپ کا پیغام پہنچا دیا ہے۔ کلینک سے کوئی جلد از جلد آپ کو {digits} پر واپس فون کرے گا۔",
    },
}


def line(language: str, key: str, **values) -> str:
    """A fixed line in `language` (English where a language lacks it), filled in."""
    text = LINES.get(language, LINES["en"]).get(key) or LINES["en"][key]
    return text.format(**values) if values else text


# Words that make the agent say the emergency number itself, whatever the model
# does next: safety does not wait for a language model to get it right.
EMERGENCY_WORDS = re.compile(
    r"\b(emergency|chest pains?|heart attack|can'?t breathe|cannot breathe|not breathing|trouble breathing|"
    r"difficulty breathing|unconscious|passed out|fainted|stroke|seizure|overdose|bleeding heavily|"
    r"heavy bleeding|severe bleeding|suicid\w*|kill myself|choking|"
    # Roman Urdu, as typed or transcribed
    r"seene? (?:me|mein) dard|saa?ns nahi|behosh|dil ka daura|khud ?kushi)\b"
    # Urdu script: no word boundaries needed, these do not occur inside other words
    r"|ایمرجنسی|ایمرجینسی|سینے میں درد|سینے میں شدید درد|دل کا دورہ|سانس نہیں|سانس لینے میں|بے ہوش|بےہوش"
    r"|فالج|دورہ پڑ|خون بہ رہا|خون نہیں رک|خودکشی|زہر کھا",
    re.IGNORECASE,
)


# Added to the instructions on a reminder call (voiceagent.outbound): we rang them.
REMINDER = """
This call is one the clinic made: you rang {digits}, the number on file, to remind a patient of an appointment
and ask whether they will come. You have greeted them and asked for the patient's full name and date of birth.
Say nothing about any appointment (not the day, time, provider or reason) until identify_patient has confirmed
the patient; then it gives you the appointment and the words to say. If they will come, call
confirm_appointment. They may also move it (find_free_times, then reschedule_appointment) or cancel it
(cancel_appointment), with the same read-back and yes as always. If a voicemail greeting or answering machine
answers instead of a person, call voicemail_reached at once and say nothing yourself. If it is the wrong
number or the patient cannot come to the phone, apologise, give no details, say goodbye and call end_call.
"""


def phone_line(caller_phone: str, *, from_caller_id: bool) -> str:
    if caller_phone and from_caller_id:
        return (
            f"caller ID shows {spoken_digits(caller_phone)}. Do not ask for their number: confirm it once "
            "(\"is this the best number for you?\") and use it. Only if they want another number, or for a "
            "booking under a different number, ask for it and call set_caller_phone, then read back the "
            "digits it gives you."
        )
    if caller_phone:
        return f"{spoken_digits(caller_phone)} (given by the caller)."
    return (
        "withheld. Before identifying a patient or booking, ask for their phone number, call "
        "set_caller_phone, and read back the digits it gives you."
    )


def instructions(*, clinic, caller_phone: str, from_caller_id: bool, reminder: bool = False) -> str:
    """What stays the same for the whole call; `now` adds what changes from turn to turn.

    `reminder`: a call the clinic placed to `caller_phone` (voiceagent.outbound).
    """
    text = INSTRUCTIONS.format(
        clinic=clinic.name,
        languages=" or ".join(SUPPORTED[code] for code in caller_languages()),
        phone_line=(f"{spoken_digits(caller_phone)}, the number you rang." if reminder
                    else phone_line(caller_phone, from_caller_id=from_caller_id)),
        emergency=clinic.emergency_number,
    )
    return text + REMINDER.format(digits=spoken_digits(caller_phone)) if reminder else text


def now(*, moment: datetime, language: str, opening, today_hours: list[tuple[datetime, datetime]],
        transfers: bool = True) -> str:
    """The turn's own instructions: the clinic's local time and date, whether it is open, the caller's language.

    Rebuilt before every reply of the model, so that a long call (or one
    across midnight) never works from a stale clock. `opening` is
    scheduling.selectors.ClinicOpen at `moment`, `today_hours` the clinic's
    open intervals today (selectors.clinic_hours).
    """
    today = moment.date()
    week = ", ".join(
        f"{date_format(d, 'l j F')} = {d.isoformat()}" for d in (today + timedelta(days=i) for i in range(8))
    )
    name = SUPPORTED.get(language, SUPPORTED["en"])
    return (
        f"It is now {spoken.say_time(moment, 'en')} on {date_format(today, 'l j F Y')} "
        f"({moment:%Y-%m-%d %H:%M}, the clinic's local time). The next days are: {week}. "
        "For \"this morning\", \"this afternoon\" or \"later today\" search today: times already past are never "
        "offered.\n"
        f"{opening_line(opening, today)} {hours_line(today_hours) if opening else ''} "
        "Answer \"are you open now?\" and \"when do you open?\" from this.\n"
        f"{'' if transfers else NO_TRANSFERS}"
        f"The caller is speaking {name}: answer in {name}."
    )


# Told before every reply while nobody answers transfers (after hours, or
# outside the clinic profile's transfer hours).
NO_TRANSFERS = (
    "Nobody can take a transfer now: do not offer or attempt a transfer to staff, not even after problems or "
    "in an emergency; offer to take a message (take_message) instead. Booking, moving and cancelling work as "
    "usual.\n"
)


def opening_line(opening, today: date) -> str:
    if opening is None:
        return "The clinic's hours could not be read just now: call clinic_information for them."
    if opening.is_open:
        return f"The clinic is open now, until {spoken.say_time(opening.closes_at, 'en')} today."
    closed = "The clinic is closed now" + (f" ({opening.closure})" if opening.closure else "")
    if opening.opens_at is None:
        return closed + " and has no opening hours in the coming month."
    opens = opening.opens_at
    return closed + f"; it opens next {spoken.say_when(opens, 'en', today=today)}."


def hours_line(intervals: list[tuple[datetime, datetime]]) -> str:
    if not intervals:
        return "It has no opening hours today."
    spans = [f"{spoken.say_time(a, 'en')} to {spoken.say_time(b, 'en')}" for a, b in intervals]
    return "Today's opening hours: " + ", and ".join(spans) + "."


def greeting(*, clinic, language: str, part_of_day: str, caller_name: str = "", offer: list[str] = ()) -> list[str]:
    """The first words of a call: the greeting in the call's language, then a short offer of each other
    language in that language (none for a caller whose language we know)."""
    hello = LINES[language]["hello"][part_of_day]
    first_name = hygiene.first_name(caller_name)
    if first_name:
        text = line(language, "greeting_returning", hello=hello, first_name=first_name, clinic=clinic.name)
    else:
        text = line(language, "greeting", hello=hello, clinic=clinic.name)
    return [text] + [line(other, "offer") for other in offer]


def emergency(number: str, language: str = "en") -> str:
    if language == "ur" and number.isdigit():
        number = " ".join(spoken.urdu_number(int(d)) for d in number)
    return line(language, "emergency", number=number)
