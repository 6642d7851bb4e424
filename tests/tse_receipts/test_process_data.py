"""DSFinV-K processData (Kassenbeleg-V1, Bestellung-V1, SonstigerVorgang) — no database."""

from decimal import Decimal

import pytest

from tse.receipts.process_data import (
    PROCESS_TYPE_ORDER,
    PROCESS_TYPE_OTHER,
    PROCESS_TYPE_RECEIPT,
    RECEIPT_TYPES,
    ProcessData,
    ReceiptDataError,
    build_order,
    build_other,
    build_process_data,
    build_receipt,
    format_amount,
    format_quantity,
    vat_rate_for_key,
)

# The messages under test are the English msgids; the portal defaults to German.
pytestmark = pytest.mark.usefixtures("in_english")


def receipt(receipt_type="RECEIPT", vat=(), payments=None):
    data = {
        "receipt_type": receipt_type,
        "amounts_per_vat_rate": [{"vat_rate": rate, "amount": amount} for rate, amount in vat],
    }
    if payments is not None:
        data["amounts_per_payment_type"] = [
            {"payment_type": kind, "amount": amount, **({"currency_code": currency} if currency else {})}
            for kind, amount, currency in payments
        ]
    return data


def errors_of(excinfo):
    return [(error.path, error.code) for error in excinfo.value.errors]


