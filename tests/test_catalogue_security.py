"""The catalogue refuses files that would mislead the board or take the server down.

Each finding is reproduced as a file and shown refused as ConfigError, with its path, in one
sentence per problem: duplicate keys (the last used to win), non-finite or absurd numbers,
alias bombs and self-referring aliases, oversized files, and digits that are not ASCII.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from pipelines.catalogue import config

# A small catalogue; lines are numbered as the duplicate-key messages count them
BASE = """\
county: Derbyshire
districts: [Amber Valley, High Peak]
indicators:
  - id: NI 1
    name: Cohesion
    better: higher
    amber_tolerance: 2.5
    targets:
      2009/10: 76.0
      2010/11: 76.8
  - id: NI 16
    name: Serious acquisitive crime
    better: lower
    levels: [county, district]
    targets: {2010/11: 11.35}
    area_targets:
      High Peak: {2010/11: 9.1}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "indicators.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> list[str]:
    """The problems load() reports for ``text``, each checked to be a single line."""
    with pytest.raises(config.ConfigError) as exc:
        config.load(write(tmp_path, text))
    assert all("\n" not in p and len(p) < 400 for p in exc.value.problems), exc.value.problems
    return exc.value.problems


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def test_the_base_catalogue_loads(tmp_path: Path) -> None:
    cat = config.load(write(tmp_path, BASE))
    assert cat.indicator("NI 1").targets == {2009: 76.0, 2010: 76.8}
    assert cat.indicator("NI 16").area_targets == {"High Peak": {2010: 9.1}}


# --- 1. Duplicate keys ------------------------------------------------------------------------


