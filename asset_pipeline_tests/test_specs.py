"""Brief and brand schemas: what is accepted, and the one-line problems for what is not."""

from pathlib import Path

import pytest

from asset_pipeline.specs import InputError, load_brand, load_brief, parse_size

GOOD_BRIEF = """\
campaign: spring-sale
brand: acme
assets:
  - id: hero
    prompt: "mug on a table"
    headline: "Spring Sale"
    sizes: ["1080x1080", "728x90"]
    variants: 2
    seed: 7
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def problems(loader, path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        loader(path, path.name)
    return [str(p) for p in info.value.problems]


def test_good_brief_loads_with_defaults(tmp_path):
    brief = load_brief(write(tmp_path, "spring-sale.yaml", GOOD_BRIEF))
    asset = brief.assets[0]
    assert (asset.tier, asset.variants, asset.seed, asset.model) == ("draft", 2, 7, None)
    assert asset.sizes == ["1080x1080", "728x90"]


@pytest.mark.parametrize(
    "size, ok",
    [
        ("64x64", True),
        ("4096x4096", True),
        ("31x100", False),
        ("320x50", True),
        ("32x32", True),
        ("100x4097", False),
        ("0x0", False),
        ("100*100", False),
        ("1e3x10", False),
    ],
)
def test_sizes(size, ok):
    if ok:
        assert parse_size(size) == tuple(int(v) for v in size.split("x"))
    else:
        with pytest.raises(ValueError):
            parse_size(size)


@pytest.mark.parametrize(
    "change, replacement, field, words",
    [
        ("campaign: spring-sale", "campaign: other", "campaign", "must equal the file's stem"),
        ("    variants: 2", "    variants: 17", "assets[0](id=hero).variants", "less than or equal to 16"),
        ("    seed: 7", '    seed: "seven"', "assets[0](id=hero).seed", "integer"),
        (
            '    headline: "Spring Sale"',
            '    headline: "' + "x" * 121 + '"',
            "assets[0](id=hero).headline",
            "at most 120",
        ),
        ('    sizes: ["1080x1080", "728x90"]', '    sizes: ["big"]', "assets[0](id=hero).sizes", "WxH"),
        ("  - id: hero", "  - id: ../etc", "assets[0](id=../etc).id", "pattern"),
    ],
)
def test_field_problems_name_file_and_field(tmp_path, change, replacement, field, words):
    path = write(tmp_path, "spring-sale.yaml", GOOD_BRIEF.replace(change, replacement))
    lines = problems(load_brief, path)
    assert any(line.startswith(f"spring-sale.yaml: {field}: ") and words in line for line in lines), lines


def test_unknown_keys_are_errors_in_briefs_and_brands(tmp_path):
    brief = write(tmp_path, "spring-sale.yaml", GOOD_BRIEF.replace("    seed: 7", "    seed: 7\n    colour: red"))
    assert problems(load_brief, brief) == ["spring-sale.yaml: assets[0](id=hero).colour: unknown key (typo?)"]
    brand = write(tmp_path, "acme.yaml", "brand: acme\nmin_contrst: 3\n")
    assert problems(load_brand, brand) == ["acme.yaml: min_contrst: unknown key (typo?)"]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "file is empty"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"campaign: [unclosed", "invalid YAML at line"),
        (b"- just\n- a list\n", "expected a mapping"),
        (b"campaign: a\ncampaign: b\n", "duplicate key 'campaign'"),
        (b"campaign: !!python/object/apply:os.system ['touch /tmp/pwned']\n", "could not determine a constructor"),
    ],
)
def test_unparseable_files(tmp_path, content, words):
    lines = problems(load_brief, write(tmp_path, "x.yaml", content))
    assert len(lines) == 1 and lines[0].startswith("x.yaml: ") and words in lines[0], lines


def test_duplicate_asset_ids(tmp_path):
    text = GOOD_BRIEF + GOOD_BRIEF.split("assets:\n")[1]
    lines = problems(load_brief, write(tmp_path, "spring-sale.yaml", text))
    assert any("asset id 'hero' is used twice" in line for line in lines)


def test_brand_rules(tmp_path):
    brand = load_brand(write(tmp_path, "acme.yaml", "brand: acme\ncolors:\n  text: ['#000000']\nstyle: warm\n"))
    assert brand.min_contrast == 4.5 and brand.colors.text == ["#000000"]
    assert brand.generation_part() == {"style": "warm", "negative": None}
    assert "style" not in brand.typography_part()
    lines = problems(load_brand, write(tmp_path, "acme.yaml", "brand: acme\ncolors:\n  accent: red\n"))
    assert lines[0].startswith("acme.yaml: colors.accent: ")
