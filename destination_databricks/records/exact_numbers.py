"""The numbers of DECIMAL columns read from their own text, never through a double (number_column_type DECIMAL).

A batch's records are parsed by orjson (records/reading.py), which reads every number with a fraction or an
exponent as a double. A double holds any number of up to 15 significant digits exactly, and its shortest text
(`repr`) is then that number, so records/convert.py takes such values as they are. A number of 16 digits or more
with a fraction or exponent, or with a 3-digit exponent (`1E-400` reads as 0.0), may not be what its text says:
for a DECIMAL column's property, its text is taken instead. Integers are exact as orjson reads them (up to 64
bits; records/reading.py reads wider ones exactly).

The texts are found by one pattern per batch over the records' bytes: the property's quoted name, `:`, a long
number. A record whose name appears more than once (the same name nested too), or whose names may be spelled
with escapes, is read again whole, with every such number as its text.
"""
from __future__ import annotations

import re
from bisect import bisect_right

import orjson

from ..jsontext import loads_fractions_as_text
from .buffer import StreamBuffer

_SPACE = rb"[ \t\r\n]*"
_LONG = rb"(-?(?:(?=[0-9.]{16})[0-9]*[.eE][0-9.eE+-]*|[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]{3,}))"
# Any long number (for records that may spell names with escapes): as above, the name not known.
_ANY_LONG = re.compile(rb"[:,\[]" + _SPACE + _LONG)


class ExactNumbers:
    """The long numbers of a buffer's DECIMAL-column properties (``keys``), found once per batch."""

    def __init__(self, buffer: StreamBuffer, keys: tuple[str, ...], rewritten: dict[int, bytes]):
        """``rewritten``: rows whose text was read again from their line (records/reading.py): read whole."""
        self.buffer, self.keys = buffer, keys
        self.rows: dict[int, dict[str, str] | None] = {}  # row → key → the number's text (None: read it whole)
        data, ends = bytes(buffer.data), buffer.data_ends
        quoted = {orjson.dumps(key): key for key in keys}
        pattern = re.compile(b"(" + b"|".join(re.escape(q) for q in quoted) + b")" + _SPACE + b":" + _SPACE + _LONG)
        for found in pattern.finditer(data):
            row = bisect_right(ends, found.start()) - 1
            texts = self.rows.setdefault(row, {})
            if texts is None:
                continue
            name = found.group(1)
            if name in quoted and quoted[name] not in texts and data.count(name, ends[row], ends[row + 1]) == 1:
                texts[quoted[name]] = found.group(2).decode()
            else:
                self.rows[row] = None
        if b"\\" in data:  # a name may be spelled with escapes: a record with an escape and a long number is read whole
            for found in _ANY_LONG.finditer(data):
                row = bisect_right(ends, found.start()) - 1
                if b"\\" in data[ends[row]:ends[row + 1]]:
                    self.rows[row] = None
        self.rewritten = rewritten  # (filled as the batch's chunks are read: looked at in ``fill``)

    def fill(self, datas: list[dict], start: int) -> None:
        """Put the exact texts into ``datas`` (the parsed records from row ``start``), for the DECIMAL columns."""
        view, ends = memoryview(self.buffer.data), self.buffer.data_ends
        rows, rewritten = self.rows, self.rewritten
        for row in range(start, start + len(datas)):
            texts: dict[str, str] | None
            if row in rewritten:  # its own text decides
                texts = None if _ANY_LONG.search(rewritten[row]) else {}
            elif row in rows:
                texts = rows[row]
            else:
                continue
            if texts is None:
                exact = loads_fractions_as_text(bytes(rewritten.get(row) or view[ends[row]:ends[row + 1]]))
                texts = {key: exact[key] for key in self.keys if key in exact}
            data = datas[row - start]
            for key, number in texts.items():
                if key in data:
                    data[key] = number
