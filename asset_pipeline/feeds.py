"""CSV feeds: `assets_csv: spring.csv` in a brief names a CSV beside it, one asset per row.

The header names asset fields (the same pydantic model as YAML assets validates each row,
so the rules are one); list fields (`sizes`, `formats`) are separated by `;`, and `max_kb`
is a number or `format:number` pairs (`webp:150;jpeg:200`). Empty cells are left out.
Every problem names file and line (the line the row starts on) and the column:
`briefs/spring.csv:14: sizes: '300x25o' is not WxH`.

Hostile feeds get one clean line each, never a traceback: a UTF-8 byte-order mark is
accepted (spreadsheets write one), any other encoding, a NUL byte, a wrong delimiter,
ragged rows, more rows than a campaign may hold (reading stops there), broken quoting and
cells that look like spreadsheet formulas (`=cmd|' /C calc'!A0`: harmless here, but the
values reach published metadata and CSV exports that people open in spreadsheets) are
refused. A quoted cell may hold a newline; line numbers stay those of the file.
"""

from __future__ import annotations

import csv
import io
import re
import typing
from pathlib import Path

from pydantic import ValidationError

from asset_pipeline.echo import shown
from asset_pipeline.specs import (
    MAX_ASSETS,
    MAX_INPUT_BYTES,
    AssetSpec,
    Brief,
    InputError,
    Problem,
    _problems,
)
from asset_pipeline.specs import load_brief as load_brief_file

LIST_FIELDS = ("sizes", "formats")
MAX_PROBLEMS = 50  # a feed of 100k bad rows is reported in a screenful, with the count of the rest
INTEGER_RE = re.compile("[0-9]{1,12}")
NUMBER_RE = re.compile("[0-9]{1,9}([.][0-9]{1,6})?")
# Spreadsheets evaluate a cell that starts with `=` or `@` (and `+`/`-` followed by a formula),
# and a leading tab or carriage return hides one.
FORMULA_RE = re.compile(r"[=@\t\r].*|[+-].*[(|!=].*", re.DOTALL)


def _is_integer_field(name: str) -> bool:
    hint = AssetSpec.model_fields[name].annotation
    return hint is int or int in typing.get_args(hint)


def _cell(name: str, text: str) -> object:
    """A cell's text as the value the asset model expects (the model still validates it)."""
    if name in LIST_FIELDS:
        return [item.strip() for item in text.split(";") if item.strip()]
    if name == "max_kb":
        if NUMBER_RE.fullmatch(text.strip()):
            return float(text)
        pairs = {}
        for item in (part.strip() for part in text.split(";") if part.strip()):
            key, sep, value = item.partition(":")
            if not sep or not NUMBER_RE.fullmatch(value.strip()):
                return text  # the model says what is wrong with it
            pairs[key.strip()] = float(value)
        return pairs
    if _is_integer_field(name) and INTEGER_RE.fullmatch(text.strip()):
        return int(text)
    return text


