"""One findings catalogue and one check registry, and everything derived from them."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

from xltools import catalogue, rules
from xltools.errors import RulePackError
from xltools.rules import CHECKS, check, load_pack, parse_pack


def test_the_readme_lists_exactly_the_catalogue():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert catalogue.markdown_table() in readme, (
        "the README's list of finding codes differs from the catalogue: paste "
        "python -c 'from xltools import catalogue; print(catalogue.markdown_table())'"
    )


def test_every_code_built_anywhere_is_catalogued_and_labels_are_distinct():
    built = set()
    for path in (REPO / "xltools").rglob("*.py"):
        built |= set(re.findall(r'catalogue\.finding\(\s*"([a-z-]+)"', path.read_text("utf-8")))
    assert built and built <= set(catalogue.CATALOGUE)
    for name in ("default", "audit"):
        assert {spec.code for spec in load_pack(name).checks} <= set(catalogue.CATALOGUE)
    labels = [kind.label for kind in catalogue.CATALOGUE.values()]
    assert len(labels) == len(set(labels))
    assert all(kind.severity in catalogue.SEVERITIES for kind in catalogue.CATALOGUE.values())


def test_a_finding_is_built_by_keyword_from_its_template():
    finding = catalogue.finding(
        "duplicate-ref", sheet="Actions", cell="A5", row=5, column="Ref", ref="7", value="7"
    )
    assert (finding.code, finding.label, finding.severity) == (
        "duplicate-ref",
        "Ref used twice",
        "error",
    )
    assert finding.message == (
        "Ref '7' is used more than once in this plan: give each action its own Ref."
    )
    assert finding.to_dict()["label"] == "Ref used twice"
    with pytest.raises(KeyError, match="'no-such-code' is not a catalogued finding code"):
        catalogue.finding("no-such-code")


def test_a_pack_may_override_severity_and_message_but_not_invent_codes():
    pack = parse_pack(
        "name: mine\nchecks:\n"
        "  - code: missing-value\n    check: not_blank\n    column: Resources\n"
        "    severity: warning\n    message: 'Say what it costs.'\n"
        "  - code: duplicate-ref\n    check: unique_in_plan\n    column: Ref\n"
    )
    first, second = pack.checks
    assert (first.severity, first.message) == ("warning", "Say what it costs.")
    assert (second.severity, second.message) == ("error", catalogue.get("duplicate-ref").template)
    with pytest.raises(RulePackError, match="unknown finding code 'my-own-code'"):
        parse_pack("name: x\nchecks:\n  - code: my-own-code\n    check: not_blank\n")


def test_known_checks_and_plan_sheet_checks_come_from_the_registry():
    assert {n for n, d in CHECKS.items() if d.on_plan_sheet} == {
        "column_present",
        "plan_value_present",
    }
    assert CHECKS["one_of"].parameters == ("column", "values")
    with pytest.raises(RulePackError) as caught:
        parse_pack("name: x\nchecks:\n  - code: missing-value\n    check: telepathy\n")
    assert caught.value.message.startswith(
        "unknown check 'telepathy'; known checks: " + ", ".join(sorted(CHECKS))
    )

    # A check registered by decorator is known to packs at once, and runs on the frame
    # it was registered for.
    @check("resources_stated", plan_sheet=True)
    def resources_stated(frame, *, column):
        return frame[column].notna()

    try:
        pack = parse_pack(
            "name: x\nchecks:\n  - code: plan-value-missing\n    check: resources_stated\n"
            "    column: Service\n"
        )
        assert pack.checks[0].on_plan_sheet
        with pytest.raises(ValueError, match="registered already"):
            check("resources_stated")(resources_stated)
    finally:
        del rules.CHECKS["resources_stated"]
