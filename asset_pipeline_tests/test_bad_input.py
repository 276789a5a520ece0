"""The bad-input corpus: every broken brief or brand file gets exit 2 and one clear line
naming file and field, with no traceback, nothing written, and no code executed."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from asset_pipeline_tests.conftest import cli, make_home, write_brief

CORPUS = Path(__file__).parent / "bad_inputs"
PWNED = Path("/tmp/asset_pipeline_pwned")

GOOD = """\
campaign: good
brand: acme
assets:
  - id: hero
    prompt: "ceramic mug"
    headline: "Spring Sale"
    sizes: ["256x256"]
"""

# case file -> what its message must contain (besides the file's name)
EXPECTED = {
    "brief-yaml-syntax": "invalid YAML",
    "brief-tab-indent": "invalid YAML",
    "brief-empty": "file is empty",
    "brief-only-comment": "file is empty",
    "brief-list-top": "expected a mapping",
    "brief-scalar-top": "expected a mapping",
    "brief-non-utf8": "not UTF-8",
    "brief-utf16": "not UTF-8",
    "brief-python-tag": "could not determine a constructor",
    "brief-python-name": "could not determine a constructor",
    "brief-custom-tag": "could not determine a constructor",
    "brief-missing-campaign": "campaign: required field is missing",
    "brief-missing-brand": "brand: required field is missing",
    "brief-missing-assets": "assets: at least one asset, here or in an assets_csv feed",
    "brief-empty-assets": "assets: at least one asset, here or in an assets_csv feed",
    "brief-assets-not-list": "assets: Input should be a valid list",
    "brief-missing-prompt": ".prompt: required field is missing",
    "brief-missing-sizes": ".sizes: required field is missing",
    "brief-unknown-top-key": "priority: unknown key",
    "brief-unknown-asset-key": ".colour: unknown key",
    "brief-unknown-brand": "brand: brand 'nobody' has no file",
    "brief-unknown-model": ".model: unknown model 'sd99'",
    "brief-wrong-campaign": "campaign: 'other' must equal",
    "brief-id-dotdot": ".id: String should match pattern",
    "brief-id-slash": ".id: String should match pattern",
    "brief-id-uppercase": ".id: String should match pattern",
    "brief-id-number": ".id: Input should be a valid string",
    "brief-brand-dotdot": "brand: String should match pattern",
    "brief-duplicate-ids": "asset id 'hero' is used twice",
    "brief-duplicate-key": "duplicate key 'brand'",
    "brief-size-huge": ".sizes: '100000x100000'",
    "brief-size-zero": ".sizes: '0x0'",
    "brief-size-malformed": "is not WxH",
    "brief-size-negative": "is not WxH",
    "brief-size-int": ".sizes[0]: Input should be a valid string",
    "brief-sizes-empty": ".sizes: List should have at least 1",
    "brief-duplicate-size": "sizes are listed twice",
    "brief-headline-too-long": ".headline: String should have at most 120",
    "brief-cta-too-long": ".cta: String should have at most 40",
    "brief-body-too-long": ".body: String should have at most 300",
    "brief-prompt-blank": ".prompt: prompt is blank",
    "brief-prompt-too-long": ".prompt: String should have at most 2000",
    "brief-variants-zero": ".variants: Input should be greater than or equal to 1",
    "brief-variants-many": ".variants: Input should be less than or equal to 16",
    "brief-variants-string": ".variants: Input should be a valid integer",
    "brief-variants-float": ".variants: Input should be a valid integer",
    "brief-seed-negative": ".seed: Input should be greater than or equal to 0",
    "brief-seed-huge": ".seed: Input should be less than or equal to 4294967295",
    "brief-tier-unknown": ".tier: Input should be 'draft' or 'final'",
    "brief-headline-list": ".headline: Input should be a valid string",
    "brief-prompt-null": ".prompt: Input should be a valid string",
    "brief-anchor-bomb": "",
    "brand-yaml-syntax": "invalid YAML",
    "brand-unknown-key": "min_contrst: unknown key",
    "brand-wrong-name": "brand: 'other' must equal",
    "brand-bad-color": "colors.text: 'white' is not a #RRGGBB colour",
    "brand-bad-accent": "colors.accent: '#GGGGGG' is not a #RRGGBB colour",
    "brand-contrast-string": "min_contrast: Input should be a valid number",
    "brand-contrast-too-high": "min_contrast: Input should be less than or equal to 21",
    "brand-margin-too-big": "safe_margin: Input should be less than 0.4",
    "brand-min-font-zero": "min_font_px: Input should be greater than or equal to 6",
    "brand-similarity-over-one": "ocr_min_similarity: Input should be less than or equal to 1",
    "brand-unknown-font": "fonts.headline: ",
    "brand-font-path-missing": "fonts.body: ",
    "brand-font-not-a-font": "fonts.body: ",
    "brand-banned-not-list": "banned_terms: Input should be a valid list",
    "brand-empty": "file is empty",
    "brand-python-tag": "could not determine a constructor",
    "brand-non-utf8": "not UTF-8",
    # Matched whole, over ASCII: no trailing newline, no non-ASCII digits (specs.py).
    "brief-size-newline": ".sizes: '256x256\\n' is not WxH",
    "brief-size-arabic-digits": "is not WxH",
    "brief-size-fullwidth-digits": "is not WxH",
    "brief-id-newline": ".id: String should match pattern",
    "brief-campaign-newline": "campaign: String should match pattern",
    "brief-model-newline": ".model: String should match pattern",
    "brand-color-newline": "colors.text: '#FFFFFF\\n' is not a #RRGGBB colour",
    "brand-accent-newline": "colors.accent: '#FF5A36\\n' is not a #RRGGBB colour",
    # Whatever raised it, one file: field: problem line.
    "brief-deep-nesting": "invalid YAML: nested too deeply",
    "brand-font-null-byte": "fonts.body: font name 'DejaVu\\x00Sans' has control characters",
    # Echoed values are escaped and cut (echo.shown).
    "brief-size-escape": ".sizes: '\\x1b[31m256x256\\x1b]0;pwned\\x07' is not WxH",
    "brand-color-escape": "colors.text: '\\x1b[2J\\x1b[31mred' is not a #RRGGBB colour",
    "brief-prompt-huge": ".prompt: String should have at most 2000 characters (got 'mug mug",
    "brief-unknown-key-huge": "kkkkkkkk…: unknown key",
}
MAX_LINE = 500  # characters: a problem line quotes values cut at 80 (echo.shown)


def digest(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def published_home(tmp_path_factory, tiny_model):
    home = make_home(tmp_path_factory.mktemp("bad") / "home", tiny_model)
    write_brief(home, "good", GOOD)
    result = cli(home, "run", "good")
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def test_corpus_is_complete():
    cases = sorted(p.stem for p in CORPUS.glob("*.yaml"))
    assert len(cases) >= 50 and set(cases) == set(EXPECTED)


def main_in_process(home: Path, monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`asset-pipeline ARGS` through the same entry point, in this process: the corpus stays
    end to end (argument parsing, validation, the error lines) without a Python start per case."""
    from asset_pipeline.cli import main

    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_input(published_home, case, monkeypatch, capsys):
    home = published_home
    before = {name: digest(home / name) for name in ("published", "tables", "objects")}
    brand = home / "brands" / "acme.yaml"
    original_brand = brand.read_bytes()
    if case.startswith("brief-"):
        shutil.copy(CORPUS / f"{case}.yaml", home / "briefs" / "bad.yaml")
        label, campaign = "briefs/bad.yaml", "bad"
    else:
        shutil.copy(CORPUS / f"{case}.yaml", brand)
        label, campaign = "brands/acme.yaml", "good"
    try:
        for command in (["validate"], ["run", campaign]):
            code, stderr = main_in_process(home, monkeypatch, capsys, *command)
            assert code == 2, (command, stderr)
            assert "Traceback" not in stderr
            lines = stderr.strip().splitlines()
            assert lines and any(line.startswith(label + ": ") and EXPECTED[case] in line for line in lines), lines
            assert all(len(line) <= MAX_LINE for line in lines), [len(line) for line in lines]
            assert not any(char in stderr for char in "\x1b\x07\x00\r"), stderr
        assert not PWNED.exists()
        assert {name: digest(home / name) for name in ("published", "tables", "objects")} == before
    finally:
        (home / "briefs" / "bad.yaml").unlink(missing_ok=True)
        brand.write_bytes(original_brand)