def test_a_second_targets_under_an_indicator_is_refused(tmp_path: Path) -> None:
    # The finding: a second `targets:` replaced the first and made NI 1 RED at 641% off
    text = edit("      2010/11: 76.8\n", "      2010/11: 76.8\n    targets: {2010/11: 5}\n")
    assert refused(tmp_path, text) == [
        "indicators[0] (NI 1): the key 'targets' appears twice (lines 8 and 11); keep one"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("      2010/11: 76.8\n", "      2010/11: 76.8\n      2010/11: 7.68\n",
         "indicators[0] (NI 1).targets: the key '2010/11' appears twice (lines 10 and 11); keep one"),
        # a quoted key and a plain one are the same string
        ("      2010/11: 76.8\n", "      2010/11: 76.8\n      '2010/11': 7.68\n",
         "indicators[0] (NI 1).targets: the key '2010/11' appears twice (lines 10 and 11); keep one"),
        ("{2010/11: 11.35}", "{2010/11: 11.35, 2010/11: 1}",
         "indicators[1] (NI 16).targets: the key '2010/11' appears twice (line 15); keep one"),
        ("      High Peak: {2010/11: 9.1}\n", "      High Peak: {2010/11: 9.1}\n      High Peak: {2010/11: 99}\n",
         "indicators[1] (NI 16).area_targets: the key 'High Peak' appears twice (lines 17 and 18); keep one"),
        ("    better: lower\n", "    better: lower\n    better: higher\n    better: lower\n",
         "indicators[1] (NI 16): the key 'better' appears 3 times (lines 13, 14 and 15); keep one"),
        ("county: Derbyshire\n", "county: Derbyshire\ncounty: Nottinghamshire\n",
         "the key 'county' appears twice (lines 1 and 2); keep one"),
    ],
)
def test_every_duplicate_key_is_refused_with_its_path(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert refused(tmp_path, edit(old, new)) == [expected]


def test_keys_are_duplicates_when_they_become_the_same_value(tmp_path: Path) -> None:
    # 1 and 1.0 are one dict key: the second would silently replace the first
    text = "county: X\nindicators: []\nodd: {1: a, 1.0: b, true: c}\n"
    assert refused(tmp_path, text) == ["odd: the key '1' appears 3 times (line 3); keep one"]


def test_a_duplicate_inside_a_shared_anchor_is_reported_once(tmp_path: Path) -> None:
    text = edit("    targets:\n      2009/10: 76.0\n      2010/11: 76.8\n",
                "    targets: &shared {2010/11: 1, 2010/11: 2}\n")
    text = text.replace("{2010/11: 11.35}", "*shared")
    assert refused(tmp_path, text) == [
        "indicators[0] (NI 1).targets: the key '2010/11' appears twice (line 8); keep one"]


def test_one_financial_year_written_two_ways_is_refused(tmp_path: Path) -> None:
    text = edit("      2010/11: 76.8\n", "      2010/11: 76.8\n      2010 / 11: 7.68\n")
    assert refused(tmp_path, text) == [
        "indicators[0] (NI 1).targets: '2010 / 11' is the same financial year as '2010/11'; keep one"]


def test_small_uses_of_anchors_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        county: Shire
        districts: [Dale, Vale]
        indicators:
          - &crime
            id: A
            name: Crime
            better: lower
            levels: [county, district]
            targets: &years {2009/10: 10, 2010/11: 9}
            area_targets: {Dale: *years, Vale: *years}
          - <<: *crime        # a merge key: its own keys override the merged ones
            id: B
            name: Other crime
            better: higher
        """)
    cat = config.load(write(tmp_path, text))
    a, b = cat.indicator("A"), cat.indicator("B")
    assert a.targets == b.targets == a.area_targets["Vale"] == {2009: 10.0, 2010: 9.0}
    assert (a.better, b.better, b.levels) == ("lower", "higher", ("county", "district"))


# --- 2. Non-finite and absurd numbers ---------------------------------------------------------

# YAML 1.1 reads a float only with a dot and a signed exponent: 1.0e+400 becomes inf
NON_FINITE = [(".nan", "nan"), (".NaN", "nan"), (".inf", "inf"), ("+.inf", "inf"), ("-.inf", "-inf"),
              ("1.0e+400", "inf"), ("-1.0e+400", "-inf")]


@pytest.mark.parametrize(("literal", "shown"), NON_FINITE)
@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("{2010/11: 11.35}", "{2010/11: X}", "indicators[1] (NI 16).targets: target for 2010/11"),
        ("      2010/11: 76.8", "      2010/11: X", "indicators[0] (NI 1).targets: target for 2010/11"),
        ("{2010/11: 9.1}", "{2010/11: X}", "indicators[1] (NI 16).area_targets.High Peak: target for 2010/11"),
        ("amber_tolerance: 2.5", "amber_tolerance: X", "indicators[0] (NI 1).amber_tolerance:"),
        ("county: Derbyshire\n", "county: Derbyshire\namber_tolerance: X\n", "amber_tolerance:"),
    ],
)
def test_non_finite_numbers_are_refused(tmp_path: Path, literal: str, shown: str, old: str, new: str,
                                        where: str) -> None:
    assert refused(tmp_path, edit(old, new.replace("X", literal))) == [
        f"{where} must be a finite number, got {shown}"]


@pytest.mark.parametrize(
    ("literal", "shown"),
    [("1.0e+12", "1000000000000.0"), ("-2.5e+13", "-25000000000000.0"), ("1000000000000", "1000000000000"),
     ("1" + "0" * 400, "100000000000000000...0000000000000000000")],  # float() would overflow on it
)
def test_absurd_magnitudes_are_refused(tmp_path: Path, literal: str, shown: str) -> None:
    problems = refused(tmp_path, edit("{2010/11: 11.35}", "{2010/11: " + literal + "}"))
    assert problems == ["indicators[1] (NI 16).targets: target for 2010/11 is too large to be a real figure"
                        f" (its size must be under 1,000,000,000,000), got {shown}"]


def test_an_exponent_without_a_dot_is_text_and_refused(tmp_path: Path) -> None:
    # YAML 1.1 reads 1e400 as the text '1e400', which is no number
    assert refused(tmp_path, edit("{2010/11: 11.35}", "{2010/11: 1e400}")) == [
        "indicators[1] (NI 16).targets: target for 2010/11 must be a number, got '1e400'"]


def test_the_largest_plausible_figure_is_accepted(tmp_path: Path) -> None:
    cat = config.load(write(tmp_path, edit("{2010/11: 11.35}", "{2010/11: 999999999999}")))
    assert cat.indicator("NI 16").targets == {2010: 999_999_999_999.0}


def test_a_percentage_too_long_to_be_finite_is_refused(tmp_path: Path) -> None:
    text = edit("amber_tolerance: 2.5", "amber_tolerance: '" + "9" * 400 + "%'")
    assert refused(tmp_path, text) == ["indicators[0] (NI 1).amber_tolerance: must be a finite number, got inf"]


def test_non_finite_numbers_are_refused_when_parsed_from_python_too() -> None:
    raw = yaml.safe_load(BASE)
    raw["indicators"][1]["area_targets"]["High Peak"]["2010/11"] = float("nan")
    with pytest.raises(config.ConfigError) as exc:
        config.parse(raw)
    assert exc.value.problems == [
        "indicators[1] (NI 16).area_targets.High Peak: target for 2010/11 must be a finite number, got nan"]


# --- 3. Alias bombs, self-referring aliases, size and nesting ---------------------------------


def billion_laughs(levels: int = 9, repeats: int = 9) -> str:
    """The finding's file: each list repeats the previous alias ``repeats`` times, so ``districts``
    stands for 9 ** 9 values, and validating them (and quoting them in the problem) took 64 s and
    3 GB before the server was killed."""
    lines = ["county: Derbyshire", "lol:", '  - &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * repeats) + "]")
    return "\n".join([*lines, f"districts: *a{levels}", "indicators: []"]) + "\n"


def timed_and_traced(action: Callable[[], object]) -> tuple[float, int]:
    """Seconds ``action`` takes, and the peak memory it allocates (traced in a second run)."""
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak


def refused_at_a_cost(path: Path) -> tuple[list[list[str]], float, int]:
    """The problems each refusal of ``path`` gave, the seconds it took and its traced peak."""
    caught: list[list[str]] = []

    def attempt() -> None:
        with pytest.raises(config.ConfigError) as exc:
            config.load(path)
        caught.append(exc.value.problems)

    seconds, peak = timed_and_traced(attempt)
    return caught, seconds, peak


def test_a_billion_laughs_is_refused_quickly_in_little_memory(tmp_path: Path) -> None:
    # The finding: 64 s and 3 GB, and the dashboard server was killed
    path = write(tmp_path, billion_laughs())
    caught, seconds, peak = refused_at_a_cost(path)
    print(f"billion laughs refused in {seconds * 1000:.1f} ms, peak {peak / 1024:.0f} KiB traced")
    assert seconds < 0.5 and peak < 5 * 2**20
    assert caught[0] == [
        "lol[6][2]: the catalogue grows past 500,000 values at line 9, counting each alias as the values it"
        " repeats; a national catalogue has about 310,000, so look for aliases repeated many times"]


# Measures the whole process, libyaml's own allocations included (tracemalloc sees only Python's)
RSS_PROBE = """
import resource, sys
from pipelines.catalogue import config
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    config.load(sys.argv[1])
except config.ConfigError as exc:
    print(exc.problems[0], file=sys.stderr)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_billion_laughs_leaves_the_process_small(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, str(path)], capture_output=True, text=True,
                           timeout=60, cwd=Path(__file__).resolve().parent.parent, check=True)
    assert "grows past 500,000 values" in probe.stderr
    assert int(probe.stdout) < 20 * 1024  # KiB: the peak resident size grew by less than 20 MiB


