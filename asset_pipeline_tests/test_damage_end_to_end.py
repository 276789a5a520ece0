"""Damage between runs, through the real CLI: the next run repairs it and says so, with no new version."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from asset_pipeline.storage.objects import encode_png
from asset_pipeline_tests.conftest import cli, write_brief

BRIEF = """\
campaign: damage
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug on a wooden table"
    headline: "Spring Sale"
    sizes: ["512x512"]
"""


@pytest.mark.slow
def test_swapped_draft_and_deleted_file_are_repaired_without_a_new_version(home):
    write_brief(home, "damage", BRIEF)
    first = cli(home, "run", "damage")
    assert first.returncode == 0, first.stdout + first.stderr
    entry = json.loads((home / "published" / "damage" / "manifest.json").read_text())["deliverables"][0]
    original = (home / entry["path"]).read_bytes()

    # A draft object swapped for another valid PNG under its name, and the published file deleted.
    drafts = json.loads(cli(home, "sql", "SELECT image_sha256 FROM drafts", "--format", "json").stdout)
    draft = home / "objects" / drafts[0]["image_sha256"][:2] / f"{drafts[0]['image_sha256']}.png"
    draft.write_bytes(encode_png(Image.new("RGB", (64, 64), "#ff00ff")))
    (home / entry["path"]).unlink()
    assert cli(home, "verify").returncode == 1

    second = cli(home, "run", "damage")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "(0 new versions)" in second.stdout
    assert f"repaired 1 published file(s) from objects/: {entry['path']}" in second.stdout
    assert "1 damaged object(s) moved to objects/.corrupt/ and made again" in second.stdout
    assert "drafts 1 generated" in second.stdout  # the swapped draft was made again, not trusted
    assert (home / entry["path"]).read_bytes() == original
    verified = cli(home, "verify", "damage")
    assert verified.returncode == 0 and "0 problem(s)" in verified.stdout

    (home / entry["latest_path"]).write_bytes(b"not a png")
    broken = cli(home, "verify")
    lines = broken.stderr.strip().splitlines()
    assert broken.returncode == 1 and len(lines) == 1
    assert lines[0].startswith(f"{entry['latest_path']}: sha256 ")
    assert lines[0].endswith(f"differs from v1's {entry['sha256'][:12]}…")
