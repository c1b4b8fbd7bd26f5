"""Hostile and damaged uploads are refused quickly, in bounded memory, with one sentence.

Each attack file is built by hand, with zipfile and hand-written XML (helpers.py), as an
attacker would build it. The attacks named in the security report are read in a child process, so
that its time and peak memory are its own.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import (
    DATE_STYLES,
    HEADER,
    MAIN,
    ROOT,
    content_types,
    figures,
    number_cell,
    sheet_row,
    sheet_xml,
    text_cell,
    workbook_rels,
    workbook_xml,
    xlsx,
)
from pipelines.ingest import reader

SECONDS = 5.0  # "refused quickly": each attack used to take minutes or hours
PEAK_MB = 150  # a child that imports the reader and openpyxl starts at about 40 MB


def refusal(data: bytes, name: str = "q.xlsx") -> str:
    with pytest.raises(reader.UnreadableFile) as caught:
        reader.read_bytes(data, name)
    message = str(caught.value)
    assert message.startswith(name) and message.endswith(".") and "\n" not in message, message
    assert "Traceback" not in message and str(ROOT) not in message and "site-packages" not in message
    return message


# --- reading in a child process: its own time and peak memory --------------------------------

# Peak memory is the child's VmHWM: ru_maxrss (self or RUSAGE_CHILDREN) would include the
# parent's own peak, which Linux carries into a child started by vfork and exec.
CHILD = """
import json, re, sys, time
from pipelines.ingest import reader
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
try:
    table = reader.read_bytes(data, sys.argv[2])
    outcome = {"rows": len(table.records), "width": max(len(f) for _, f in table.records)}
except reader.UnreadableFile as exc:
    outcome = {"refused": str(exc)}
