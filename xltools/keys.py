"""Signing keys: who certified a validated copy (Ed25519, with the ``cryptography`` package).

``new_key_pair`` writes two files for a signer (a person or a team):

* ``NAME.key``: the private key, PKCS#8 PEM, readable by its owner only (0600). When the
  environment variable ``XLTOOLS_KEY_PASSPHRASE`` is set it is encrypted with that
  passphrase (never a command-line flag: flags show in ``ps`` and shell history), and
  signing needs the same variable set.
* ``NAME.pub.pem``: the public key, to give to auditors. A few lines of text before the PEM
  block say whose it is and its key id; OpenSSL and every PEM reader skip text before
  ``-----BEGIN``, so ``openssl pkeyutl -pubin -inkey NAME.pub.pem`` reads it as it is.

The **key id** is the first 16 hex digits of the SHA-256 of the raw 32-byte public key. It is
worked out from the key itself whenever a key is read, never taken from the file's text.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from xltools.errors import XltoolsError
from xltools.fileio import atomic_path

PASSPHRASE_ENV = "XLTOOLS_KEY_PASSPHRASE"
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub.pem"
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", re.DOTALL)
_SIGNER_LINE = re.compile(r"^Signer: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class PublicKey:
    """A public key an auditor holds, with the signer's name its file gives."""

    key: object  # cryptography's Ed25519PublicKey
    key_id: str
    signer: str
    path: Path | None = None

    def verifies(self, signature: bytes, data: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded for signing, with its public half."""

    key: object  # cryptography's Ed25519PrivateKey
    public: PublicKey

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def key_id(public_key) -> str:
    """The short id of an Ed25519 public key: SHA-256 of its raw bytes, 16 hex digits."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.").lower()
    return stem or "key"


def _check_signer(name: str) -> str:
    name = name.strip()
    if not name or not name.isprintable():
        raise XltoolsError(
            f"the signer's name {name!r} must be printable text on one line: give a "
            "name such as 'Audit team'"
        )
    return name


def new_key_pair(name: str, outdir: str | Path) -> tuple[Path, Path, str]:
    """Make an Ed25519 key pair for ``name`` in ``outdir``: (private path, public path, id)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name = _check_signer(name)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(name)
    private_path, public_path = (
        outdir / f"{stem}{PRIVATE_SUFFIX}",
        outdir / f"{stem}{PUBLIC_SUFFIX}",
    )
    for path in (private_path, public_path):
        if path.exists():
            raise XltoolsError("already exists: keys are never overwritten; move it aside", path)
    private = Ed25519PrivateKey.generate()
    passphrase = os.environ.get(PASSPHRASE_ENV)
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    public = PublicKey(private.public_key(), key_id(private.public_key()), name)
    # 0600 from before the key is written, whatever the umask.
    with atomic_path(private_path, mode=0o600) as temporary:
        temporary.write_bytes(private_pem)
    with atomic_path(public_path, mode=0o644 & ~_umask()) as temporary:
        temporary.write_text(public_text(public), encoding="ascii", newline="\n")
    return private_path, public_path, public.key_id


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def public_text(public: PublicKey) -> str:
    """The public key file: who it belongs to, its id, then the PEM block."""
    return (
        "xltools signing key (Ed25519): give this file to whoever verifies your certificates\n"
        f"Signer: {public.signer}\n"
        f"Key id: {public.key_id}\n"
        f"{public.pem()}"
    )


def _pem_block(text: str, path: Path, kind: str) -> bytes:
    match = _PEM.search(text)
    if match is None:
        raise XltoolsError(f"is not a PEM {kind} key file (no -----BEGIN line)", path)
    return match.group(0).encode("ascii")


def load_public_key(path: str | Path) -> PublicKey:
    """Read a public key file written by ``new_key_pair`` (or any Ed25519 public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    path = Path(path)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise XltoolsError(f"cannot be read ({error.strerror})", path) from None
    try:
        key = serialization.load_pem_public_key(_pem_block(text, path, "public"))
    except ValueError:
        raise XltoolsError("is not a readable public key", path) from None
    if not isinstance(key, Ed25519PublicKey):
        raise XltoolsError("is not an Ed25519 public key (make one with 'xltools keys new')", path)
    signer = _SIGNER_LINE.search(text.split("-----BEGIN", 1)[0])
    return PublicKey(key, key_id(key), signer.group(1).strip() if signer else "", path)


def trusted_keys(folder: str | Path) -> list[PublicKey]:
    """Every public key (``*.pem``) in a folder of keys the auditor trusts."""
    folder = Path(folder)
    if not folder.is_dir():
        raise XltoolsError("is not a folder: give the folder of trusted public keys", folder)
    keys = [load_public_key(path) for path in sorted(folder.glob("*.pem"))]
    if not keys:
        raise XltoolsError("holds no public keys (*.pem)", folder)
    return keys


def load_signing_key(path: str | Path) -> SigningKey:
    """Read a private key for signing; the signer's name comes from its public key file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise XltoolsError(f"cannot be read ({error.strerror})", path) from None
    passphrase = os.environ.get(PASSPHRASE_ENV)
    # Whether the key is encrypted decides whether the passphrase is used: one set in the
    # environment for other keys must not stop an unprotected key from signing.
    encrypted = b"ENCRYPTED" in data.split(b"-----END", 1)[0]
    try:
        key = serialization.load_pem_private_key(
            data, passphrase.encode("utf-8") if passphrase and encrypted else None
        )
    except TypeError:
        raise XltoolsError(
            f"is protected by a passphrase: set {PASSPHRASE_ENV} in the environment", path
        ) from None
    except ValueError:
        hint = f" or the passphrase in {PASSPHRASE_ENV} is wrong" if passphrase else ""
        raise XltoolsError(f"is not a readable private key{hint}", path) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise XltoolsError("is not an Ed25519 private key (make one with 'xltools keys new')", path)
    public_path = path.with_name(path.name.removesuffix(PRIVATE_SUFFIX) + PUBLIC_SUFFIX)
    signer = ""
    if public_path.exists():
        public = load_public_key(public_path)
        if public.key_id == key_id(key.public_key()):
            signer = public.signer
    return SigningKey(key, PublicKey(key.public_key(), key_id(key.public_key()), signer))
