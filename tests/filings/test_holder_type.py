"""Holder type: companies are institutions with or without "PT"; people stay insiders; and each
answer says which rule decided it. The last test runs the generate stage with the real company
map, so a holder that is itself a listed company is an institution by that match."""

from __future__ import annotations

import json

import pytest

from handlers.domain.filings.holder_type import classify, company_names
from handlers.stages import generate
from tests.filings.forms import drop, form, row

INSTITUTIONS = [
    # SID names of companies, which often omit "PT": the corporate vocabulary decides.
    ("Unitras Pertama", "corporate_word", "Pertama"),
    ("Saratoga Investama Sedaya", "corporate_word", "Investama"),
    ("Dana Pensiun Telkom", "corporate_word", "Dana Pensiun"),
    ("Grand Sukses Internasional", "corporate_word", "Sukses"),
    ("Damai Investama Sukses", "corporate_word", "Investama"),
    ("Pemenang Nusantara Internasional", "corporate_word", "Nusantara"),
    ("Asuransi Jiwa Sinarmas", "corporate_word", "Asuransi"),
    ("Koperasi Karyawan Astra", "corporate_word", "Koperasi"),
    ("Yayasan Kesejahteraan Karyawan", "corporate_word", "Yayasan"),
    ("Northstar Capital", "corporate_word", "Capital"),
    ("Lo Kheng Hong Asset Management", "corporate_word", "Asset"),
    # Legal-form words, whole words only.
    ("PT Damai Sejahtera", "legal_form", "PT"),
    ("Abc Holdings Pte. Ltd.", "legal_form", "Pte."),
    ("Stichting Depositary APG B.V.", "legal_form", "B.V."),
    ("Deutsche Invest GmbH", "legal_form", "GmbH"),
    ("Norges Bank Investment Inc", "legal_form", "Inc"),
    ("Acme Corp", "legal_form", "Corp"),
    ("Blue Ocean LLC", "legal_form", "LLC"),
    ("Banco Sabadell S.A.", "legal_form", "S.A."),
    ("Philips N.V.", "legal_form", "N.V."),
    ("Bank Central Asia Tbk", "legal_form", "Tbk"),
    ("Great Eastern Limited", "legal_form", "Limited"),
]
PEOPLE = ["Septian Hartono", "Budi Santoso", "Lo Kheng Hong", "Garibaldi Thohir",
          "Siti Nurhaliza Pratama", "Edwin Soeryadjaya", "Sandiaga Salahuddin Uno",
          "Anthoni Salim", "Prajogo Pangestu", "Ptolemy Wijaya", "Inca Putri", "Sainul Ag",
          "Ahmad Fauzi S.Ag.", "Hendra Sentosa", "Makmur Hidayat"]


@pytest.mark.parametrize(("name", "rule", "evidence"), INSTITUTIONS)
def test_corporate_holders_are_institutions_with_or_without_pt(name, rule, evidence):
    found = classify(name)
    assert (found.type, found.rule, found.evidence) == ("institution", rule, evidence)


@pytest.mark.parametrize("name", PEOPLE)
def test_personal_names_stay_insiders(name):
    assert (classify(name).type, classify(name).rule) == ("insider", "person")


def test_a_holder_named_in_the_company_map_is_an_institution():
    companies = company_names({"ABCD.JK": {"company_name": "PT Wijaya Karya Beton Tbk"}})
    found = classify("Wijaya Karya Beton", companies)
    assert (found.type, found.rule, found.evidence) == ("institution", "company_map",
                                                        "wijaya karya beton")
    assert classify("Wijaya Karya", companies).type == "insider"  # a part is no match


@pytest.mark.parametrize(("category", "name", "kind"), [
    ("Perorangan", "Unitras Pertama", "insider"),  # the form's own word wins
    ("Korporasi", "Budi Santoso", "institution"),
    ("Badan Usaha", "Budi Santoso", "institution"),
])
def test_the_holder_category_the_form_prints_decides(category, name, kind):
    found = classify(name, category=category)
    assert (found.type, found.rule, found.evidence) == (kind, "category", category)


def test_the_stage_stores_the_type_and_records_the_rule(make_ctx):
    ctx = make_ctx()
    # "Saratoga Investama Sedaya Tbk" is in the bundled company map (SRTG).
    record = form([row("sell", 100, "1770")], 1000, 900, holder="Saratoga Investama Sedaya")
    (output,) = generate.handle(drop(ctx.root, "h.json", record), ctx)[:1]
    (filing,) = json.loads(output.read_text())["filings"]
    assert filing["holder_type"] == {"type": "institution", "rule": "company_map",
                                     "evidence": "saratoga investama sedaya"}
    assert ctx.sink.rows()[0]["holder_type"] == "institution"
