"""Each kind of bad input is found, every problem is listed, and the line and column are named."""

from __future__ import annotations

import pytest

from pipelines.catalogue import config
from pipelines.ingest import loading

HEADER = "indicator,area,quarter,value,lower,upper,reported_status,note\n"


def check(catalogue: config.Catalogue, text: str | bytes, name: str = "q.csv") -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [str(p) if p.line else p.reason for p in loading.read_upload(data, name, catalogue).checked.problems]


def test_a_clean_file_passes(catalogue: config.Catalogue) -> None:
    upload = loading.read_upload((HEADER + "NI 16,Derbyshire,2010/11 Q2,9.1,,,G,\n").encode(), "q.csv", catalogue)
    assert upload.ok
    assert upload.checked.summary("q.csv") == "q.csv: 1 row OK (1 indicator, 1 area, 2010/11 Q2)."
    assert upload.checked.rows[0][:5] == ("NI 16", "Derbyshire", "2010/11 Q2", 2010 * 4 + 1, 9.1)


def test_every_problem_is_listed_at_once(catalogue: config.Catalogue) -> None:
    text = HEADER + (
        "NI16,Derbyshire,2010/11 Q1,9.6,,,,\n"          # line 2: unknown indicator
        "NI 16,Chesterfeld,2010/11 Q1,9.6,,,,\n"         # line 3: unknown area
        "NI 16,Derbyshire,2010 Q1,9.6,,,,\n"             # line 4: bad quarter
        "NI 16,Bolsover,2010/11 Q1,nine,,,,\n"           # line 5: not a number
        "NI 20,Erewash,2010/11 Q1,7.1,,,,\n"             # line 6: fine
        "NI 20,Erewash,2010-06-30,7.2,,,,\n"             # line 7: duplicates line 6
        "NI 39,High Peak,2010/11 Q1,1800,,,,\n"          # line 8: county-only indicator
        "NI 18,Derbyshire,2010/11 Q1,4.56,9,2,,\n"       # line 9: lower above upper
        "NI 1,Derbyshire,2010/11 Q1,74.1,,,Yellow,\n"    # line 10: unknown reported status
    )
    assert check(catalogue, text) == [
        "line 2, column indicator: unknown indicator 'NI16' (did you mean 'NI 16'?)",
        "line 3, column area: unknown area 'Chesterfeld' (did you mean 'Chesterfield'?)",
        "line 4, column quarter: '2010 Q1' is not a quarter; write '2010/11 Q1' (financial year and quarter)"
        " or '2010-06-30' (the quarter's last day)",
        "line 5, column value: 'nine' is not a number (leave it empty if not available)",
        "line 7: repeats NI 20, Erewash, 2010/11 Q1 from line 6 (keep one row per indicator, area and quarter)",
        "line 8, column area: NI 39 is measured at county level only, not for the district 'High Peak'"
        " (remove the row, or add district to NI 39's levels)",
        "line 9, column lower: lower (9) is above upper (2) (swap them)",
        "line 10, column reported_status: 'Yellow' is not a status (use G, A, R, GREY or NA, or the full words)",
    ]


def test_missing_required_column(catalogue: config.Catalogue) -> None:
    assert check(catalogue, "indicator,area,quarter\nNI 16,Derbyshire,2010/11 Q1\n") == [
        "line 1, column value: missing required column 'value' (the header must include indicator, area,"
        " quarter, value)"]


def test_unknown_column_is_named_with_a_suggestion(catalogue: config.Catalogue) -> None:
    problems = check(catalogue, "indicator,area,quarter,value,notes\nNI 16,Derbyshire,2010/11 Q1,9,\n")
    assert len(problems) == 1
    assert problems[0].startswith("line 1, column notes: unknown column")
    assert "did you mean 'note'?" in problems[0]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (HEADER.encode(), "has a header but no rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not a text file"),
    ],
)
def test_unreadable_files(catalogue: config.Catalogue, data: bytes, fragment: str) -> None:
    problems = check(catalogue, data)
    assert len(problems) == 1 and fragment in problems[0]


def test_oversized_file_is_refused(catalogue: config.Catalogue) -> None:
    from pipelines.ingest import reader

    with pytest.raises(reader.UnreadableFile, match="over the 1 MB limit"):
        reader.read_bytes(b"x" * (1024 * 1024 + 1), "big.csv", max_bytes=1024 * 1024)


