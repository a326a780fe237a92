"""Whose address a lead officer's note goes to: no plan can take a lead's mail over."""

from __future__ import annotations

from xltools import model
from xltools.leads import resolve_addresses

SANDRA = "sandra.greer@argyll.gov.uk"


def row(lead, email, plan, validation=""):
    return {
        model.LEAD: lead,
        model.LEAD_EMAIL: email,
        "Source file": plan,
        "Validation": validation,
    }


def test_the_leads_file_decides_whatever_the_plans_say():
    rows = [row("Sandra Greer", SANDRA, "argyll.xlsx"), row("sandra greer", "x@evil.org", "z.xlsx")]
    found = resolve_addresses(rows, {"sandra greer": "sg@council.gov.uk"})
    assert found.address("SANDRA  GREER") == "sg@council.gov.uk"
    assert found.problems() == []


def test_plans_must_all_agree_and_disagreements_are_listed():
    hijack = [
        row("Sandra Greer", SANDRA, "argyll.xlsx"),
        row("Sandra Greer", "me@evil.org", "a.xlsx"),
    ]
    found = resolve_addresses(hijack)
    assert found.address("Sandra Greer") is None
    [line] = found.problems()
    assert "the plans disagree" in line and "me@evil.org (a.xlsx)" in line and SANDRA in line
    agree = [row("Pat Jones", "pat@x.gov.uk", "a.xlsx"), row("pat jones", "PAT@x.gov.uk", "b.xlsx")]
    assert resolve_addresses(agree).address("Pat Jones") == "pat@x.gov.uk"


def test_an_address_that_failed_the_rules_is_never_used():
    comma = [row("Lee Ward", "lee@x.gov.uk, boss@evil.org", "a.xlsx")]
    found = resolve_addresses(comma)
    assert found.address("Lee Ward") is None
    assert "not one valid address" in found.problems()[0]
    flagged = [
        row("Lee Ward", "lee@x.gov.uk", "a.xlsx", "error: Lead email: 'x' is not an email address"),
        row("Lee Ward", "lee@x.gov.uk", "b.xlsx"),
    ]
    assert resolve_addresses(flagged).address("Lee Ward") is None