def _decode(path: Path, label: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(label, "", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError([Problem(label, "", f"file is {len(raw)} bytes; the limit is {MAX_INPUT_BYTES}")])
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is dropped
    except UnicodeDecodeError as exc:
        raise InputError([Problem(label, "", f"not UTF-8 (byte {exc.start}); save the CSV as UTF-8")]) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError([Problem(f"{label}:{line}", "", "holds a NUL byte: not a text CSV")])
    if not text.strip():
        raise InputError([Problem(label, "", "file is empty")])
    return text


def _header_problems(header: list[str], label: str) -> list[Problem]:
    where = f"{label}:1"
    if len(header) == 1 and (found := next((d for d in (";", "\t", "|") if d in header[0]), None)):
        return [Problem(where, "", f"one column '{shown(header[0])}': fields are separated by ',' (not {found!r})")]
    problems = []
    known = set(AssetSpec.model_fields)
    for name in header:
        if name == "locales":  # a cell cannot hold a map of tags to copy
            problems.append(Problem(where, name, "give locales in the brief (campaign-wide, or per asset in YAML)"))
        elif name not in known:
            problems.append(Problem(where, shown(name) or "(empty)", "unknown column (typo?)"))
    for name in sorted({n for n in header if header.count(n) > 1}):
        problems.append(Problem(where, name, "column is named twice"))
    for name in ("id", "prompt", "sizes"):
        if name not in header:
            problems.append(Problem(where, name, "required column is missing"))
    return problems


def read_feed(path: Path, label: str) -> list[tuple[int, AssetSpec]]:
    """(line, asset) for each row of a feed; raises InputError with every problem found."""
    text = _decode(path, label)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    assets: list[tuple[int, AssetSpec]] = []
    try:
        header = [name.strip() for name in next(reader)]
        if problems := _header_problems(header, label):
            raise InputError(problems)
        rows = 0
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            rows += 1
            where = f"{label}:{start}"
            if rows > MAX_ASSETS:
                problems.append(Problem(where, "", f"more than {MAX_ASSETS} rows; a campaign holds at most that"))
                break
            if len(cells) != len(header):
                problems.append(Problem(where, "", f"{len(cells)} fields, the header has {len(header)}"))
                continue
            data, bad = {}, False
            for name, cell in zip(header, cells):
                if FORMULA_RE.fullmatch(cell):
                    problems.append(Problem(where, name, f"'{shown(cell)}' looks like a spreadsheet formula"))
                    bad = True
                elif cell.strip():
                    data[name] = _cell(name, cell)
            if bad:
                continue
            try:
                assets.append((start, AssetSpec.model_validate(data)))
            except ValidationError as exc:
                problems += _problems(exc, where, data)
    except csv.Error as exc:
        problems.append(Problem(f"{label}:{reader.line_num}", "", f"not a well-formed CSV ({exc})"))
    if problems:
        if len(problems) > MAX_PROBLEMS:
            rest = len(problems) - MAX_PROBLEMS
            problems = problems[:MAX_PROBLEMS] + [Problem(label, "", f"and {rest} more problems")]
        raise InputError(problems)
    return assets


def feed_path(brief_file: Path, brief: Brief) -> Path | None:
    """The feed a brief names, which must be a file in the brief's own folder; None when it names none."""
    if brief.assets_csv is None:
        return None
    folder = brief_file.parent.resolve()
    path = (folder / brief.assets_csv).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def load_brief(path: Path, label: str | None = None) -> Brief:
    """The brief with its feed's assets merged in (ids unique across both); raises InputError."""
    label = label or str(path)
    brief = load_brief_file(path, label)
    if brief.assets_csv is None:
        return brief
    csv_label = f"{label.rpartition('/')[0]}/{brief.assets_csv}" if "/" in label else brief.assets_csv
    feed = feed_path(path, brief)
    if feed is None:
        reason = "no such file beside the brief (or a link out of its folder)"
        raise InputError([Problem(label, "assets_csv", f"'{brief.assets_csv}': {reason}")])
    rows = read_feed(feed, csv_label)
    problems = []
    where_id = {asset.id: f"{label} assets" for asset in brief.assets}
    for line, asset in rows:
        if asset.id in where_id:
            problems.append(
                Problem(f"{csv_label}:{line}", "id", f"'{asset.id}' is also an asset in {where_id[asset.id]}")
            )
        else:
            where_id[asset.id] = f"{csv_label}:{line}"
    total = len(brief.assets) + len(rows)
    if total > MAX_ASSETS:
        problems.append(
            Problem(label, "assets", f"{total} assets with the feed; a campaign holds at most {MAX_ASSETS}")
        )
    if total == 0:
        problems.append(Problem(csv_label, "", "the feed has no rows and the brief no assets"))
    if problems:
        raise InputError(problems)
    return brief.model_copy(update={"assets": [*brief.assets, *(asset for _, asset in rows)]})
