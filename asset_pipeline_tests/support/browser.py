"""Headless Debian Chromium for tests and benchmarks, and waiting for a server a test started."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def start_chromium(window: str = "1400,1000", *extra: str):
    """A selenium driver over Debian's chromium and chromedriver (nothing is downloaded)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*ARGUMENTS, f"--window-size={window}", *extra):
        options.add_argument(argument)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)), options=options)


def wait_until_serving(process: subprocess.Popen, url: str, what: str, seconds: float = 180) -> None:
    """Until `url` answers; fails with the server's output if it exits first, or after `seconds`."""
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else what
            assert time.time() < deadline, f"{what} did not start"
            time.sleep(0.3)
