"""``xltools keys new``: a signing key pair for certificates."""

from __future__ import annotations

import click

from xltools.cli import cli


@cli.group("keys")
def keys() -> None:
    """Signing keys for certificates (Ed25519).

    \b
    Example:
      xltools keys new "Audit team" -o ~/.xltools/keys
    """


@keys.command("new")
@click.argument("name")
@click.option(
    "-o",
    "--outdir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the key files.",
)
def new(name, outdir):
    """Make a key pair for the signer NAME: NAME.key (private, owner only) and NAME.pub.pem.

    Set XLTOOLS_KEY_PASSPHRASE in the environment to protect the private key with a
    passphrase (signing then needs it set too); it is never a flag. Give the
    .pub.pem file to auditors: 'xltools verify FILE --key NAME.pub.pem'.

    \b
    Example:
      xltools keys new "Audit team" -o ~/.xltools/keys
    """
    import os

    from xltools.keys import PASSPHRASE_ENV, new_key_pair

    private, public, key_id = new_key_pair(name, outdir)
    if os.environ.get(PASSPHRASE_ENV):
        guard = f"protected by the passphrase in {PASSPHRASE_ENV}"
    else:
        guard = f"no passphrase: set {PASSPHRASE_ENV} to protect it"
    click.echo(f"private key: {private} (readable by you only; {guard})")
    click.echo(f"public key:  {public} (key id {key_id}): give this one to auditors")