def test_excel_utf8_with_byte_order_mark(catalogue: config.Catalogue) -> None:
    data = "\ufeff".encode() + b"indicator,area,quarter,value\r\nNI 16,Derbyshire,2010/11 Q1,9.6\r\n"
    upload = loading.read_upload(data, "bom.csv", catalogue)
    assert upload.ok and upload.checked.rows[0][4] == 9.6


def test_windows_1252_note_is_read(catalogue: config.Catalogue) -> None:
    data = "indicator,area,quarter,value,note\nNI 16,Derbyshire,2010/11 Q1,9.6,£40k grant\n".encode("cp1252")
    upload = loading.read_upload(data, "win.csv", catalogue)
    assert upload.ok and upload.checked.rows[0][10] == "£40k grant"


def test_semicolon_separator_and_decimal_comma(catalogue: config.Catalogue) -> None:
    ok = loading.read_upload(b"indicator;area;quarter;value\nNI 16;Derbyshire;2010/11 Q1;9.6\n", "s.csv", catalogue)
    assert ok.ok and ok.checked.rows[0][4] == 9.6
    assert check(catalogue, "indicator;area;quarter;value\nNI 16;Derbyshire;2010/11 Q1;9,6\n") == [
        "line 2, column value: '9,6' has a comma; write the number with a decimal point and no separators"
        " (9.6)"]


def test_quoted_fields_thousands_separators_and_percent_signs(catalogue: config.Catalogue) -> None:
    text = ('indicator,area,quarter,value,note\n'
            'NI 39,Derbyshire,2010/11 Q1,"1,839","Projected, from ""quarterly"" data"\n')
    upload = loading.read_upload(text.encode(), "q.csv", catalogue)
    assert upload.ok
    assert upload.checked.rows[0][4] == 1839.0
    assert upload.checked.rows[0][10] == 'Projected, from "quarterly" data'
    assert check(catalogue, "indicator,area,quarter,value\nNI 32,Derbyshire,2010/11 Q1,15.45%\n") == [
        "line 2, column value: '15.45%' has a % sign; give the number alone (15.45)"]
    assert "has a comma" in check(catalogue, 'indicator,area,quarter,value\nNI 39,Derbyshire,2010/11 Q1,"18,39"\n')[0]


def test_trailing_empty_columns_from_a_spreadsheet(catalogue: config.Catalogue) -> None:
    text = "indicator,area,quarter,value,,\nNI 16,Derbyshire,2010/11 Q1,9.6,,\n,,,,,\n"
    upload = loading.read_upload(text.encode(), "t.csv", catalogue)
    assert upload.ok and len(upload.checked.rows) == 1


def test_a_row_with_too_many_fields(catalogue: config.Catalogue) -> None:
    assert check(catalogue, "indicator,area,quarter,value\nNI 16,Derbyshire,2010/11 Q1,9,6\n") == [
        "line 2: has 5 fields but the header has 4 (check for an unquoted separator inside a value)"]


def test_xlsx_workbook_is_read(catalogue: config.Catalogue, tmp_path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["indicator", "area", "quarter", "value", "note"])
    sheet.append(["NI 16", "Derbyshire", "2010/11 Q1", 9.6, "from Excel"])
    sheet.append(["NI 47", "Derbyshire", "2010/11 Q1", 449, None])
    path = tmp_path / "q.xlsx"
    book.save(path)
    upload = loading.read_file(path, catalogue)
    assert upload.ok
    assert [(r[0], r[4], r[10]) for r in upload.checked.rows] == [("NI 16", 9.6, "from Excel"), ("NI 47", 449.0, None)]


def test_the_sample_files_are_clean(catalogue: config.Catalogue) -> None:
    from helpers import SAMPLE_DIR

    files = sorted(SAMPLE_DIR.glob("*.csv"))
    assert len(files) >= 8
    for path in files:
        upload = loading.read_file(path, catalogue)
        assert upload.ok, (path.name, upload.checked.problems)


def test_exported_text_cannot_run_as_a_spreadsheet_formula() -> None:
    from pipelines.present import export

    text = export.csv_text(["area", "value", "note"], [
        ("Derbyshire", -1.75, "=HYPERLINK(\"http://x\",\"click\")"),
        ("Erewash", 2.0, "+44 1629 580000"), ("Bolsover", 3.0, "@SUM(A1)"), ("Dales", 4.0, "-2 vs plan"),
        ("High Peak", 5.0, "plain, with a comma"),
    ])
    assert text.splitlines() == [
        "area,value,note",
        "Derbyshire,-1.75,\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\"",
        "Erewash,2.0,'+44 1629 580000",
        "Bolsover,3.0,'@SUM(A1)",
        "Dales,4.0,'-2 vs plan",
        "High Peak,5.0,\"plain, with a comma\"",
    ]


