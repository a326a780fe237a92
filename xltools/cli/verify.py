"""``xltools verify``: who certified a validated copy, and has anything changed since?"""

from __future__ import annotations

import click

from xltools.cli import cli, echo_error, echo_json, exit_with, json_option

SIGNATURE_TEXT = {
    "trusted": "signature: valid, signed by {signer} (key id {key_id})",
    "unchecked": (
        "signature: matches the key carried in the file (key id {key_id}, naming "
        "'{signer}'), but no trusted key was given: pass --key or --trusted to know who signed"
    ),
    "untrusted": (
        "signature: made by key id {key_id} (naming '{signer}'), which is NOT one of the "
        "trusted keys"
    ),
    "invalid": "signature: INVALID: the certificate data was altered after it was made",
    "unsigned": (
        "signature: none: an unsigned certificate guards only against accidental changes, "
        "not deliberate ones (anyone can recompute it)"
    ),
}


def describe(result) -> list[str]:
    """The verification in words, headline first."""
    from xltools.words import plural

    when = f"validation on {result.validated_at}"
    headline = {
        "unchanged": f"unchanged since {when}",
        "changed": f"CHANGED since {when}",
        "not-certified": f"annotated, not certified: {plural(result.errors, 'error')}",
        "invalid": "the certificate is NOT valid: " + (result.reason or "its data was altered"),
        "untrusted": "signed by a key that is NOT trusted",
        "unsigned": "NOT signed, though a trusted key was given to check it with",
    }[result.status]
    lines = [f"{result.path}: {headline}"]
    lines.append("  " + SIGNATURE_TEXT[result.signature].format(**result.to_dict()))
    if result.certified:
        lines.append(f"  certified: no errors against rule pack '{result.rule_pack}'")
    elif result.status != "not-certified" and result.validated_at:  # a manifest was read
        lines.append(f"  annotated, not certified: {plural(result.errors, 'error')}")
    if result.certificate_edits:
        lines.append("  the certificate's text was edited: " + ", ".join(result.certificate_edits))
    for change in result.changes:
        ref = f"Ref {change['ref']}"
        if change["kind"] == "changed":
            lines.append(f"  {ref} (row {change['row']}): " + ", ".join(change["cells"]))
        elif change["kind"] == "plan":
            lines.append("  the Plan sheet: " + ", ".join(change["cells"]))
        elif change["kind"] == "added":
            lines.append(f"  {ref} (row {change['row']}): added")
        else:
            lines.append(f"  {ref}: removed")
    if not result.changes and not result.certificate_edits and result.status != "invalid":
        lines.append("  values: unchanged (actions matched by Ref)")
    return lines


@cli.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="PUBLIC.pem",
    help="A signer's public key you trust (repeatable).",
)
@click.option(
    "--trusted",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="A folder of public keys (*.pem) you trust.",
)
@json_option
def verify(path, keys, trusted, as_json):
    """Check an annotated copy against its certificate: whose signature, and what changed.

    Actions are matched by Ref: inserting, sorting or filtering rows is not a
    change. Exit status: 0 unchanged (and, when signed and a key is given,
    signed by a trusted key), 1 changed, not certified, signature invalid or
    key not trusted, 2 no certificate or unreadable.

    \b
    Examples:
      xltools verify checked/plan.xlsx --key keys/audit-team.pub.pem
      xltools verify checked/plan.xlsx --trusted trusted-keys/
    """
    from xltools.annotate import verify as run_verify
    from xltools.keys import load_public_key, trusted_keys

    trust = [load_public_key(key) for key in keys]
    if trusted:
        trust.extend(trusted_keys(trusted))
    result = run_verify(path, trust if (keys or trusted) else None)
    if as_json:
        echo_json(result.to_dict())
    elif result.status == "no-certificate":
        echo_error(
            f"{path}: {result.reason}: run 'xltools validate --annotate OUTDIR' and verify the "
            "copy it writes"
        )
    else:
        click.echo("\n".join(describe(result)))
    exit_with(result.outcome)
