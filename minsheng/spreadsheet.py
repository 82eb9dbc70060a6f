"""Exported cells that a spreadsheet shows as text, never runs: no formula injection.

A citizen's free text that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return
before one) is run as a formula when an organiser opens the CSV in Excel or WPS: ``=HYPERLINK``
sends the sheet's other cells to any address, ``=cmd|…`` asks to start a program. In CSV the
cell gets a leading apostrophe (the convention both read as "text"); in XLSX the cell is typed
as a string, so it keeps exactly what was sent. Bidirectional controls are dropped on the way
out too (``minsheng.bidi``): answers kept in JSON are not cleaned on save.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from minsheng.bidi import strip_bidi_controls

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would run gets a leading apostrophe."""
    if not isinstance(value, str):
        return value
    text = strip_bidi_controls(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """Cells for ``sheet.append`` (write-only sheets too): every text typed as a string."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=strip_bidi_controls(value))
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