# --- Kassenbeleg-V1 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # fiskaly example (api-conventions.md §1.6 / dsfinvk.md §9.2): 21.42 € card payment at 19 %
        (
            receipt(vat=[("NORMAL", "21.42")], payments=[("NON_CASH", "21.42", "EUR")]),
            "Beleg^21.42_0.00_0.00_0.00_0.00^21.42:Unbar",
        ),
        # spec example (DSFinV-K 2.2 p.111): base currency first, foreign codes alphabetically, Bar before Unbar
        (
            receipt(
                vat=[("REDUCED_1", "7.99"), ("NORMAL", "75.33")],
                payments=[
                    ("NON_CASH", "64.30", None),
                    ("CASH", "5.00", "USD"),
                    ("CASH", "10.00", None),
                    ("CASH", "5.00", "CHF"),
                ],
            ),
            "Beleg^75.33_7.99_0.00_0.00_0.00^10.00:Bar_5.00:Bar:CHF_5.00:Bar:USD_64.30:Unbar",
        ),
        # all five slots in the fixed order, whatever the input order
        (
            receipt(
                vat=[
                    ("NULL", "5.00"),
                    ("SPECIAL_RATE_2", "4.00"),
                    ("SPECIAL_RATE_1", "3.00"),
                    ("REDUCED_1", "2.00"),
                    ("NORMAL", "1.00"),
                ],
                payments=[("CASH", "15.00", "EUR")],
            ),
            "Beleg^1.00_2.00_3.00_4.00_5.00^15.00:Bar",
        ),
        # refund
        (
            receipt(vat=[("NORMAL", "-10.00")], payments=[("CASH", "-10.00", None)]),
            "Beleg^-10.00_0.00_0.00_0.00_0.00^-10.00:Bar",
        ),
        # cash withdrawal on the zero slot
        (
            receipt(vat=[("NULL", "-100.00")], payments=[("CASH", "-100", None)]),
            "Beleg^0.00_0.00_0.00_0.00_-100.00^-100.00:Bar",
        ),
        # mixed signs (voucher redemption on slot 5)
        (
            receipt(
                vat=[("NORMAL", "5.00"), ("REDUCED_1", "7.00"), ("NULL", "-7.00")],
                payments=[("CASH", "1.00", None), ("NON_CASH", "4.00", None)],
            ),
            "Beleg^5.00_7.00_0.00_0.00_-7.00^1.00:Bar_4.00:Unbar",
        ),
        # several payments of one class and currency are accumulated
        (
            receipt(
                vat=[("NORMAL", "30.00")],
                payments=[("NON_CASH", "10.00", None), ("CASH", "5.00", None), ("NON_CASH", "15.00", "EUR")],
            ),
            "Beleg^30.00_0.00_0.00_0.00_0.00^5.00:Bar_25.00:Unbar",
        ),
        # foreign currencies on both classes (dsfinvk.md §9.2 fiskaltrust case, real codes)
        (
            receipt(
                vat=[("NORMAL", "5.00"), ("REDUCED_1", "7.00"), ("NULL", "-7.00")],
                payments=[
                    ("NON_CASH", "17.00", "USD"),
                    ("CASH", "1.99", "GBP"),
                    ("CASH", "999.00", "CHF"),
                    ("NON_CASH", "1.00", None),
                    ("CASH", "1.00", None),
                ],
            ),
            "Beleg^5.00_7.00_0.00_0.00_-7.00^1.00:Bar_999.00:Bar:CHF_1.99:Bar:GBP_1.00:Unbar_17.00:Unbar:USD",
        ),
        # zero entries (also zero after accumulation) are omitted
        (
            receipt(
                vat=[("NORMAL", "2.00"), ("REDUCED_1", "0.00")],
                payments=[
                    ("CASH", "0.00", None),
                    ("NON_CASH", "2.00", None),
                    ("CASH", "3.00", "CHF"),
                    ("CASH", "-3.00", "CHF"),
                ],
            ),  # fmt: skip
            "Beleg^2.00_0.00_0.00_0.00_0.00^2.00:Unbar",
        ),
        # zero receipt without payments keeps the trailing ^
        (receipt(vat=[("NORMAL", "0.00")]), "Beleg^0.00_0.00_0.00_0.00_0.00^"),
        (receipt(vat=[], payments=[]), "Beleg^0.00_0.00_0.00_0.00_0.00^"),
        # aborted transaction
        (receipt("ABORT", vat=[]), "AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^"),
        # training receipt: signed like any other, BON_TYP AVTraining
        (
            receipt("TRAINING", vat=[("NORMAL", "11.90"), ("REDUCED_1", "3.21")]),
            "AVTraining^11.90_3.21_0.00_0.00_0.00^",
        ),
        (
            receipt("TRAINING", vat=[("NORMAL", "11.90")], payments=[("CASH", "11.90", None)]),
            "AVTraining^11.90_0.00_0.00_0.00_0.00^11.90:Bar",
        ),
        (receipt("BENEFIT_IN_KIND", vat=[("REDUCED_1", "4.50")]), "AVSachbezug^0.00_4.50_0.00_0.00_0.00^"),
        (receipt("TRANSFER", vat=[("NORMAL", "8.00")]), "AVTransfer^8.00_0.00_0.00_0.00_0.00^"),
        (receipt("INVOICE", vat=[("NORMAL", "99.99")]), "AVRechnung^99.99_0.00_0.00_0.00_0.00^"),
        (receipt("ORDER", vat=[("REDUCED_1", "6.50")]), "AVBestellung^0.00_6.50_0.00_0.00_0.00^"),
        (receipt("OTHER", vat=[("NULL", "1.00")]), "AVSonstige^0.00_0.00_0.00_0.00_1.00^"),
        (receipt("CANCELLATION", vat=[]), "AVBelegabbruch^0.00_0.00_0.00_0.00_0.00^"),
        (receipt("ANNULATION", vat=[("NORMAL", "-1.00")]), "AVBelegstorno^-1.00_0.00_0.00_0.00_0.00^"),
        # fiskaly sends 2–5 decimals; trailing zeros are fine, Decimal and int are accepted
        (
            receipt(vat=[("NORMAL", "11.90000"), ("REDUCED_1", Decimal("3.2"))], payments=[("CASH", 15, None)]),
            "Beleg^11.90_3.20_0.00_0.00_0.00^15.00:Bar",
        ),
        # no grouping, no negative zero
        (
            receipt(vat=[("NORMAL", "1234567.89"), ("NULL", "-0.00")], payments=[("NON_CASH", "1234567.89", None)]),
            "Beleg^1234567.89_0.00_0.00_0.00_0.00^1234567.89:Unbar",
        ),
    ],
)
def test_kassenbeleg(data, expected):
    assert build_receipt(data) == ProcessData(PROCESS_TYPE_RECEIPT, expected)


def test_every_receipt_type_maps_to_its_bon_typ():
    for receipt_type, bon_typ in RECEIPT_TYPES.items():
        result = build_receipt(receipt(receipt_type, vat=[("NORMAL", "1.00")], payments=[("CASH", "1.00", None)]))
        assert result.process_data == f"{bon_typ}^1.00_0.00_0.00_0.00_0.00^1.00:Bar"


