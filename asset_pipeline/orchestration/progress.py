"""placeholder"""


def draft_progress_line(done: int, total: int, detail: str) -> str:
    return f"drafts {done}/{total}: {detail}"
