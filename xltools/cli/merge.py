"""``xltools merge``: returned update packs into the plans; extension requests granted."""

from __future__ import annotations

import click

from xltools.cli import (
    cli,
    echo_json,
    exit_with,
    json_option,
    reporting_date_option,
    rules_option,
)


@cli.command("merge")
@click.argument("packdir", type=click.Path(file_okay=False))
@click.option(
    "--into",
    "inbox",
    required=True,
    type=click.Path(file_okay=False),
    help="The inbox of plans to update.",
)
@click.option(
    "--grant",
    "grants",
    multiple=True,
    metavar="PLAN:REF",
    help="Grant an extension request: PLAN is the plan's file as the register's Source "
    "file column shows it (repeatable).",
)
@reporting_date_option()
@rules_option
@json_option
def merge(packdir, inbox, grants, reporting_date, rules, as_json):
    """Write the returned packs in PACKDIR into the plans under the inbox.

    Every cell changed is listed; conflicts are listed and not applied; a
    proposed due date becomes an extension request, granted with --grant. A
    backup of each changed plan is kept in PACKDIR/backups/. Merging the same
    packs again changes nothing. Exit status: 0 merged, 1 merged with conflicts
    listed, 2 could not run.

    \b
    Examples:
      xltools merge packs/ --into inbox/
      xltools merge packs/ --into inbox/ --grant argyll.xlsx:1.4
    """
    from xltools.merge import merge as run_merge
    from xltools.words import plural

    result = run_merge(packdir, inbox, reporting_date, grants, rules)
    if as_json:
        echo_json(result.to_dict())
        exit_with(result.outcome)
    for change in result.changes:
        click.echo(
            f"changed {change.plan} {change.cell} ({change.column}, Ref {change.ref}): "
            f"'{change.old}' -> '{change.new}'" + (" (granted)" if change.why == "grant" else "")
        )
    for conflict in result.conflicts:
        where = " ".join(
            x
            for x in (
                conflict.plan,
                f"Ref {conflict.ref}" if conflict.ref else "",
                f"[{conflict.pack}]" if conflict.pack else "",
            )
            if x
        )
        click.echo(f"conflict: {conflict.label} ({conflict.code}): {where}: {conflict.message}")
    for request in result.requests:
        click.echo(
            f"extension requested: {request['plan']}:{request['ref']} from {request['due']} to "
            f"{request['proposed']} ({request['lead']}: {request['reason'] or 'no reason given'})"
        )
    for grant in result.grants:
        click.echo(f"extension granted: {grant['plan']}:{grant['ref']} to {grant['proposed']}")
    for backup in result.backups:
        click.echo(f"backup kept at {backup}")
    click.echo(
        f"{plural(len(result.changes), 'cell')} changed, "
        f"{plural(len(result.conflicts), 'conflict')}, "
        f"{plural(len(result.requests), 'new extension request')}, "
        f"{plural(len(result.returns), 'pack')} newly returned"
    )
    exit_with(result.outcome)
