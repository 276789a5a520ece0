"""`shown`: a value made safe to echo in an error, a summary, lineage output or the gallery.

Input can hold anything: a 1 MB prompt, a campaign id with terminal escape sequences,
bidirectional-override characters. Everything the pipeline echoes back goes through
`shown`, which escapes every non-printable character (`\\x1b`, `\\n`, `\\u202e`) and cuts
the result at `limit` characters with `…`, so one bad value is one short, inert line.
"""

from __future__ import annotations

VALUE_LIMIT = 80  # a value quoted inside a message
LINE_LIMIT = 400  # a whole message line (it may quote several values)


def shown(value: object, limit: int = VALUE_LIMIT) -> str:
    """`value` (str() of a non-string) with non-printable characters escaped, cut at `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    pieces, length = [], 0
    for char in text[: limit + 1]:  # escaping only lengthens: more input than this is never shown
        piece = char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        if length + len(piece) > limit:
            return "".join(pieces) + "…"
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces) if len(text) <= limit else "".join(pieces) + "…"