def test_a_smaller_bomb_is_refused_where_its_use_crosses_the_limit(tmp_path: Path) -> None:
    # the anchors hold ~141,000 values and each *a5 stands for ~125,000: the third use crosses
    text = billion_laughs(levels=5).replace("districts: *a5", "districts: [*a5, *a5, *a5, *a5]")
    problems = refused(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith("districts[2]: the catalogue grows past 500,000 values")


def test_a_bomb_of_mappings_is_refused(tmp_path: Path) -> None:
    lines = ["b0: &b0 {k: lol}"] + [  # the classic file: no catalogue, only mappings of aliases
        f"b{i}: &b{i} {{" + ", ".join(f"k{j}: *b{i - 1}" for j in range(9)) + "}" for i in range(1, 10)]
    problems = refused(tmp_path, "\n".join(lines) + "\n")
    assert len(problems) == 1 and "grows past 500,000 values" in problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [*a]\n",
         "a[0]: the alias *a (line 1) is inside the anchor &a it names, so it would repeat forever; remove it"),
        ("a: &a {self: *a}\n",
         "a.self: the alias *a (line 1) is inside the anchor &a it names, so it would repeat forever; remove it"),
        ("a: &a [[1, [*a]]]\n", "a[0][1][0]: the alias *a (line 1) is inside"),
        ("county: X\nindicators:\n  - &i {id: A, name: a, better: lower, targets: *i}\n",
         "indicators[0] (A).targets: the alias *i (line 3) is inside"),
    ],
)
def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    problems = refused(tmp_path, text)  # no RecursionError, no endless loop
    assert len(problems) == 1 and problems[0].startswith(expected)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, BASE + "extra: " + "[" * 60 + "]" * 60 + "\n")
    assert problems == [f"line 18: the YAML nests more than {config.MAX_DEPTH} levels deep, far more than a"
                        " catalogue needs; check it is the right file"]


def test_a_file_of_too_many_plain_values_is_refused_before_it_is_built(tmp_path: Path) -> None:
    path = write(tmp_path, "[" + "0, " * config.MAX_NODES + "0]\n")
    caught, seconds, peak = refused_at_a_cost(path)
    print(f"{config.MAX_NODES:,} plain values refused in {seconds:.2f} s, peak {peak / 2**20:.1f} MiB traced")
    assert seconds < 5 and peak < 20 * 2**20  # the file itself is 1.5 MB, read and decoded
    assert caught[0][0].startswith(f"[{config.MAX_NODES - 1}]: the catalogue grows past 500,000 values")


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, "# " + "x" * config.MAX_BYTES + "\n")
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    assert exc.value.problems == ["the file is over the 5 MB limit for a catalogue (a national one is"
                                  " about 2.5 MB); check it is the right file"]