outcome["seconds"] = time.perf_counter() - start
outcome["peak_mb"] = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
print(json.dumps(outcome))
"""


def read_in_child(path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), path.name], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # a traceback here is a failure in itself
    outcome: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return outcome


def quick_and_small(outcome: dict[str, object]) -> None:
    assert float(str(outcome["seconds"])) < SECONDS, outcome
    assert float(str(outcome["peak_mb"])) < PEAK_MB, outcome


# --- the attacks in the security report --------------------------------------------------------


def test_a_declared_dimension_of_the_whole_grid_is_ignored(tmp_path: Path) -> None:
    # 1,000 rows that claim to span A1:XFD1048576: openpyxl padded every row to 16,384 cells.
    strings = f'<sst xmlns="{MAIN}">' + "".join(f"<si><t>{s}</t></si>" for s in (
        "indicator", "area", "quarter", "value", "NI 16", "Derbyshire", "2010/11 Q1")) + "</sst>"
    cells = "".join(sheet_row(i, *(f'<c r="{c}{i}" t="s"><v>{s}</v></c>' for c, s in zip("ABC", (4, 5, 6),
                                                                                         strict=True)),
                              number_cell(f"D{i}", 9.6)) for i in range(2, 1002))
    header = sheet_row(1, *(f'<c r="{c}1" t="s"><v>{s}</v></c>' for s, c in enumerate("ABCD")))
    path = tmp_path / "dimension.xlsx"
    path.write_bytes(xlsx(sheet_xml(header + cells, "A1:XFD1048576"), {"xl/sharedStrings.xml": strings}))
    outcome = read_in_child(path)
    assert (outcome.get("rows"), outcome.get("width")) == (1000, 4), outcome
    quick_and_small(outcome)


def test_twenty_million_shared_strings_are_refused(tmp_path: Path) -> None:
    # 1.3 MB zipped; openpyxl built all 20 million strings at load and passed 3 GB.
    path = tmp_path / "strings.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {"[Content_Types].xml": content_types(), "xl/workbook.xml": workbook_xml(),
                           "xl/_rels/workbook.xml.rels": workbook_rels(),
                           "xl/worksheets/sheet1.xml": sheet_xml(HEADER + figures(2, 3))}.items():
            archive.writestr(name, data)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(f'<sst xmlns="{MAIN}">'.encode())
            block = b"<si><t/></si>" * 100_000
            for _ in range(200):
                part.write(block)
            part.write(b"</sst>")
    assert path.stat().st_size < 2_000_000
    outcome = read_in_child(path)
    assert outcome.get("refused") == (
        "strings.xlsx holds more than 500,000 different texts (shared strings), far more than a file of figures"
        " needs; copy the figures into a new workbook (Paste Special, Values) or save them as 'CSV UTF-8', and"
        " upload that."), outcome
    quick_and_small(outcome)


def test_a_lone_cell_at_the_last_column_and_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "corner.xlsx"
    path.write_bytes(xlsx(sheet_xml(HEADER + sheet_row(1048576, number_cell("XFD1048576", 1)))))
    outcome = read_in_child(path)
    assert outcome.get("refused") == (
        "corner.xlsx: cell XFD1048576 is beyond column AF, the limit for one upload; delete the columns to the"
        " right of your figures, save, and upload again."), outcome
    quick_and_small(outcome)


def test_a_lone_cell_in_the_last_row_is_refused() -> None:
    assert refusal(xlsx(sheet_xml(HEADER + sheet_row(1048576, number_cell("A1048576", 1))))) == (
        "q.xlsx: cell A1048576 is below row 250,000, the limit for one upload; delete the rows below your"
        " figures (or split the file into one per quarter) and upload again.")


def test_an_empty_formatted_cell_far_away_costs_nothing() -> None:
    # Excel writes formatted empty cells; one at XFD1048576 must not make anything walk a million rows.
    data = xlsx(sheet_xml(HEADER + figures(2, 3) + sheet_row(1048576, '<c r="XFD1048576" s="0"/>')))
    table = reader.read_bytes(data, "q.xlsx")
    assert [fields for _, fields in table.records] == [["NI 16", "Derbyshire", "2010/11 Q1", "9.6"]] * 2


def test_a_dimension_smaller_than_the_data_loses_nothing() -> None:
    table = reader.read_bytes(xlsx(sheet_xml(HEADER + figures(2, 3), "A1:B2")), "q.xlsx")
    assert table.header == ["indicator", "area", "quarter", "value"] and len(table.records) == 2


# --- every bound, before and while reading ---------------------------------------------------------


def test_an_oversized_workbook_is_refused_before_it_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "XLSX_MAX_BYTES", 1000)
    data = xlsx(sheet_xml(HEADER + figures(2, 100)))
    assert refusal(data) == f"q.xlsx is {len(data) / 1048576:.1f} MB, over the 0 MB limit; split it into one file" \
                            " per quarter."


def test_a_zip_bomb_is_refused_without_inflating_it() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {"[Content_Types].xml": content_types(), "xl/workbook.xml": workbook_xml(),
                           "xl/_rels/workbook.xml.rels": workbook_rels(),
                           "xl/worksheets/sheet1.xml": sheet_xml(HEADER + figures(2, 3))}.items():
            archive.writestr(name, data)
        with archive.open("xl/media/image1.png", "w") as part:  # 300 MB of zeros in 300 KB
            for _ in range(300):
                part.write(bytes(1 << 20))
    assert refusal(bomb.getvalue()) == (
        "q.xlsx unpacks to more than 256 MB, far more than a file of figures needs; copy the figures into a new"
        " workbook (Paste Special, Values) or save them as 'CSV UTF-8', and upload that.")


def test_a_zip_bomb_that_lies_about_its_size_is_refused() -> None:
    # The same bomb declaring 1 KB: the reader must count what inflates, not what is declared.
    member = b"x" * 10_000_000
    data = bytearray(xlsx(sheet_xml(HEADER + figures(2, 3)), {"xl/media/image1.png": member}))
    local = data.find(b"xl/media/image1.png") - 30  # the name follows a 30-byte local header...
    central = data.find(b"xl/media/image1.png", local + 31) - 46  # ...and a 46-byte directory entry
    assert data[local:local + 4] == b"PK\x03\x04" and data[central:central + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, local + 22, 1000)  # the uncompressed size each declares
    struct.pack_into("<I", data, central + 24, 1000)
    assert refusal(bytes(data)) == (
        "q.xlsx is damaged (its part xl/media/image1.png cannot be unpacked); open it in Excel, save it again, and"
        " upload the new file.")


def test_too_many_zip_members_are_refused_before_zipfile_lists_them() -> None:
    parts: dict[str, str | bytes] = {f"customXml/item{i}.xml": "<a/>" for i in range(1001)}
    assert "is a zip of more than 1,000 parts" in refusal(xlsx(sheet_xml(HEADER + figures(2, 3)), parts))


def test_too_many_sheets_are_refused() -> None:
    data = xlsx(sheet_xml(HEADER + figures(2, 3)), {"xl/workbook.xml": workbook_xml(sheets=51)})
    assert "q.xlsx has more than 50 sheets, far more than a file of figures needs" in refusal(data)


def test_a_chart_sheet_is_refused() -> None:
    data = xlsx(sheet_xml(HEADER + figures(2, 3)), {"xl/_rels/workbook.xml.rels": workbook_rels("chartsheet")})
    assert refusal(data).startswith("q.xlsx holds a chart sheet, which an upload cannot contain")


def test_too_many_rows_are_refused_as_they_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "XLSX_MAX_ROWS", 10)
    assert refusal(xlsx(sheet_xml(HEADER + figures(2, 11)))) == (
        "q.xlsx has more than 10 rows of figures, the limit for one upload; split it into one file per quarter.")


def test_too_many_cells_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "XLSX_MAX_CELLS", 10)
    assert "q.xlsx has more than 10 cells" in refusal(xlsx(sheet_xml(HEADER + figures(2, 3))))


def test_a_cell_beyond_the_last_column_is_refused() -> None:
    assert "cell AG2 is beyond column AF" in refusal(xlsx(sheet_xml(HEADER + sheet_row(2, number_cell("AG2", 1)))))


def test_a_row_of_endless_elements_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "XLSX_MAX_ROW_ELEMENTS", 100)
    cells = "".join(text_cell("A2", "x") for _ in range(50))  # 150 elements, all in cell A2
    assert "more than 100 XML elements in row 2" in refusal(xlsx(sheet_xml(HEADER + sheet_row(2, cells))))


def test_a_bloated_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "XLSX_MAX_PART_ELEMENTS", 100)
    styles = f'<styleSheet xmlns="{MAIN}"><fonts>{"<font/>" * 200}</fonts></styleSheet>'
    assert "more than 100 XML elements in xl/styles.xml" in refusal(
        xlsx(sheet_xml(HEADER + figures(2, 3)), {"xl/styles.xml": styles}))


def test_the_time_budget_is_checked_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(reader, "monotonic", lambda: clock[0])
    each_row = reader._fields

    def slow_row(*args: object) -> list[str]:  # as if each row took 50 s: the 4th must not start
        clock[0] += 50
        return each_row(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "_fields", slow_row)
    assert refusal(xlsx(sheet_xml(HEADER + figures(2, 10)))) == (
        "q.xlsx took longer than 120 seconds to read, the limit for a workbook; save the figures as 'CSV UTF-8'"
        " (much quicker to read) or split them into one file per quarter.")
    assert clock[0] == 150


def test_entity_expansion_is_refused() -> None:
    laughs = ('<!DOCTYPE workbook [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    assert refusal(xlsx(sheet_xml(HEADER + figures(2, 3)), {"xl/workbook.xml": workbook_xml(doctype=laughs)})) == (
        "q.xlsx: its part xl/workbook.xml declares a DOCTYPE, which spreadsheet programs never write; save the"
        " workbook again from Excel and upload the new file.")


# --- damaged workbooks: one sentence naming the file and, where known, the cell -----------------------


@pytest.mark.parametrize(("cells", "styles", "message"), [
    ('<c r="A2" t="s"><v>99</v></c>', None,
     "q.xlsx is damaged (cell A2 points to shared text 99, but the workbook holds 0)"),
    (number_cell("C2", "1e20", style=1), DATE_STYLES,
     "q.xlsx: cell C2 is formatted as a date but holds 1e20, which is no date (Excel shows it as ####); type the"
     " date again (e.g. 2010-06-30) or format the cell as a number, save, and upload again."),
    ('<c r="C2" t="d"><v>garbage</v></c>', None, "q.xlsx is damaged (cell C2 is marked as a date but holds 'garbage')"),
    (number_cell("D2", "abc"), None, "q.xlsx is damaged (cell D2 holds 'abc' as a number)"),
    (number_cell("D2", "nan"), None, "q.xlsx is damaged (cell D2 holds 'nan' as a number)"),
    ('<c r="D2" t="b"><v>maybe</v></c>', None, "q.xlsx is damaged (cell D2 holds 'maybe' as true or false)"),
    (number_cell("D2", 1, style=7), DATE_STYLES, "q.xlsx is damaged (cell D2 has a style the workbook lacks)"),
    (number_cell("D!2", 1), None, "q.xlsx is damaged (a cell in row 2 is named 'D!2')"),
])
def test_a_damaged_cell_is_named(cells: str, styles: str | None, message: str) -> None:
    parts: dict[str, str | bytes] = {"xl/styles.xml": styles} if styles else {}
    assert refusal(xlsx(sheet_xml(HEADER + sheet_row(2, text_cell("A2", "NI 16"), cells)), parts)).startswith(message)


def test_a_row_number_that_is_not_one_is_refused() -> None:
    assert refusal(xlsx(sheet_xml(HEADER + '<row r="two"><c><v>1</v></c></row>'))).startswith(
        "q.xlsx is damaged (a row of the first sheet is numbered 'two')")


def test_truncated_sheet_xml_is_refused() -> None:
    assert refusal(xlsx(sheet_xml(HEADER + figures(2, 5))[:-60])).startswith(
        "q.xlsx is damaged (the first sheet's XML breaks off after row 5: ")


def test_a_truncated_zip_cannot_be_opened() -> None:
    assert refusal(xlsx(sheet_xml(HEADER + figures(2, 5)))[:-100]) == (
        "q.xlsx cannot be opened as an Excel workbook; save it again as .xlsx or as 'CSV UTF-8'.")


def test_a_fault_only_openpyxl_meets_is_one_sentence_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    rich = '<c r="B2" t="inlineStr"><is><r><rPr><sz val="big"/></rPr><t>Derbyshire</t></r></is></c>'
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest.reader"):
        message = refusal(xlsx(sheet_xml(HEADER + sheet_row(2, text_cell("A2", "NI 16"), rich,
                                                            number_cell("D2", 9.6)))))
    assert message == ("q.xlsx is damaged (row 2 of the first sheet cannot be read); open it in Excel, save it"
                       " again, and upload the new file.")
    assert caplog.records and caplog.records[0].exc_info  # the details are kept for the administrator


def test_a_part_openpyxl_cannot_load_is_one_sentence_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    styles = f'<styleSheet xmlns="{MAIN}"><numFmts><numFmt numFmtId="x" formatCode="0"/></numFmts></styleSheet>'
    with caplog.at_level(logging.WARNING, logger="pipelines.ingest.reader"):
        message = refusal(xlsx(sheet_xml(HEADER + figures(2, 3)), {"xl/styles.xml": styles}))
    assert message == "q.xlsx cannot be opened as an Excel workbook; save it again as .xlsx or as 'CSV UTF-8'."
    assert caplog.records and caplog.records[0].exc_info


def test_a_formula_without_a_saved_result_in_a_hand_written_sheet() -> None:
    cells = sheet_row(2, text_cell("A2", "NI 16"), text_cell("B2", "Derbyshire"), text_cell("C2", "2010/11 Q1"),
                '<c r="D2"><f>4.8*2</f></c>')
    assert refusal(xlsx(sheet_xml(HEADER + cells))) == (
        "q.xlsx: cell D2 holds a formula with no saved result; open the workbook in Excel and save it (or paste"
        " the figures as values), then upload it again.")


# --- text files -------------------------------------------------------------------------------------


def test_mixed_utf8_and_windows_1252_is_refused_at_the_first_bad_line() -> None:
    data = "indicator,area,quarter,value,note\nNI 16,Derbyshire,2010/11 Q1,9.6,café\n".encode() + (
        b"NI 16,Erewash,2010/11 Q1,9.1,caf\xe9\n")
    assert refusal(data, "mixed.csv") == (
        "mixed.csv, line 3: byte 0xE9 is not UTF-8 although other letters in the file are, so it mixes two"
        " encodings and would be garbled; open it in Excel and save it again as 'CSV UTF-8'.")


def test_pure_windows_1252_is_still_read() -> None:
    data = "indicator,area,quarter,value,note\nNI 16,Derbyshire,2010/11 Q1,9.6,café £40k\n".encode("cp1252")
    assert reader.read_bytes(data, "win.csv").records == [
        (2, ["NI 16", "Derbyshire", "2010/11 Q1", "9.6", "café £40k"])]


def test_a_nul_byte_anywhere_is_refused_with_its_line() -> None:
    data = b"indicator,area,quarter,value\n" + b"NI 16,Derbyshire,2010/11 Q1,9.6\n" * 300 + b"NI 16,Erewash\x00,,\n"
    assert refusal(data, "nul.csv") == (
        "nul.csv is not a text file (line 302 holds a NUL byte, as binary data does); save it from Excel as"
        " 'CSV UTF-8' or upload the .xlsx workbook itself.")


def test_a_text_file_of_endless_tiny_rows_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"indicator\n" + b"a\n" * 25_000_000)  # 50 MB: read whole, this took 5 GB and 43 s
    outcome = read_in_child(path)
    assert outcome.get("refused") == (
        "rows.csv has more than 1,500,000 rows of figures, the limit for one upload; split it into one file per"
        " quarter."), outcome
    # 1.5 million rows are held before the refusal: bounded, if not small
    assert float(str(outcome["seconds"])) < SECONDS and float(str(outcome["peak_mb"])) < 900, outcome


def test_trailing_empty_columns_are_dropped_in_one_pass() -> None:
    # Excel can export a used range reaching column XFD: 16,384 separators a line.
    line = "NI 16,Derbyshire,2010/11 Q1,9.6" + "," * 16380 + "\n"
    table = reader.read_bytes(("indicator,area,quarter,value" + "," * 16380 + "\n" + line * 2000).encode(), "w.csv")
    assert table.header == ["indicator", "area", "quarter", "value"] and len(table.records) == 2000