def test_other_base_currency():
    data = receipt(vat=[("NORMAL", "10.00")], payments=[("CASH", "10.00", "CHF"), ("CASH", "2.00", "EUR")])
    assert (
        build_receipt(data, base_currency="CHF").process_data
        == "Beleg^10.00_0.00_0.00_0.00_0.00^10.00:Bar_2.00:Bar:EUR"
    )
    with pytest.raises(ValueError):
        build_receipt(data, base_currency="chf")


def test_receipt_validation_collects_every_error_with_its_path():
    data = {
        "receipt_type": "SALE",
        "amounts_per_vat_rate": [
            {"vat_rate": "NORMAL", "amount": 1.5},
            {"vat_rate": "NORMAL", "amount": "1.00"},
            {"vat_rate": "19", "amount": "1,00"},
            {"vat_rate": "REDUCED_1", "amount": "1.234"},
            {"amount": "1.00"},
            {"vat_rate": "NULL"},
            "NORMAL",
        ],
        "amounts_per_payment_type": [
            {"payment_type": "CARD", "amount": "1.00"},
            {"payment_type": "CASH", "amount": "1.00", "currency_code": "eur"},
            {"payment_type": "CASH", "amount": "abc", "tip": "1.00"},
        ],
        "extra": 1,
    }
    with pytest.raises(ReceiptDataError) as excinfo:
        build_receipt(data)
    assert errors_of(excinfo) == [
        ("extra", "unknown_field"),
        ("receipt_type", "invalid_choice"),
        ("amounts_per_vat_rate[0].amount", "invalid_type"),
        ("amounts_per_vat_rate[1].vat_rate", "duplicate"),
        ("amounts_per_vat_rate[2].vat_rate", "invalid_choice"),
        ("amounts_per_vat_rate[2].amount", "invalid_decimal"),
        ("amounts_per_vat_rate[3].amount", "too_many_decimals"),
        ("amounts_per_vat_rate[4].vat_rate", "required"),
        ("amounts_per_vat_rate[5].amount", "required"),
        ("amounts_per_vat_rate[6]", "invalid_type"),
        ("amounts_per_payment_type[0].payment_type", "invalid_choice"),
        ("amounts_per_payment_type[1].currency_code", "invalid_currency"),
        ("amounts_per_payment_type[2].tip", "unknown_field"),
        ("amounts_per_payment_type[2].amount", "invalid_decimal"),
    ]
    messages = {error.path: error.as_dict()["message"] for error in excinfo.value.errors}
    assert messages["amounts_per_vat_rate[3].amount"] == "Enter an amount with at most 2 decimal places."
    assert "amounts_per_vat_rate[1].vat_rate: duplicate" in str(excinfo.value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"amounts_per_vat_rate": []}, [("receipt_type", "required")]),
        ({"receipt_type": "RECEIPT"}, [("amounts_per_vat_rate", "required")]),
        ({"receipt_type": "RECEIPT", "amounts_per_vat_rate": {}}, [("amounts_per_vat_rate", "invalid_type")]),
        (
            {"receipt_type": "RECEIPT", "amounts_per_vat_rate": [], "amounts_per_payment_type": "CASH"},
            [("amounts_per_payment_type", "invalid_type")],
        ),
        ("RECEIPT", [("", "invalid_type")]),
        # a sale needs payments
        (receipt(vat=[("NORMAL", "1.00")]), [("amounts_per_payment_type", "required")]),
        (receipt(vat=[("NORMAL", "1.00")], payments=[]), [("amounts_per_payment_type", "required")]),
        # amounts
        (receipt(vat=[("NORMAL", True)], payments=[]), [("amounts_per_vat_rate[0].amount", "invalid_type")]),
        (receipt(vat=[("NORMAL", None)], payments=[]), [("amounts_per_vat_rate[0].amount", "invalid_type")]),
        (receipt(vat=[("NORMAL", "1e3")], payments=[]), [("amounts_per_vat_rate[0].amount", "invalid_decimal")]),
        (receipt(vat=[("NORMAL", "1.000,00")], payments=[]), [("amounts_per_vat_rate[0].amount", "invalid_decimal")]),
        (receipt(vat=[("NORMAL", " 1.00")], payments=[]), [("amounts_per_vat_rate[0].amount", "invalid_decimal")]),
        (receipt(vat=[("NORMAL", "")], payments=[]), [("amounts_per_vat_rate[0].amount", "invalid_decimal")]),
        (receipt(vat=[("NORMAL", "1.005")], payments=[]), [("amounts_per_vat_rate[0].amount", "too_many_decimals")]),
        (
            receipt(vat=[("NORMAL", Decimal("NaN"))], payments=[]),
            [("amounts_per_vat_rate[0].amount", "invalid_decimal")],
        ),
        (
            receipt(vat=[("NORMAL", "9" * 40)], payments=[]),
            [("amounts_per_vat_rate[0].amount", "invalid_decimal")],
        ),
        (
            receipt(vat=[("NORMAL", "1.00")], payments=[("CASH", 1.0, None)]),
            [("amounts_per_payment_type[0].amount", "invalid_type")],
        ),
        (
            receipt(vat=[("NORMAL", "1.00")], payments=[("CASH", "1.00", "EURO")]),
            [("amounts_per_payment_type[0].currency_code", "invalid_currency")],
        ),
        (
            {"receipt_type": "RECEIPT", "amounts_per_vat_rate": [], "amounts_per_payment_type": [{"amount": "1"}]},
            [("amounts_per_payment_type[0].payment_type", "required")],
        ),
        (
            {
                "receipt_type": "RECEIPT",
                "amounts_per_vat_rate": [],
                "amounts_per_payment_type": [{"payment_type": "CASH"}],
            },
            [("amounts_per_payment_type[0].amount", "required")],
        ),
        (
            {"receipt_type": "RECEIPT", "amounts_per_vat_rate": [], "amounts_per_payment_type": [None]},
            [("amounts_per_payment_type[0]", "invalid_type")],
        ),
    ],
)
def test_receipt_validation_errors(data, expected):
    with pytest.raises(ReceiptDataError) as excinfo:
        build_receipt(data)
    assert errors_of(excinfo) == expected