def national_catalogue(areas: int = 350, indicators: int = 40, years: int = 10) -> str:
    """The largest catalogue the limits plan for: every indicator has targets for every area."""
    fys = ", ".join(f"{y}/{(y + 1) % 100:02d}: 12.5" for y in range(2000, 2000 + years))
    districts = [f"District {i:03d}" for i in range(1, areas)]
    lines = ["county: Nationshire", "districts:", *[f"  - {d}" for d in districts], "indicators:"]
    for n in range(indicators):
        lines += [f"  - id: NI {n}", f"    name: Indicator {n}", "    better: lower",
                  "    levels: [county, district]", f"    targets: {{{fys}}}", "    area_targets:"]
        lines += [f"      {d}: {{{fys}}}" for d in districts]
    return "\n".join(lines) + "\n"


def test_a_national_catalogue_with_every_area_target_still_loads(tmp_path: Path) -> None:
    text = national_catalogue()
    assert len(text.encode()) < config.MAX_BYTES / 2
    start = time.perf_counter()
    cat = config.load(write(tmp_path, text))
    print(f"national catalogue ({len(text) / 2**20:.1f} MB) loaded in {time.perf_counter() - start:.1f} s")
    assert len(cat.areas) == 350 and len(cat.indicators) == 40
    assert sum(len(ys) for ind in cat.indicators for ys in ind.area_targets.values()) == 40 * 349 * 10


def test_the_pure_python_parser_is_protected_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert "grows past 500,000 values" in refused(tmp_path, billion_laughs())[0]
    assert "is inside the anchor &a" in refused(tmp_path, "a: &a [*a]\n")[0]
    assert "nests more than" in refused(tmp_path, "a: " + "[" * 2000 + "]" * 2000 + "\n")[0]
    assert refused(tmp_path, "a: 1\na: 2\n") == ["the key 'a' appears twice (lines 1 and 2); keep one"]
    assert config.load(write(tmp_path, BASE)).indicator("NI 1").targets[2010] == 76.8


# --- 4. Digits that are not ASCII -------------------------------------------------------------


@pytest.mark.parametrize("band", ["٥%", "۵%", "５%", "5٫5%", "५%"])
def test_a_band_in_other_digits_is_not_read_as_a_number(tmp_path: Path, band: str) -> None:
    text = edit("amber_tolerance: 2.5", f'amber_tolerance: "{band}"')
    assert refused(tmp_path, text) == [
        f"indicators[0] (NI 1).amber_tolerance: must be a percentage such as '5%' or a plain number, got '{band}'"]
    assert config.parse_tolerance("5%") == config.Tolerance("percent", 5.0)


# --- Other ways a file used to escape as a traceback or a huge message ------------------------


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("county: Ch\xe2teau\n".encode("latin-1"))
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    assert exc.value.problems == ["byte 11 is not UTF-8 text; save the file as UTF-8"]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError) as exc:
        config.load(tmp_path)
    assert exc.value.problems[0].startswith("the file cannot be read (")


def test_an_impossible_date_is_invalid_yaml_not_a_crash(tmp_path: Path) -> None:
    assert refused(tmp_path, BASE + "extra: 2010-13-45\n") == ["not valid YAML (month must be in 1..12)"]


def test_a_huge_wrong_value_is_shown_cut_short(tmp_path: Path) -> None:
    problems = refused(tmp_path, edit("county: Derbyshire", "county: [" + ", ".join(["x" * 50] * 5000) + "]"))
    assert len(problems) == 1 and problems[0].startswith("county: input should be a valid string, got [")


def test_thousands_of_problems_are_cut_to_a_readable_list(tmp_path: Path) -> None:
    problems = refused(tmp_path, "county: X\nindicators: [" + ", ".join(["1"] * 5000) + "]\n")
    assert len(problems) == config.MAX_PROBLEMS + 1
    assert problems[-1] == "and 4,900 more problems; correct these first"


def test_several_catalogue_wide_problems_are_one_sentence_each(tmp_path: Path) -> None:
    text = edit("      High Peak: {2010/11: 9.1}\n", "      Hgh Peak: {2010/11: 9.1}\n      Amber Vale: {2010/11: 1}\n")
    assert refused(tmp_path, text) == [
        "indicators[1] (NI 16).area_targets: unknown area 'Hgh Peak'; did you mean 'High Peak'?",
        "indicators[1] (NI 16).area_targets: unknown area 'Amber Vale'; did you mean 'Amber Valley'?",
    ]
