"""``xltools verify``: has a certified workbook changed since it was validated?"""

from __future__ import annotations

import click

from xltools.cli import cli, echo_json, json_option


@cli.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def verify(ctx, path, as_json):
    """Check PATH's values against the certificate written by 'validate --annotate'.

    Exit status: 0 unchanged, 1 changed (the actions and cells are named),
    2 no certificate or unreadable.

    \b
    Example:
      xltools verify checked/plan.xlsx
    """
    from xltools.annotate import verify as run_verify

    result = run_verify(path)
    if as_json:
        echo_json(result.to_dict())
    elif result.status == "no-certificate":
        click.echo(
            f"xltools: error: {path}: no validation certificate: run 'xltools validate "
            "--annotate OUTDIR' and verify the copy it writes",
            err=True,
        )
    elif result.status == "unchanged":
        click.echo(f"{path}: unchanged since validation on {result.validated_at}")
    else:
        click.echo(f"{path}: CHANGED since validation on {result.validated_at}:")
        for change in result.changes:
            ref = f"Ref {change['ref']}" if change["ref"] else "the plan"
            if change["kind"] == "changed":
                click.echo(f"  {ref} (row {change['row']}): " + ", ".join(change["cells"]))
            elif change["kind"] == "plan":
                click.echo("  the Plan sheet's values")
            else:
                click.echo(f"  {ref} (row {change['row']}): row {change['kind']}")
    ctx.exit(result.exit_status)