# ------------------------------------------------- a damaged home, and ids given on the command line


def test_damaged_home_gives_one_line_per_problem(tmp_path, tiny_model):
    """Symlink loops, a directory where a file should be and a brand linked out of the home:
    each is a file: field: problem line, exit 2, no traceback, for `validate` and `run`."""
    home = make_home(tmp_path / "home", tiny_model)
    write_brief(home, "good", GOOD)
    (home / "models.yaml").unlink()
    (home / "models.yaml").symlink_to("models.yaml")  # a symlink loop
    (home / "briefs" / "loop.yaml").symlink_to("loop.yaml")
    (home / "briefs" / "folder.yaml").mkdir()
    (home / "brands" / "folder.yaml").mkdir()
    outside = tmp_path / "elsewhere" / "outside.yaml"
    outside.parent.mkdir()
    outside.write_text("brand: outside\n")
    (home / "brands" / "outside.yaml").symlink_to(outside)
    write_brief(home, "away", GOOD.replace("campaign: good", "campaign: away").replace("brand: acme", "brand: outside"))

    expected = [
        "models.yaml: cannot read: Too many levels of symbolic links",
        "briefs/loop.yaml: campaign: path 'briefs/loop.yaml' cannot be resolved",
        "briefs/folder.yaml: cannot read: Is a directory",
        "briefs/away.yaml: brand: brands/outside.yaml escapes the home folder",
    ]
    for command, more in (
        (
            ["validate"],
            ["brands/folder.yaml: cannot read: Is a directory", "brands/outside.yaml: escapes the home folder"],
        ),
        (["run", "--all"], []),
    ):
        result = cli(home, *command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and "error:" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        for wanted in expected + more:
            assert any(line.startswith(wanted) for line in lines), (command, wanted, lines)
    assert not (home / "published").exists() and not (home / "tables").exists()


def test_command_line_campaign_ids_are_checked_before_anything_is_touched(tmp_path, tiny_model):
    home = make_home(tmp_path / "home", tiny_model)
    write_brief(home, "good", GOOD)
    result = cli(home, "run", "../x", "good/../good", "\x1b[31mred", "good\n", "١٠")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("asset-pipeline run: CAMPAIGN: '") for line in lines), lines
    assert "'\\x1b[31mred' is not a campaign id" in result.stderr and "\x1b" not in result.stderr
    compare = cli(home, "compare", "../x", "--models", "tiny")
    assert compare.returncode == 2 and compare.stderr.startswith("asset-pipeline compare: CAMPAIGN: '../x'")
    # Neither the Dagster instance nor any output folder was created, so no partition either.
    assert sorted(p.name for p in home.iterdir()) == ["brands", "briefs", "models", "models.yaml"]
