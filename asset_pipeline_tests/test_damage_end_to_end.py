"""Damage between runs, through the real CLI: the next run repairs it and says so, with no new version."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from asset_pipeline.storage.objects import encode_png
from asset_pipeline_tests.conftest import cli, make_home, write_brief
from asset_pipeline_tests.support.damage import damage_file

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


# ------------------------------------------- a fresh home: the first nightly, then damaged table files

SMALL = """\
campaign: {campaign}
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug, {campaign}"
    headline: "Sale"
    sizes: ["256x256"]
"""
DERIVED_DAMAGE = {  # every derived table of one campaign, each damaged a different way
    "snapshots": "random bytes",
    "briefs": "cut to half",
    "drafts": "zero length",
    "layouts": "another table's schema",
    "renders": "random bytes",
    "checks": "cut to half",
    "files": "another table's schema",
}


def test_the_fingerprint_is_the_same_before_and_after_the_tiny_models_first_build(home, tiny_model, monkeypatch):
    """The first run of a fresh home builds `tiny` after its snapshot: the fingerprint must not see that."""
    from asset_pipeline.models import registry as registry_module
    from asset_pipeline.stages.briefs import models_part

    (home / "models" / "tiny").unlink()  # a fresh home: built on first use

    def build(folder):  # the first use's build, without its seconds: the shared build, linked in
        if not folder.exists():
            folder.symlink_to(tiny_model, target_is_directory=True)
        return folder

    monkeypatch.setattr(registry_module, "ensure_tiny_model", build)
    registry = registry_module.load_registry(home)
    before = models_part(registry)
    registry.resolve_path(registry.models["tiny"])  # the drafts stage's first use
    assert (home / "models" / "tiny").exists()
    assert models_part(registry) == before


def _tree(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_fresh_build_then_nightly_runs_nothing_and_damaged_tables_are_made_again(tmp_path, tiny_model):
    home = make_home(tmp_path / "home", tiny_model)
    (home / "models" / "tiny").unlink()  # a fresh home: the first range run builds the tiny model
    for campaign in ("a", "b", "c"):
        write_brief(home, campaign, SMALL.format(campaign=campaign))
    build = cli(home, "run", "--all", "--batch", "2", "--quiet")  # two range runs: a..b, then c
    assert build.returncode == 0, build.stdout + build.stderr
    assert build.stdout.count("1 published (1 new versions)") == 3

    nightly = cli(home, "run", "--all", "--changed", "--batch", "2", "--quiet")
    assert nightly.returncode == 0, nightly.stdout + nightly.stderr
    assert nightly.stdout.splitlines() == [
        f"{c}: up to date (inputs unchanged since its last publication); no run" for c in ("a", "b", "c")
    ]

    # Every derived table of `a` damaged; the history of `b` and the decisions of `c` too.
    tables = home / "tables"
    published_before = _tree(home / "published" / "a")
    for table, kind in DERIVED_DAMAGE.items():
        damage_file(tables / table / "a.parquet", kind, other=tables / "approvals" / "a.parquet")
    damage_file(tables / "publications" / "b.parquet", "cut to half", other=None)
    damage_file(tables / "approvals" / "c.parquet", "another table's schema", other=tables / "drafts" / "c.parquet")
    verified = cli(home, "verify")
    assert verified.returncode == 1
    named = {line.split(":")[0] for line in verified.stderr.splitlines() if line.startswith("tables/")}
    assert named == {f"tables/{t}/a.parquet" for t in DERIVED_DAMAGE} | {
        "tables/publications/b.parquet",
        "tables/approvals/c.parquet",
    }

    again = cli(home, "run", "--all", "--batch", "2", "--quiet")
    assert again.returncode == 2, again.stdout + again.stderr  # b and c refused, a published
    lines = again.stdout.splitlines()
    assert lines[0].startswith("a: 1 published (0 new versions), 0 rejected; drafts 0 generated, 1 reused")
    repaired = sorted(line for line in lines if line.startswith("  repaired: "))
    assert [line.split()[1] for line in repaired] == sorted(f"tables/{t}/a.parquet" for t in DERIVED_DAMAGE)
    assert all(line.endswith("; made again") and " was unreadable (" in line for line in repaired)
    assert _tree(home / "published" / "a") == published_before  # the same publication, byte for byte
    for campaign, table, what in (("b", "publications", "version history"), ("c", "approvals", "decisions")):
        (line,) = [line for line in lines if line.startswith(f"{campaign}: ")]
        assert "FAILED" in line and f"tables/{table}/{campaign}.parquet is unreadable (" in line
        assert what in line and "restore it from a backup of the home" in line
    assert len(list((tables / ".corrupt").glob("*/a.*.parquet"))) == len(DERIVED_DAMAGE)
    assert (tables / "publications" / "b.parquet").exists()  # refused, never moved or overwritten
    assert cli(home, "verify", "a").returncode == 0
