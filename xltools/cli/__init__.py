"""The ``xltools`` command line: one small module per command, shared options here.

Each command is a few lines of glue around one library call. The library never
decides an exit status: its results carry an :class:`~xltools.outcome.Outcome`,
and :data:`EXIT_STATUS` here is the one table that turns it into 0 nothing to
report, 1 problems reported, 2 could not run. Errors that mean "could not run"
(:class:`xltools.errors.XltoolsError`) become one line on standard error and
exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from xltools import __version__
from xltools.errors import XltoolsError, shown
from xltools.outcome import Outcome

# The one table from a library result's outcome to the exit status.
EXIT_STATUS = {Outcome.OK: 0, Outcome.PROBLEMS: 1, Outcome.CANNOT_RUN: 2}
EXIT_OK, EXIT_PROBLEMS = EXIT_STATUS[Outcome.OK], EXIT_STATUS[Outcome.PROBLEMS]
EXIT_CANNOT_RUN = EXIT_STATUS[Outcome.CANNOT_RUN]  # an XltoolsError; click's usage errors too
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a process stopped by SIGINT
EXIT_BROKEN_PIPE = 141  # output piped to a reader that stopped, as shells report SIGPIPE


def exit_with(outcome: Outcome) -> None:
    """End the command with the exit status of a library result's outcome."""
    click.get_current_context().exit(EXIT_STATUS[outcome])


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except XltoolsError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            echo_error(str(error) + _option_hint(ctx, error.setting))
            ctx.exit(EXIT_CANNOT_RUN)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("xltools: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader of our output went away (`xltools trail ... | head`): nothing is
            # wrong with any file, so say nothing, and stop Python complaining on exit.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_BROKEN_PIPE)
        except OSError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            # A file the operating system refused (full disk, read-only, no permission):
            # said in words, naming the file, never as an exception class.
            from xltools.fileio import output_error

            echo_error(str(output_error(error.filename or "a file", error)))
            ctx.exit(EXIT_CANNOT_RUN)
        except Exception as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            echo_error(
                f"something unexpected stopped the command ({error}): run it again with --debug "
                "and send the output to whoever looks after xltools"
            )
            ctx.exit(EXIT_CANNOT_RUN)


def _option_hint(ctx: click.Context, setting: str | None) -> str:
    """' (--history)': the option of the command run that sets the library argument at fault."""
    command = self_command = ctx.command
    if isinstance(self_command, click.Group) and ctx.invoked_subcommand:
        command = self_command.get_command(ctx, ctx.invoked_subcommand)
    for param in getattr(command, "params", ()):
        if setting and param.name == setting and isinstance(param, click.Option):
            return f" ({param.opts[-1]})"
    return ""


def parse_date(ctx, param, value):
    """Click callback: an ISO date (YYYY-MM-DD) or None."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date in the form YYYY-MM-DD") from None


def reporting_date_option(help_text: str = "The reporting date, YYYY-MM-DD (default: today)."):
    return click.option(
        "--reporting-date", callback=parse_date, metavar="YYYY-MM-DD", help=help_text
    )


rules_option = click.option(
    "--rules",
    "rules",
    default="default",
    show_default=True,
    metavar="PACK",
    help="Rule pack: 'default', 'audit' or the path of a pack file (.yaml).",
)


def echo_json(data: object) -> None:
    """Print a library result as JSON: the shape ``--json`` promises, whatever the command."""
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def echo_error(message: str) -> None:
    """The one line on standard error for a command that could not do its job."""
    click.echo(f"xltools: error: {message}", err=True)


def echo_skipped(skipped) -> None:
    """Say which files a folder search passed over, and why, the same way in every command."""
    for path, reason in skipped:
        click.echo(f"{shown(path)}: skipped ({reason})")


def force_option(help_text: str = "Overwrite files that already exist."):
    """The --force every command that writes files has: without it, nothing is overwritten."""
    return click.option("--force", is_flag=True, help=help_text)


def refuse_overwrite(*paths, force: bool) -> None:
    """Every command that writes a file keeps one that exists unless given --force; the
    same words and exit status (2) whatever the command."""
    from pathlib import Path

    if force:
        return
    for path in paths:
        if path and Path(path).exists():
            raise click.UsageError(
                f"{shown(path)} already exists: choose another name or use --force"
            )


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on standard output."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xltools")
@click.option("--debug", is_flag=True, help="Show a traceback when something goes wrong.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Improvement action plans in Excel: build, check, colour, roll up and summarise.

    \b
    Examples:
      xltools new plan.xlsx --organisation "Salford City Council"
      xltools validate returned/ --annotate checked/
      xltools consolidate inbox/ -o register.xlsx
    """
    ctx.ensure_object(dict)["debug"] = debug


COMMAND_MODULES = (
    "new",
    "colour",
    "validate",
    "verify",
    "keys",
    "trail",
    "history",
    "consolidate",
    "summarise",
    "weekly",
    "import_",
    "packs",
    "merge",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:  # importing a command module registers its command
        importlib.import_module(f"xltools.cli.{name}")


_register_commands()


def main() -> None:
    cli(prog_name="xltools")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
