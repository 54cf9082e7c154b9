"""The staged-file name expander: `file_name_pattern` with its placeholders → one safe object key name.

Placeholders: {date} (yyyy_MM_dd, UTC), {date:FORMAT} (Java SimpleDateFormat letters, UTC),
{timestamp} and {timestamp:millis} (epoch ms), {timestamp:micros} (epoch µs), {part_number}
(increasing per stream within the sync), {sync_id} (the platform's job id from WORKER_JOB_ID, else this
sync's id), {format_extension}. Surrounding spaces are trimmed and inner spaces become `_`. When the
pattern has no {part_number} the part number is appended, and the extension when it has no
{format_extension}, so two files of one stream and sync can never share a name.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..errors import ConfigError
from ..settings import job_id

MAX_NAME_LENGTH = 200
DEFAULT_PATTERN = "part_{part_number}"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _letter_run(letter: str, width: int, t: dt.datetime) -> str:
    """One run of a SimpleDateFormat letter, e.g. ('M', 2) → '11'."""
    def num(value: int) -> str:
        return str(value).zfill(width)

    if letter in "yY":
        year = t.year if letter == "y" else t.isocalendar()[0]
        return str(year)[-2:].zfill(2) if width == 2 else num(year)
    if letter == "M":
        if width >= 4:
            return _MONTHS[t.month - 1]
        if width == 3:
            return _MONTHS[t.month - 1][:3]
        return num(t.month)
    if letter == "d":
        return num(t.day)
    if letter == "D":
        return num(t.timetuple().tm_yday)
    if letter == "H":
        return num(t.hour)
    if letter == "k":
        return num(t.hour or 24)
    if letter == "K":
        return num(t.hour % 12)
    if letter == "h":
        return num(t.hour % 12 or 12)
    if letter == "m":
        return num(t.minute)
    if letter == "s":
        return num(t.second)
    if letter == "S":
        return num(t.microsecond // 1000)
    if letter == "E":
        return _DAYS[t.weekday()] if width >= 4 else _DAYS[t.weekday()][:3]
    if letter == "u":
        return num(t.isoweekday())
    if letter == "a":
        return "AM" if t.hour < 12 else "PM"
    if letter == "w":
        return num(t.isocalendar()[1])
    if letter in "zZX":
        return "UTC" if letter == "z" else ("Z" if letter == "X" else "+0000")
    raise ConfigError(f"file_name_pattern: date format letter '{letter}' is not supported.")


def java_date_format(fmt: str, t: dt.datetime) -> str:
    """Format ``t`` with a Java SimpleDateFormat pattern (letters, '' quoting, literal text)."""
    out = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "'":
            end = fmt.find("'", i + 1)
            if end == -1:
                raise ConfigError("file_name_pattern: unterminated quote in a {date:…} format.")
            out.append("'" if end == i + 1 else fmt[i + 1:end])
            i = end + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < len(fmt) and fmt[j] == c:
                j += 1
            out.append(_letter_run(c, j - i, t))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class FileNamer:
    """Names the staged files of one sync."""

    pattern: str
    sync_id: str
    extension: str = "parquet"

    def name(self, part_number: int, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now(dt.timezone.utc)
        pattern = self.pattern.strip() or DEFAULT_PATTERN
        epoch_us = int(now.timestamp()) * 1_000_000 + now.microsecond

        def expand(match: re.Match) -> str:
            token = match.group(1)
            if token == "date":
                return now.strftime("%Y_%m_%d")
            if token.startswith("date:"):
                return java_date_format(token[5:], now)
            if token in ("timestamp", "timestamp:millis"):
                return str(epoch_us // 1000)
            if token == "timestamp:micros":
                return str(epoch_us)
            if token == "part_number":
                return str(part_number)
            if token == "sync_id":
                return self.sync_id
            if token == "format_extension":
                return self.extension
            raise ConfigError(f"file_name_pattern: unknown placeholder '{{{token}}}'.")

        name = _PLACEHOLDER.sub(expand, pattern).strip().replace(" ", "_")
        if "{part_number}" not in pattern:
            name = f"{name}_{part_number}" if name else str(part_number)
        if "{format_extension}" not in pattern:
            name = f"{name}.{self.extension}"
        if len(name) > MAX_NAME_LENGTH:
            raise ConfigError(f"file_name_pattern: expands to {len(name)} characters; at most {MAX_NAME_LENGTH}.")
        if not _SAFE_NAME.match(name) or name.strip(".") == "":
            raise ConfigError(
                f"file_name_pattern: expands to {name!r}, which has characters unsafe in an object key "
                "(allowed: letters, digits, '_', '.', '-')."
            )
        return name

    def validate(self) -> None:
        """Raise ConfigError now, at check time, for a pattern that could not name a file."""
        self.name(0)


def sync_namer(pattern: str, sync_id: str, extension: str = "parquet") -> FileNamer:
    """The namer of one sync's files; {sync_id} is the platform's job id when it runs us, else the sync's own id."""
    return FileNamer(pattern, job_id() or sync_id, extension=extension)