def test_format_amount_and_quantity():
    assert format_amount(Decimal("3")) == "3.00"
    assert format_amount(Decimal("-0")) == "0.00"
    assert format_amount(Decimal("1E+3")) == "1000.00"
    assert format_quantity(Decimal("1.000")) == "1"
    assert format_quantity(Decimal("100")) == "100"
    assert format_quantity(Decimal("-0.50")) == "-0.5"
    assert format_quantity(Decimal("-0.0")) == "0"
    with pytest.raises(TypeError):
        format_amount(1.5)
    with pytest.raises(TypeError):
        format_quantity(1)


@pytest.mark.parametrize(
    ("key", "rate"),
    [(1, "NORMAL"), (2, "REDUCED_1"), (3, "SPECIAL_RATE_1"), (4, "SPECIAL_RATE_2"), (5, "NULL"), (6, "NULL"),
     (7, "NULL"), (11, "NORMAL"), (22, "REDUCED_1"), (43, "SPECIAL_RATE_1")],
)  # fmt: skip
def test_vat_keys_map_to_slots(key, rate):
    assert vat_rate_for_key(key) == rate


@pytest.mark.parametrize("key", [0, 9, 1000, True, "1"])
def test_vat_keys_without_fixed_slot(key):
    with pytest.raises(ValueError):
        vat_rate_for_key(key)


# --- Bestellung-V1 -----------------------------------------------------------------------------


def test_bestellung():
    order = {
        "line_items": [
            {"quantity": "1", "text": "Beer", "price_per_unit": "10.21"},
            {"quantity": "0.50000", "text": "Schnitzel", "price_per_unit": "24.4"},
            {"quantity": Decimal("2.000"), "text": 'Wine "Riesling"', "price_per_unit": Decimal("0")},
            {"quantity": "-1", "text": "Beer (storno)", "price_per_unit": "10.21"},
            {"quantity": 3, "text": "Brötchen", "price_per_unit": "-0.50"},
        ]
    }
    assert build_order(order) == ProcessData(
        PROCESS_TYPE_ORDER,
        '1;"Beer";10.21\r0.5;"Schnitzel";24.40\r2;"Wine ""Riesling""";0.00\r-1;"Beer (storno)";10.21\r'
        '3;"Brötchen";-0.50',
    )


def test_bestellung_single_line_has_no_separator():
    order = {"line_items": [{"quantity": "1.25", "text": "Kaffee", "price_per_unit": "2.90"}]}
    assert build_order(order).process_data == '1.25;"Kaffee";2.90'