@pytest.mark.parametrize(
    ("value", "delimiter", "message"),
    [
        ("18,39", ",", "'18,39' has a comma; write the number with a decimal point and no separators (18.39)"),
        ("1,839", ";", "'1,839' has a comma; write the number with a decimal point and no separators"
                       " (1.839 if the comma marks decimals, 1839 if it separates thousands)"),
        ("1.234", ";", "'1.234' could be a decimal or, as ';'-separated files often write it, a whole number"
                       " with a thousands separator; write 1234 or add a decimal place (1.2340)"),
        ("1 2", ",", "'1 2' is not a number"),
        ("1_000", ",", "'1_000' is not a number"),
        ("0x1A", ",", "'0x1A' is not a number"),
        ("nan", ",", "'nan' is not a number"),
    ],
)
def test_numbers_that_could_be_misread_are_refused(value: str, delimiter: str, message: str) -> None:
    from pipelines.ingest.validate import parse_number

    with pytest.raises(ValueError) as exc:
        parse_number(value, delimiter)
    assert str(exc.value) == message


@pytest.mark.parametrize(("value", "delimiter", "number"), [
    ("1,839", ",", 1839.0), ("1 839.5", ",", 1839.5), ("1.234", ",", 1.234), ("-0.5", ";", -0.5), ("2e3", ",", 2000.0),
])
def test_unambiguous_numbers_are_read(value: str, delimiter: str, number: float) -> None:
    from pipelines.ingest.validate import parse_number

    assert parse_number(value, delimiter) == number


def test_a_short_row_is_not_taken_as_not_available(catalogue: config.Catalogue) -> None:
    assert check(catalogue, "indicator,area,quarter,value,note\nNI 16,Derbyshire,2010/11 Q1\n") == [
        "line 2, column value: has 3 fields but the header has 5, so value is missing (leave an empty field"
        " (,,) for a figure that is not available)"]
    # missing trailing optional fields are fine: an empty note
    assert loading.read_upload(b"indicator,area,quarter,value,note\nNI 16,Derbyshire,2010/11 Q1,9.6\n", "x.csv",
                              catalogue).ok


def _workbook(tmp_path, rows, formats=None):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for ref, fmt in (formats or {}).items():
        sheet[ref].number_format = fmt
    path = tmp_path / "q.xlsx"
    book.save(path)
    return path


def test_xlsx_dates_in_the_quarter_column_are_quarter_ends(catalogue: config.Catalogue, tmp_path) -> None:
    from datetime import datetime

    path = _workbook(tmp_path, [["indicator", "area", "quarter", "value"],
                                ["NI 16", "Derbyshire", datetime(2010, 6, 30), 9.6]])
    upload = loading.read_file(path, catalogue)
    assert upload.ok and upload.checked.rows[0][2] == "2010/11 Q1"


def test_xlsx_percentage_cells_are_refused(catalogue: config.Catalogue, tmp_path) -> None:
    path = _workbook(tmp_path, [["indicator", "area", "quarter", "value"],
                                ["NI 1", "Derbyshire", "2010/11 Q1", 0.741]], {"D2": "0.0%"})
    upload = loading.read_file(path, catalogue)
    assert [p.reason for p in upload.checked.problems] == [
        "q.xlsx: cell D2 is formatted as a percentage, so 74.1% is stored as 0.741; format those cells as plain"
        " numbers (74.1), save, and upload again."]


def test_xlsx_formulas_without_saved_results_are_refused(catalogue: config.Catalogue, tmp_path) -> None:
    path = _workbook(tmp_path, [["indicator", "area", "quarter", "value"],
                                ["NI 16", "Derbyshire", "2010/11 Q1", "=4.8*2"]])
    upload = loading.read_file(path, catalogue)
    assert [p.reason for p in upload.checked.problems] == [
        "q.xlsx: cell D2 holds a formula with no saved result; open the workbook in Excel and save it (or paste"
        " the figures as values), then upload it again."]


def test_an_oversized_file_is_refused_before_it_is_read(catalogue: config.Catalogue, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(loading, "MAX_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_text("indicator,area,quarter,value\n" + "NI 16,Derbyshire,2010/11 Q1,9.6\n" * 10)
    upload = loading.read_file(path, catalogue)
    assert [p.reason for p in upload.checked.problems] == [
        "big.csv is 0.0 MB, over the 0 MB limit; split it into one file per quarter."]
