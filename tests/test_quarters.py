import pytest

from pipelines.catalogue import quarters


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2010/11 Q1", "2010/11 Q1"),
        ("2010/11 q4", "2010/11 Q4"),
        (" 1999/00 Q2 ", "1999/00 Q2"),
        ("2010-06-30", "2010/11 Q1"),
        ("2010-09-30", "2010/11 Q2"),
        ("2010-12-31", "2010/11 Q3"),
        ("2011-03-31", "2010/11 Q4"),
    ],
)
def test_accepted_forms(text: str, label: str) -> None:
    assert quarters.label(quarters.parse(text)) == label


def test_index_arithmetic() -> None:
    q1 = quarters.parse("2010/11 Q1")
    assert quarters.label(q1 - 1) == "2009/10 Q4"
    assert quarters.label(q1 - 4) == "2009/10 Q1"
    assert quarters.financial_year(quarters.parse("2011-03-31")) == "2010/11"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2010/12 Q1", "the second year must follow the first"),
        ("2010/11 Q5", "write '2010/11 Q1'"),
        ("Q1 2010", "write '2010/11 Q1'"),
        ("2010-06-15", "not the last day of a quarter"),
        ("2010-02-30", "not a real date"),
        ("", "write '2010/11 Q1'"),
    ],
)
def test_rejected_forms_say_what_is_accepted(text: str, fragment: str) -> None:
    with pytest.raises(quarters.QuarterError) as exc:
        quarters.parse(text)
    assert fragment in str(exc.value)


def test_financial_year_text() -> None:
    assert quarters.parse_year("2010/11") == 2010
    with pytest.raises(quarters.QuarterError, match="write it as '2010/11'"):
        quarters.parse_year("2010-11")
