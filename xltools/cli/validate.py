"""``xltools validate``: check plan workbooks against a rule pack."""

from __future__ import annotations

import click

from xltools.cli import (
    cli,
    echo_error,
    echo_json,
    echo_skipped,
    exit_with,
    force_option,
    json_option,
    refuse_overwrite,
    reporting_date_option,
    rules_option,
    shown,
)


def format_finding(finding) -> str:
    """One finding on one line: where, which Ref, severity and label, and the message."""
    ref = f"Ref {finding.ref}" if finding.ref else ""
    what = f"{finding.severity} ({finding.label}): {finding.message}"
    parts = [finding.location(), finding.column, ref, what]
    return "  ".join(part for part in parts if part)


@cli.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@rules_option
@reporting_date_option("Check dates against this date, YYYY-MM-DD (default: each plan's own).")
@json_option
@click.option(
    "--annotate",
    "annotate_dir",
    type=click.Path(file_okay=False),
    help="Write an annotated copy of each workbook into this folder (originals untouched).",
)
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(dir_okay=False),
    metavar="KEY",
    help="Sign the annotated copies' certificates with this private key ('xltools keys new').",
)
@force_option("Overwrite annotated copies already in the --annotate folder.")
def validate(paths, rules, reporting_date, as_json, annotate_dir, sign_key, force):
    """Check plan workbooks (files or folders) against a rule pack.

    Exit status: 0 no errors (warnings allowed), 1 errors found or a file could
    not be read (the others are still checked), 2 could not run (no workbook
    found, none readable, or a path that does not exist).

    \b
    Examples:
      xltools validate returned/
      xltools validate plan.xlsx --rules audit --annotate checked/
      xltools validate plan.xlsx --annotate checked/ --sign keys/audit-team.key
      xltools validate returned/ --json > findings.json
    """
    from xltools.annotate import annotate
    from xltools.rules import load_pack
    from xltools.validate import validate as run_validation
    from xltools.words import plural

    if sign_key and not annotate_dir:
        raise click.UsageError("--sign signs the annotated copies: give --annotate OUTDIR too")
    signing_key = None
    if sign_key:
        from xltools.keys import load_signing_key

        signing_key = load_signing_key(sign_key)  # before the work: a wrong passphrase stops here
    pack = load_pack(rules)
    report = run_validation(paths, pack, reporting_date)
    if annotate_dir:
        from pathlib import Path

        copies = [Path(annotate_dir) / Path(f.path).name for f in report.files]
        refuse_overwrite(*copies, force=force)  # before any copy is written
        for file_report in report.files:
            if file_report.status != "unreadable":
                annotate_copy(annotate, file_report, annotate_dir, pack, signing_key)
    if as_json:
        echo_json(report.to_dict())
    else:
        echo_skipped(report.skipped)
        for file_report in report.files:
            for finding in file_report.findings:
                if file_report.status == "unreadable":
                    click.echo(f"{shown(file_report.path)}: could not be read: {finding.message}")
                else:
                    click.echo(f"{shown(file_report.path)}  {format_finding(finding)}")
            if file_report.status != "unreadable":
                click.echo(
                    f"{shown(file_report.path)}: {file_report.status}, "
                    f"{plural(len(file_report.errors), 'error')}, "
                    f"{plural(len(file_report.warnings), 'warning')}, "
                    f"{plural(len(file_report.checks), 'check')} run"
                )
        if annotate_dir:
            click.echo(f"annotated copies written to {annotate_dir}")
    if not report.files:
        echo_error("nothing to check: every file named or found was skipped")
    exit_with(report.outcome)


def annotate_copy(annotate, file_report, annotate_dir, pack, signing_key) -> None:
    """Annotate one copy; the hint about the option is the command line's to give."""
    from xltools.errors import WouldOverwrite

    try:
        annotate(file_report, annotate_dir, pack, signing_key=signing_key)
    except WouldOverwrite as error:
        error.message += ": choose another --annotate folder"
        raise
