"""``xltools weekly``: the coordinator's scheduled job."""

from __future__ import annotations

import click

from xltools.cli import cli, exit_with, force_option, refuse_overwrite, reporting_date_option


@cli.command("weekly")
@click.option(
    "--config",
    "config_path",
    default="xltools.toml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The weekly config file.",
)
@click.option("--once", is_flag=True, help="Run now and exit (for cron or Task Scheduler).")
@click.option("--init", is_flag=True, help="Write a commented example xltools.toml here.")
@reporting_date_option("With --once: the reporting date, YYYY-MM-DD (default: today).")
@force_option("With --init: overwrite the xltools.toml already here.")
def weekly(config_path, once, init, reporting_date, force):
    """Consolidate, archive, summarise and (if configured) send, every week.

    \b
    Examples:
      xltools weekly --init
      xltools weekly --config xltools.toml --once
      xltools weekly --config xltools.toml        # stays running; runs each week
    """
    from xltools import weekly as job

    if init:
        refuse_overwrite("xltools.toml", force=force)
        written = job.init_config(".", overwrite=force)
        click.echo(f"wrote {written}: edit it, then run 'xltools weekly --once'")
        return
    if reporting_date and not once:
        raise click.UsageError("--reporting-date goes with --once")
    try:
        config = job.load_config(config_path)
    except job.MissingConfig as error:
        error.message += ": 'xltools weekly --init' writes one"
        raise
    job.setup_logging(config)
    if once:
        result = job.run_once(config, reporting_date)
        click.echo(f"register: {result.register}")
        click.echo(f"outbox: {result.outbox}")
        if config.email.send:
            click.echo(f"sent {result.sent}, failed {len(result.failed)}")
        exit_with(result.outcome)
    job.run_on_timer(config)
