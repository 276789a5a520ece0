"""Running tesseract: the one subprocess call, its environment, and its errors.

`run` returns tesseract's stdout or raises `OCRError` with one line saying why: not
installed, timed out, did not start, or exited non-zero (with its last stderr line).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

TESSERACT = "tesseract"
# Tesseract's English model reads accented letters as other letters (û as "i", ö as "é" or
# "6", ñ as "fi"), so a box whose text has non-ASCII letters is read with the Latin-script
# model (Debian: tesseract-ocr-script-latn) when it is installed. Only those boxes: the
# Latin model is a little less sure of plain English ("Terms" read as "Tems").
ENGLISH, LATIN_SCRIPT = "eng", "Latin"


class OCRError(RuntimeError):
    """Tesseract is missing, failed or timed out; the message says which."""


def tesseract_env() -> dict[str, str]:
    """The environment for a tesseract process: one OpenMP thread.

    Tesseract's OpenMP threads fight each other when several tesseracts run at once (one
    per worker); one thread each is faster in total. It is set for tesseract only, never
    in this process's environment: torch, imported later, would read it and generate
    drafts on one thread. An explicit setting by the user wins.
    """
    return {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}


@functools.cache
def installed_models() -> frozenset[str]:
    """The language models tesseract lists (empty when it is missing or fails)."""
    if shutil.which(TESSERACT) is None:
        return frozenset()
    try:
        done = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(done.stdout.split()) if done.returncode == 0 else frozenset()


def ocr_available() -> bool:
    """Whether the tesseract binary runs and has the English model."""
    return ENGLISH in installed_models()


def run(image: str, lang: str, psm: int, timeout: float, *extra: str, what: str = "the image") -> str:
    """Tesseract's stdout (decoded) for `image` (a file, or a text file listing one image per line).

    `extra` are trailing config names ("tsv"); `what` names the input in a timeout's message.
    """
    if not ocr_available():
        raise OCRError(f"{TESSERACT!r} is not installed or has no 'eng' model")
    command = [TESSERACT, image, "stdout", "-l", lang, "--oem", "1", "--psm", str(psm), *extra]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=tesseract_env())
    except subprocess.TimeoutExpired:
        raise OCRError(f"tesseract timed out on {what}") from None
    except OSError as exc:
        raise OCRError(f"tesseract did not start: {exc}") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OCRError(f"tesseract exited {done.returncode}: {stderr[-1] if stderr else 'no message'}")
    return done.stdout.decode("utf-8", "replace")
