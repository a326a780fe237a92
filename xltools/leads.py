"""Whose address a lead officer's note goes to: the coordinator's list first, plans only when
they all agree.

A plan's Lead email is staff text from whoever sent the plan, so it must not be
able to take over a lead officer's mail: a valid plan from another organisation
that names the same lead with an address of its own choosing would otherwise
receive that lead's note (listing other councils' actions). So:

1. the coordinator's leads file (name,email) decides, whatever the plans say;
2. otherwise an address from the plans is used only when every plan row naming
   that lead gives the same single valid address, and no row gives one that
   fails the rules (a comma or semicolon in it would add recipients);
3. otherwise the lead has no address: the disagreement (or the refused
   address) is listed for the coordinator to settle in the leads file, never
   guessed.

Lead officers are matched by name with case and spacing ignored
(:func:`xltools.packs.lead_key`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xltools import model
from xltools.register_sheets import SOURCE_FILE, VALIDATION
from xltools.rules import EMAIL


def lead_key(name: object) -> str:
    """How one lead officer is known across plans: case and spacing ignored."""
    return " ".join(str(name or "").split()).casefold()


def is_single_address(text: str) -> bool:
    """One email address and nothing else (the rule packs' own pattern)."""
    return bool(EMAIL.match(text.strip()))


@dataclass
class Addresses:
    """Each lead's address, and the leads whose address the plans could not settle."""

    by_lead: dict[str, str] = field(default_factory=dict)  # lead_key -> address
    # lead name -> the addresses the plans give, each with the plans giving it
    disagreements: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # lead name -> (address as written, plan) that failed the rules
    refused: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def address(self, lead: object) -> str | None:
        return self.by_lead.get(lead_key(lead))

    def problems(self) -> list[str]:
        """One line per lead whose address is left unsettled, for the digest and the log."""
        lines = []
        for lead, given in sorted(self.disagreements.items()):
            shown = "; ".join(f"{a} ({', '.join(sorted(set(p)))})" for a, p in given.items())
            lines.append(f"{lead}: the plans disagree about the address: {shown}")
        for lead, bad in sorted(self.refused.items()):
            shown = "; ".join(f"'{a}' ({p})" for a, p in bad)
            lines.append(f"{lead}: Lead email is not one valid address: {shown}")
        return lines


def _lead_email_failed(row: Mapping[str, object]) -> bool:
    """Whether the roll-up's checks found this row's Lead email wrong."""
    return f"error: {model.LEAD_EMAIL}:" in str(row.get(VALIDATION) or "")


def resolve_addresses(
    rows: Iterable[Mapping[str, object]], leads_file: Mapping[str, str] | None = None
) -> Addresses:
    """Every lead officer's address from the leads file and the register rows (see above)."""
    result = Addresses()
    for name, address in (leads_file or {}).items():
        result.by_lead[lead_key(name)] = address.strip()
    given: dict[str, dict[str, list[str]]] = {}
    names: dict[str, str] = {}
    refused: dict[str, list[tuple[str, str]]] = {}
    spelt: dict[tuple[str, str], str] = {}  # an address as first written
    for row in rows:
        key = lead_key(row.get(model.LEAD))
        email = str(row.get(model.LEAD_EMAIL) or "").strip()
        if not key or not email or key in result.by_lead:
            continue
        names.setdefault(key, " ".join(str(row.get(model.LEAD)).split()))
        plan = str(row.get(SOURCE_FILE) or row.get(model.PLAN_TITLE) or "")
        if _lead_email_failed(row) or not is_single_address(email):
            refused.setdefault(key, []).append((email, plan))
            continue
        given.setdefault(key, {}).setdefault(email.casefold(), []).append(plan)
        spelt.setdefault((key, email.casefold()), email)
    for key in sorted(set(given) | set(refused)):
        if key in refused:
            result.refused[names[key]] = refused[key]
        elif len(given[key]) > 1:
            result.disagreements[names[key]] = {
                spelt[key, folded]: plans for folded, plans in given[key].items()
            }
        else:
            [folded] = given[key]
            result.by_lead[key] = spelt[key, folded]
    return result


def slug(name: str) -> str:
    """A lead officer's name as a file stem: their note's and their pack's name."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or "lead"