def test_bestellung_validation():
    order = {
        "line_items": [
            {"quantity": "1.123456", "text": "A", "price_per_unit": "1.001"},
            {"quantity": 1.0, "text": "", "price_per_unit": "1.00"},
            {"quantity": "1", "text": "line\nbreak", "price_per_unit": 2.5},
            {"quantity": "1", "text": "x" * 256, "price_per_unit": "1.00"},
            {"text": 7, "note": "-"},
            [],
        ]
    }
    with pytest.raises(ReceiptDataError) as excinfo:
        build_order(order)
    assert errors_of(excinfo) == [
        ("line_items[0].quantity", "too_many_decimals"),
        ("line_items[0].price_per_unit", "too_many_decimals"),
        ("line_items[1].quantity", "invalid_type"),
        ("line_items[1].text", "required"),
        ("line_items[2].price_per_unit", "invalid_type"),
        ("line_items[2].text", "invalid_characters"),
        ("line_items[3].text", "max_length"),
        ("line_items[4].note", "unknown_field"),
        ("line_items[4].quantity", "required"),
        ("line_items[4].price_per_unit", "required"),
        ("line_items[4].text", "invalid_type"),
        ("line_items[5]", "invalid_type"),
    ]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ({}, [("line_items", "required")]),
        ({"line_items": []}, [("line_items", "required")]),
        ({"line_items": "Beer"}, [("line_items", "invalid_type")]),
        ([], [("", "invalid_type")]),
    ],
)
def test_bestellung_needs_line_items(order, expected):
    with pytest.raises(ReceiptDataError) as excinfo:
        build_order(order)
    assert errors_of(excinfo) == expected


# --- SonstigerVorgang and the dispatcher -------------------------------------------------------


def test_sonstiger_vorgang():
    assert build_other("daily-closing") == ProcessData(PROCESS_TYPE_OTHER, "daily-closing")
    assert build_other("") == ProcessData(PROCESS_TYPE_OTHER, "")
    with pytest.raises(ReceiptDataError) as excinfo:
        build_other({"text": "x"})
    assert errors_of(excinfo) == [("", "invalid_type")]


def test_dispatcher():
    schema = {"standard_v1": {"receipt": receipt(vat=[("NORMAL", "21.42")], payments=[("NON_CASH", "21.42", None)])}}
    assert build_process_data(schema) == ProcessData(
        PROCESS_TYPE_RECEIPT, "Beleg^21.42_0.00_0.00_0.00_0.00^21.42:Unbar"
    )
    order = {"line_items": [{"quantity": "1", "text": "Beer", "price_per_unit": "4.20"}]}
    assert build_process_data({"standard_v1": {"order": order}}).process_type == PROCESS_TYPE_ORDER
    assert build_process_data({"standard_v1": {"other": "zero-receipt"}}).process_data == "zero-receipt"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"standard_v1": {"receipt": {"receipt_type": "RECEIPT"}}},
            [("standard_v1.receipt.amounts_per_vat_rate", "required")],
        ),
        (
            {"standard_v1": {"receipt": receipt(vat=[("NORMAL", "1.001")], payments=[("CASH", "1.00", None)])}},
            [("standard_v1.receipt.amounts_per_vat_rate[0].amount", "too_many_decimals")],
        ),
        ({"standard_v1": {"order": {"line_items": [{}]}}}, [
            ("standard_v1.order.line_items[0].quantity", "required"),
            ("standard_v1.order.line_items[0].price_per_unit", "required"),
            ("standard_v1.order.line_items[0].text", "required"),
        ]),
        ({"standard_v1": {"other": 5}}, [("standard_v1.other", "invalid_type")]),
        ({"standard_v1": {}}, [("standard_v1", "one_of")]),
        ({"standard_v1": {"receipt": {}, "other": "x"}}, [("standard_v1", "one_of")]),
        ({"standard_v1": {"raw": {}}}, [("standard_v1.raw", "unknown_field"), ("standard_v1", "one_of")]),
        ({"raw": {}}, [("raw", "unknown_field"), ("standard_v1", "required")]),
        ({"standard_v1": []}, [("standard_v1", "invalid_type")]),
        (None, [("", "invalid_type")]),
    ],
)  # fmt: skip
def test_dispatcher_errors(schema, expected):
    with pytest.raises(ReceiptDataError) as excinfo:
        build_process_data(schema)
    assert errors_of(excinfo) == expected
