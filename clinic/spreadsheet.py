"""CSV downloads that a spreadsheet opens as data, never as formulas.

A cell that starts with =, +, -, @, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula ("CSV injection"): a
patient named "=HYPERLINK(...)" would run in the receptionist's spreadsheet.
Such cells get a leading apostrophe, as OWASP recommends. (defusedcsv does
the same but leaves tab and carriage return alone, so it is not used.)

Rows are streamed: an export of every appointment of a year never sits in
memory whole.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    """A file-like sink for csv.writer that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Line())
    # A byte-order mark, so Excel reads the names as UTF-8.
    yield "\ufeff" + writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
