from pathlib import Path

import pytest

from pipelines.catalogue import config

MINIMAL = {
    "county": "Derbyshire",
    "districts": ["Amber Valley", "High Peak"],
    "indicators": [
        {"id": "NI 16", "name": "Serious acquisitive crime", "better": "lower",
         "levels": ["county", "district"], "targets": {"2010/11": 11.35},
         "area_targets": {"High Peak": {"2010/11": 9.1}}},
        {"id": "NI 1", "name": "Cohesion", "better": "higher", "amber_tolerance": 2.5,
         "targets": {"2010/11": 76.8}},
    ],
}


def problems(raw: object) -> list[str]:
    with pytest.raises(config.ConfigError) as exc:
        config.parse(raw)
    return exc.value.problems


def test_shipped_catalogue_has_the_reports_eleven_indicators(catalogue: config.Catalogue) -> None:
    assert [i.id for i in catalogue.indicators] == [
        "NI 1", "NI 16", "NI 18", "NI 20", "NI 27", "NI 32", "NI 39", "NI 47", "NI 49", "LI 1", "LI 2"]
    assert catalogue.county == "Derbyshire"
    assert len(catalogue.districts) == 8
    printed = {"NI 1": 76.8, "NI 16": 11.35, "NI 20": 7.07, "NI 27": 26.4, "NI 32": 27.0,
               "NI 39": 1753, "NI 47": 437, "NI 49": 42.7, "LI 1": 138, "LI 2": 1940}
    for ind_id, target in printed.items():
        assert catalogue.indicator(ind_id).targets[2010] == target
    assert {i.id for i in catalogue.indicators if catalogue.at_districts(i)} == {"NI 16", "NI 20"}


def test_defaults_and_overrides() -> None:
    cat = config.parse(MINIMAL)
    ni16, ni1 = cat.indicator("NI 16"), cat.indicator("NI 1")
    assert cat.tolerance(ni16) == config.Tolerance("percent", 5.0)
    assert cat.tolerance(ni1) == config.Tolerance("absolute", 2.5)
    assert ni1.levels == ("county",)
    assert ni16.area_targets == {"High Peak": {2010: 9.1}}
    assert ni16.targets == {2010: 11.35}


def test_the_board_is_named_after_the_county_unless_the_catalogue_names_it() -> None:
    assert config.parse(MINIMAL).name == f"{MINIMAL['county']} Safer Communities Board"
    named = config.parse({**MINIMAL, "name": "  Peak Community\nSafety Partnership "})
    assert named.name == "Peak Community Safety Partnership"  # one line, however it was written
    assert config.parse({**MINIMAL, "name": "Peak CSP"}).county == MINIMAL["county"]


@pytest.mark.parametrize(("name", "problem"), [
    ("   ", "name: must not be blank; leave the key out to use '<county> Safer Communities Board'"),
    (None, "name: input should be a valid string, got None"),
    (["a"], "name: input should be a valid string, got ['a']"),
])
def test_a_board_name_must_be_text(name: object, problem: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse({**MINIMAL, "name": name})
    assert caught.value.problems == [problem]


def test_every_mistake_is_reported_with_its_path() -> None:
    raw = {**MINIMAL, "indicators": [
        {**MINIMAL["indicators"][0], "better": "down"},
        {**MINIMAL["indicators"][1], "amber_tolerance": "five", "colour": "red"},
    ]}
    assert problems(raw) == [
        "indicators[0] (NI 16).better: must be 'lower', 'higher' or 'neither', got 'down'",
        "indicators[1] (NI 1).amber_tolerance: must be a percentage such as '5%' or a plain number,"
        " got 'five'",
        "indicators[1] (NI 1).colour: unknown key; check its spelling against the README",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"county": None}, "county: input should be a valid string, got None"),
        ({"indicators": [{"id": "X", "better": "lower"}]}, "indicators[0] (X).name: is required"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower", "targets": {"2010": 3}}]},
         "indicators[0] (X).targets: '2010' is not a financial year; write it as '2010/11'"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower", "levels": ["ward"]}]},
         "indicators[0] (X).levels[0]: must be 'county' or 'district', got 'ward'"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower",
                          "area_targets": {"Hgh Peak": {"2010/11": 1}}, "levels": ["county", "district"]}]},
         "indicators[0] (X).area_targets: unknown area 'Hgh Peak'; did you mean 'High Peak'?"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower",
                          "area_targets": {"High Peak": {"2010/11": 1}}}]},
         "indicators[0] (X).area_targets: 'High Peak' is a district but levels has no district"),
        ({"indicators": [{"id": "X", "name": "x", "better": "lower"}] * 2},
         "indicators[1] (X).id: 'X' is defined twice"),
        ({"amber_tolerance": -1}, "amber_tolerance: must not be negative, got -1"),
        ({"districts": ["Derbyshire", "High Peak"]},
         "districts: 'Derbyshire' is the county; a district needs a name of its own"),
    ],
)
def test_single_mistakes(change: dict, expected: str) -> None:
    assert expected in problems({**MINIMAL, **change})


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("county: Derbyshire\nindicators:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(config.ConfigError) as exc:
        config.load(path)
    assert exc.value.problems[0].startswith("line ")
    assert "not valid YAML" in exc.value.problems[0]


def test_environment_variable_names_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("county: Testshire\nindicators:\n  - {id: A, name: a, better: lower}\n", encoding="utf-8")
    monkeypatch.setenv("RAGBOARD_CONFIG", str(path))
    assert config.load().county == "Testshire"
