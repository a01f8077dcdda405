"""Cell normalisers: only unambiguous rewrites, each counted; everything else left as it came."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.harmonise import normalise as n
from quality.schema import load_schema

PERIOD = r"^[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?$"


def s(*values: str) -> pd.Series:
    return pd.Series(list(values), index=range(2, 2 + len(values)))


def test_whitespace_strips_nbsp_and_bom_only_around() -> None:
    new, changed = n.strip_whitespace(s("\u00a0Tours ", "\ufeffa b", "ok", ""))
    assert new.tolist() == ["Tours", "a b", "ok", ""]
    assert changed == 2


def test_numbers_french_and_unambiguous_forms() -> None:
    raw = s(
        "40 000,00",
        "17\u00a0833",
        "1\u202f234,5",
        "1.234.567,89",
        "1.234.567",
        "0,5",
        "12 €",
        "€ 3,5",
        "1,234.56",
        "1 234.56",
        "1.234",
        "10000.0",
        "abc",
        "",
        "12,5 %",
    )
    new, changed = n.normalise_number(raw)
    assert new.tolist() == [
        "40000.00",
        "17833",
        "1234.5",
        "1234567.89",
        "1234567",
        "0.5",
        "12",
        "3.5",
        "1234.56",
        "1234.56",
        "1.234",
        "10000.0",
        "abc",
        "",
        "12,5 %",
    ]
    assert changed == 10


def test_integer_valued_floats_for_integer_fields() -> None:
    new, changed = n.normalise_integer(s("1.0", "12", "1.5", "-3.00"))
    assert new.tolist() == ["1", "12", "1.5", "-3"]
    assert changed == 2


def test_identifiers_from_spreadsheet_floats() -> None:
    raw = s("21860194600000.0", "2.18601946E+13", "218 601 946 00013", "123.0", "21860194600013", "abc", "")
    new, changed = n.normalise_identifier(raw, r"^\d{14}$")
    # 123.0 would need 11 restored zeros: a truncated value, not a code, so it is left alone
    assert new.tolist() == [
        "21860194600000",
        "21860194600000",
        "21860194600013",
        "123.0",
        "21860194600013",
        "abc",
        "",
    ]
    assert changed == 3


def test_lost_leading_zero_restored_only_with_float_evidence() -> None:
    new, changed = n.normalise_identifier(s("1001.0", "1001", "37261.0", "1.001E+3"), "[0-9]{5}")
    assert new.tolist() == ["01001", "1001", "37261", "01001"]
    assert changed == 3


def test_digit_code_length() -> None:
    assert n.digit_code_length(r"^\d{14}$") == (14, 14)
    assert n.digit_code_length("[0-9]{5}") == (5, 5)
    assert n.digit_code_length(r"^\d{2,3}$") == (2, 3)
    assert n.digit_code_length(r"^\d+$") == (1, None)
    assert n.digit_code_length(r"^W\d{9}$") is None


def test_dates() -> None:
    raw = s(
        "21/12/2017",
        "21-12-2017",
        "21.12.2017",
        "2017/09/08",
        "2017-12-21 00:00:00",
        "1/2/2017",
        "2017-12-21",
        "31/02/2017",
        "21/12/17",
        "12/21/2017",
        "2017-12-21 10:30:00",
        "",
    )
    new, changed = n.normalise_date(raw)
    assert new.tolist() == [
        "2017-12-21",
        "2017-12-21",
        "2017-12-21",
        "2017-09-08",
        "2017-12-21",
        "2017-02-01",
        "2017-12-21",
        "31/02/2017",
        "21/12/17",
        "12/21/2017",
        "2017-12-21 10:30:00",
        "",
    ]
    assert changed == 6


def test_datetimes() -> None:
    new, changed = n.normalise_datetime(
        s("2017-12-21 10:30:00", "21/12/2017 9:05", "2017-12-21T10:30:00", "x")
    )
    assert new.tolist() == ["2017-12-21T10:30:00", "2017-12-21T09:05:00", "2017-12-21T10:30:00", "x"]
    assert changed == 2


def test_period_only_when_pattern_wants_a_slash() -> None:
    assert n.expects_period(PERIOD)
    assert not n.expects_period(r"^\d{14}$")
    raw = s(
        "2018-01-01_2018-03-31",
        "2017/09/08_2021/09/07",
        "2017-08-16",
        "01/01/2018 au 31/03/2018",
        "2018-01-01/2018-03-31",
        "2018-01-01_2018-02-30",
        "bientôt",
    )
    new, changed = n.normalise_period(raw, PERIOD)
    assert new.tolist() == [
        "2018-01-01/2018-03-31",
        "2017-09-08/2021-09-07",
        "2017-08-16",
        "2018-01-01/2018-03-31",
        "2018-01-01/2018-03-31",
        "2018-01-01_2018-02-30",
        "bientôt",
    ]
    assert changed == 3


def test_booleans_to_schema_spelling() -> None:
    new, changed = n.normalise_boolean(
        s("OUI", "Non", "non", "Vrai", "1", "0", "peut-être", ""), ["oui"], ["non"]
    )
    assert new.tolist() == ["oui", "non", "non", "oui", "oui", "non", "peut-être", ""]
    assert changed == 5


def test_booleans_default_values() -> None:
    new, changed = n.normalise_boolean(s("Oui", "TRUE", "false", "non"), None, None)
    assert new.tolist() == ["true", "true", "false", "false"]
    assert changed == 3


def test_enum_case_accents_spacing() -> None:
    enum = ["aide en numéraire", "aide en nature", "aide en numéraire;aide en nature"]
    new, changed = n.normalise_enum(
        s(
            "Aide en numéraire",
            "AIDE EN NUMERAIRE",
            "aide en  nature",
            "Aide en numéraire ; aide en nature",
            "don",
        ),
        enum,
    )
    assert new.tolist() == [
        "aide en numéraire",
        "aide en numéraire",
        "aide en nature",
        "aide en numéraire;aide en nature",
        "don",
    ]
    assert changed == 4


def test_enum_apostrophes() -> None:
    new, _ = n.normalise_enum(s("Cage d'escalier"), ["cage d’escalier", "logement"])
    assert new.tolist() == ["cage d’escalier"]


@pytest.mark.parametrize(
    ("field", "raw", "expected", "kinds"),
    [
        ("montant", [" 40 000,00 €", "12"], ["40000.00", "12"], {"whitespace": 1, "number": 1}),
        ("idAttribuant", ["21860194600000.0"], ["21860194600000"], {"identifier": 1}),
        ("dateConvention", ["21/12/2017"], ["2017-12-21"], {"date": 1}),
        ("notificationUE", ["NON", "Oui"], ["non", "oui"], {"boolean": 2}),
        ("nature", ["Aide en numéraire"], ["aide en numéraire"], {"enum": 1}),
        ("datesPeriodeVersement", ["2018-01-01_2018-03-31"], ["2018-01-01/2018-03-31"], {"period": 1}),
        ("objet", ["  Fonctionnement 2017,5 "], ["Fonctionnement 2017,5"], {"whitespace": 1}),
    ],
)
def test_normalise_column_driven_by_schema_field(field, raw, expected, kinds) -> None:
    schema = load_schema("scdl-subventions")
    new, counts = n.normalise_column(s(*raw), schema.field(field))
    assert new.tolist() == expected
    assert counts == kinds


def test_integer_field_of_bal() -> None:
    schema = load_schema("etalab-bal")
    new, counts = n.normalise_column(s("12.0", "1 024", "3bis"), schema.field("numero"))
    assert new.tolist() == ["12", "1024", "3bis"]
    assert counts == {"number": 1, "integer": 1}


def test_vectorised_on_a_million_cells() -> None:
    schema = load_schema("scdl-subventions")
    big = pd.Series(["40 000,00", "1234.5", "17\u00a0833", ""] * 250_000)
    new, counts = n.normalise_column(big, schema.field("montant"))
    assert counts == {"number": 500_000}


def test_percent_sign_in_a_share_field_becomes_a_fraction():
    series = pd.Series(["100%", "45 %", "12,5 %", "0.5", "beaucoup %"], dtype="str")
    new, changed = n.normalise_percent(series)
    assert list(new) == ["1", "0.45", "0.125", "0.5", "beaucoup %"] and changed == 3


def test_point_groups_thousands_only_where_the_column_writes_decimals_with_a_comma():
    french = n.normalise_number(pd.Series(["1 500,50", "2.000", "300"], dtype="str"))[0]
    assert list(french) == ["1500.50", "2000", "300"]
    english = n.normalise_number(pd.Series(["1.5", "2.000", "300"], dtype="str"))[0]
    assert list(english) == ["1.5", "2.000", "300"]  # a decimal point elsewhere: left as written
    alone = n.normalise_number(pd.Series(["2.000", "300"], dtype="str"))[0]
    assert list(alone) == ["2.000", "300"]  # nothing tells: left for the validator
