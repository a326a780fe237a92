"""Signed certificates and verify, tried as an auditor (and a forger) would try them."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shlex
import shutil
import stat
import subprocess

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, REPO, action, edit_actions, lo_convert

from xltools import certificate
from xltools.annotate import DATA_SHEET
from xltools.cli import cli
from xltools.keys import PASSPHRASE_ENV, load_signing_key
from xltools.template import write_plan


def run(*args, env=None):
    return CliRunner(env=env).invoke(cli, [str(a) for a in args])


@pytest.fixture
def keys(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    folder = tmp_path / "keys"
    assert run("keys", "new", "Audit Team", "-o", folder).exit_code == 0
    assert run("keys", "new", "Mallory", "-o", tmp_path / "other").exit_code == 0
    return folder


@pytest.fixture
def plan(tmp_path):
    actions = [action(str(n), resources=f"{n} days") for n in range(1, 7)]
    actions[2]["Expected outcome"] = 1200 / 7  # awkward numbers, as a spreadsheet keeps them
    actions[3]["Resources"] = 12345678901234567
    actions[4]["Progress update"] = "Two lines:\nworkshop held \U0001f600, café booked"
    actions[5]["Resources"] = 0.1 + 0.2
    path = write_plan(tmp_path / "plan.xlsx", PLAN, actions)
    # A column staff added, with a time of day, a formula (no cached value: openpyxl wrote
    # it) and a negative zero.
    book = openpyxl.load_workbook(path)
    sheet = book["Actions"]
    column = sheet.max_column + 1
    sheet.cell(1, column, "Staff notes")
    sheet.cell(2, column, dt.datetime(2003, 11, 3, 14, 30, 15))
    sheet.cell(3, column, "=1+1")
    sheet.cell(4, column, -0.0)
    book.save(path)
    return path


def signed(plan, keys, tmp_path, name="checked"):
    result = run("validate", plan, "--annotate", tmp_path / name, "--sign", keys / "audit-team.key")
    assert result.exit_code == 0, result.output
    return tmp_path / name / plan.name


def verify(path, *extra):
    return run("verify", path, *extra)


def test_keys_are_made_for_their_owner_only(keys, tmp_path):
    private, public = keys / "audit-team.key", keys / "audit-team.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    text = public.read_text()
    assert "Signer: Audit Team" in text
    key_id = re.search(r"Key id: ([0-9a-f]{16})", text).group(1)
    assert load_signing_key(private).public.key_id == key_id
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    # The public key file, text and all, is read by OpenSSL as it stands.
    shown = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(public), "-noout", "-text"],
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0 and "ED25519" in shown.stdout
    again = run("keys", "new", "Audit Team", "-o", keys)
    assert again.exit_code == 2 and "never overwritten" in again.output


def test_a_passphrase_comes_from_the_environment(tmp_path, plan, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    assert run("keys", "new", "Clerk", "-o", tmp_path / "k").exit_code == 0
    key = tmp_path / "k" / "clerk.key"
    assert "ENCRYPTED" in key.read_text()
    assert run("validate", plan, "--annotate", tmp_path / "a", "--sign", key).exit_code == 0
    monkeypatch.delenv(PASSPHRASE_ENV)
    result = run("validate", plan, "--annotate", tmp_path / "b", "--sign", key)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and f"set {PASSPHRASE_ENV}" in result.output
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    result = run("validate", plan, "--annotate", tmp_path / "b", "--sign", key)
    assert result.exit_code == 2 and "passphrase" in result.output
    assert not (tmp_path / "b").exists()  # the key is read before any work
    # A passphrase in the environment does not stop a key without one from signing.
    monkeypatch.delenv(PASSPHRASE_ENV)
    assert run("keys", "new", "Plain", "-o", tmp_path / "k").exit_code == 0
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    plain = tmp_path / "k" / "plain.key"
    assert run("validate", plan, "--annotate", tmp_path / "c", "--sign", plain).exit_code == 0


def test_a_signed_copy_verifies_and_names_its_signer(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{copy}: unchanged since validation on ")
    assert lines[1].startswith("  signature: valid, signed by Audit Team (key id ")
    assert verify(copy, "--trusted", keys).exit_code == 0
    # No key given: the signature is checked against the key the file carries, and said so.
    result = verify(copy)
    assert result.exit_code == 0 and "no trusted key was given" in result.output


def test_openssl_checks_a_signature_with_the_readme_command(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    readme = (REPO / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("openssl pkeyutl")]
    assert len(commands) == 1
    shutil.copy(keys / "audit-team.pub.pem", copy.parent)
    words = shlex.split(commands[0])
    done = subprocess.run(words, cwd=copy.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout
    # The manifest beside the copy is the one in its cells, byte for byte.
    assert _manifest_bytes(copy) == (copy.parent / "plan.manifest.json").read_bytes()
    # ... and openssl refuses a manifest changed by one character.
    forged = (copy.parent / "plan.manifest.json").read_bytes().replace(b"On track", b"Complete")
    (copy.parent / "plan.manifest.json").write_bytes(forged)
    done = subprocess.run(words, cwd=copy.parent, capture_output=True, text=True)
    assert done.returncode != 0


def test_the_manifest_read_from_the_cells_with_openpyxl_alone_checks_with_openssl(
    plan, keys, tmp_path
):
    # What the README tells a third party to do, without xltools.
    copy = signed(plan, keys, tmp_path)
    sheet = openpyxl.load_workbook(copy)[DATA_SHEET]
    labels = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    parts = int(labels["Manifest parts"])
    manifest = "".join(labels[f"Manifest part {n}"] for n in range(1, parts + 1))
    (tmp_path / "m.json").write_bytes(manifest.encode("utf-8"))
    (tmp_path / "m.sig").write_bytes(base64.b64decode(labels["Signature (Ed25519, base64)"]))
    done = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(keys / "audit-team.pub.pem"),
            "-rawin",
            "-in",
            str(tmp_path / "m.json"),
            "-sigfile",
            str(tmp_path / "m.sig"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(manifest)
    assert data["actions"]["3"]["Expected outcome"] == "171.428571428571"
    assert data["actions"]["4"]["Resources"] == "1.23456789012346e+16"
    assert data["actions"]["2"]["Staff notes"] == "=1+1"  # a formula as its formula
    assert data["actions"]["1"]["Staff notes"] == "2003-11-03T14:30:15"
    assert data["plan"]["Reporting date"] == "2003-11-24"
    assert data["signer"]["name"] == "Audit Team"
    assert data["rule_pack"]["name"] == "default" and len(data["rule_pack"]["sha256"]) == 64
    assert {"code", "checked", "passed", "failed"} <= set(data["checks"][0])
    assert data["certificate"][1] == ["Result", "certified: no errors, 0 warnings"]


# -- Forgeries -------------------------------------------------------------------------------
def _manifest_bytes(copy) -> bytes:
    sheet = openpyxl.load_workbook(copy)[DATA_SHEET]
    labels = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    parts = int(labels["Manifest parts"])
    return "".join(labels[f"Manifest part {n}"] for n in range(1, parts + 1)).encode()


def _rewrite_manifest(copy, change, signing_key=None):
    """What a forger with xltools' own code can do: edit the manifest, recompute its hash
    (and sign it with a key of their own, if they have one)."""
    book = openpyxl.load_workbook(copy)
    sheet = book[DATA_SHEET]
    manifest = json.loads(_manifest_bytes(copy))
    change(manifest)
    data = certificate.canonical_bytes(manifest)
    rows = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    rows["Manifest parts"].value = "1"
    rows["Manifest part 1"].value = data.decode()
    for label, cell in rows.items():
        if label.startswith("Manifest part ") and label != "Manifest part 1":
            cell.value = None
    rows["Manifest SHA-256"].value = certificate.sha256(data)
    if signing_key is not None:
        signature = signing_key.sign(data)
        rows["Signature (Ed25519, base64)"].value = base64.b64encode(signature).decode()
        rows["Public key"].value = signing_key.public.pem()
        rows["Key id"].value = signing_key.public.key_id
    book.save(copy)


def _complete_and_slip(path):
    edit_actions(path, [("2", "Status", "Complete"), ("2", "Due date", dt.date(2004, 9, 30))])


def _recompute_values(manifest, path):
    table = __import__("xltools.read", fromlist=["read_plan"]).read_plan(path)
    found = certificate.formulas(table)
    manifest["actions"] = {k: v for k, (_, v) in certificate.action_values(table, found).items()}


def test_forgery_recomputed_hash_is_caught(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    _complete_and_slip(copy)
    _rewrite_manifest(copy, lambda m: _recompute_values(m, copy))
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert "signature: INVALID" in result.output
    # Re-signed with the forger's own key: the signature is good, the key is not trusted.
    _rewrite_manifest(copy, lambda m: None, load_signing_key(tmp_path / "other" / "mallory.key"))
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert result.output.splitlines()[0].endswith("signed by a key that is NOT trusted")
    assert verify(copy, "--trusted", keys).exit_code == 1
    # Stripped of its signature, passed off as unsigned: not when a trusted key is asked for.
    book = openpyxl.load_workbook(copy)
    for row in book[DATA_SHEET].iter_rows(min_row=2):
        if row[0].value == "Signature (Ed25519, base64)":
            row[1].value = None
    book.save(copy)
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1 and "NOT signed" in result.output


def test_an_unsigned_certificate_says_it_guards_only_against_accidents(plan, tmp_path):
    assert run("validate", plan, "--annotate", tmp_path / "c").exit_code == 0
    copy = tmp_path / "c" / "plan.xlsx"
    result = verify(copy)
    assert result.exit_code == 0
    assert "guards only against accidental changes" in result.output
    _complete_and_slip(copy)
    result = verify(copy)
    assert result.exit_code == 1
    assert "  Ref 2 (row 3): F3 (Due date), L3 (Status)" in result.output.splitlines()
    # A forger recomputes the hash: an unsigned certificate cannot tell, and says so.
    _rewrite_manifest(copy, lambda m: _recompute_values(m, copy))
    result = verify(copy)
    assert result.exit_code == 0 and "not deliberate ones" in result.output


def test_forgery_edited_result_text_is_caught(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    book = openpyxl.load_workbook(copy)
    sheet = book["Validation"]
    for row in sheet.iter_rows():
        if row[0].value == "Rule pack":
            row[1].value = "audit"
    book.save(copy)
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert "the certificate's text was edited: row 7 (Rule pack)" in result.output


def test_forgery_failed_copy_dressed_as_valid_is_caught(keys, tmp_path):
    path = write_plan(
        tmp_path / "bad.xlsx", PLAN, [action("1"), action("2", status="Nearly"), action("3")]
    )
    result = run("validate", path, "--annotate", tmp_path / "c", "--sign", keys / "audit-team.key")
    assert result.exit_code == 1
    copy = tmp_path / "c" / "bad.xlsx"
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"{copy}: annotated, not certified: 1 error"
    # Dressed as valid: the Result rewritten ...
    book = openpyxl.load_workbook(copy)
    for row in book["Validation"].iter_rows():
        if row[0].value == "Result":
            row[1].value = "certified: no errors, 0 warnings"
    book.save(copy)
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert "annotated, not certified: 1 error" in result.output
    assert "the certificate's text was edited: row 2 (Result)" in result.output
    # ... and the manifest too, with its hash recomputed.
    _rewrite_manifest(copy, lambda m: m["result"].update(certified=True, errors="0"))
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1 and "signature: INVALID" in result.output


# -- Matching by Ref -------------------------------------------------------------------------
def _action_rows(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]


def test_inserting_and_sorting_rows_is_not_a_change(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    book = openpyxl.load_workbook(copy)
    sheet = book["Actions"]
    rows = _action_rows(sheet)
    sheet.insert_rows(4)  # a blank row in the middle
    book.save(copy)
    assert verify(copy, "--key", keys / "audit-team.pub.pem").exit_code == 0
    book = openpyxl.load_workbook(copy)
    sheet = book["Actions"]
    sheet.delete_rows(2, sheet.max_row)
    for index, values in enumerate(reversed(rows), start=2):  # sorted Z to A
        for column, value in enumerate(values, start=1):
            sheet.cell(index, column, value)
    book.save(copy)
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 0, result.output
    assert "values: unchanged (actions matched by Ref)" in result.output


def test_an_inserted_action_is_named_exactly(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    book = openpyxl.load_workbook(copy)
    sheet = book["Actions"]
    sheet.insert_rows(4)
    new = action("2a")
    header = [cell.value for cell in sheet[1]]
    for name, value in new.items():
        sheet.cell(4, header.index(name) + 1, value)
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == "5")
    sheet.delete_rows(row)
    book.save(copy)
    result = verify(copy, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert result.output.splitlines()[2:] == [
        "  certified: no errors against rule pack 'default'",
        "  Ref 2a (row 4): added",
        "  Ref 5: removed",
    ]


def test_a_plan_label_change_is_named(plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    book = openpyxl.load_workbook(copy)
    book["Plan"]["B1"] = "Another Council"
    book.save(copy)
    result = verify(copy, "--key", keys / "audit-team.pub.pem", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["changes"] == [
        {"kind": "plan", "ref": "", "row": None, "cells": ["Plan!B1 (Organisation)"]}
    ]
    assert data["signature"] == "trusted" and data["signer"] == "Audit Team"


def test_no_certificate(plan, tmp_path):
    result = verify(plan)
    assert result.exit_code == 2 and "no validation certificate" in result.output


def test_the_key_file_is_not_world_readable_even_with_a_loose_umask(tmp_path, monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    old = os.umask(0)
    try:
        assert run("keys", "new", "Loose", "-o", tmp_path).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "loose.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "loose.pub.pem").stat().st_mode) == 0o644


# -- Real LibreOffice ------------------------------------------------------------------------
@pytest.mark.libreoffice
def test_a_libreoffice_open_and_save_with_no_edits_verifies(soffice, plan, keys, tmp_path):
    copy = signed(plan, keys, tmp_path)
    saved = lo_convert(soffice, copy, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    # LibreOffice really rewrote the numbers it keeps to 15 digits ...
    resaved = openpyxl.load_workbook(saved)["Actions"]
    header = [cell.value for cell in resaved[1]]
    assert resaved.cell(5, header.index("Resources") + 1).value == 12345678901234600
    assert openpyxl.load_workbook(saved)[DATA_SHEET].sheet_state == "hidden"
    # ... and the certificate still holds.
    result = verify(saved, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 0, result.output
    assert "signature: valid, signed by Audit Team" in result.output
    # An edit made in LibreOffice is named.
    edit_actions(saved, [("3", "Expected outcome", 1200 / 7 + 1)])
    result = verify(saved, "--key", keys / "audit-team.pub.pem")
    assert result.exit_code == 1
    assert "  Ref 3 (row 4): I4 (Expected outcome)" in result.output.splitlines()


def _pdf_pages(pdf) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")


@pytest.mark.libreoffice
def test_the_certificate_prints_on_a_page_or_two_with_nothing_cut(soffice, keys, tmp_path):
    findings = [
        action(str(n), status="Nearly done" if n % 5 == 0 else "On track") for n in range(1, 21)
    ]
    path = write_plan(tmp_path / "printed.xlsx", PLAN, findings)
    run("validate", path, "--annotate", tmp_path / "c", "--sign", keys / "audit-team.key")
    copy = tmp_path / "c" / "printed.xlsx"
    pdf = lo_convert(soffice, copy, "pdf", tmp_path / "pdf")
    pages = _pdf_pages(pdf)
    mine = [n for n, page in enumerate(pages, start=1) if "validation certificate" in page]
    assert 1 <= len(mine) <= 2, len(mine)  # the Validation sheet's pages
    text = "\n".join(pages[n - 1] for n in mine)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    sheet = openpyxl.load_workbook(copy)["Validation"]
    for row in sheet.iter_rows(min_row=2):
        label, value = row[0].value, row[1].value
        if label is None:
            break
        assert f"{label} {value}" in lines, label  # each certificate line whole, on one line
    assert "PMP audit improvement plan: validation certificate" in lines  # the header
    assert any(line.startswith("Reporting date 2003-11-24 Page") for line in lines)  # footer
    words = set(text.split())
    findings = [row for row in sheet.iter_rows(values_only=True) if row[0] == "error"]
    assert [row[1] for row in findings] == [f"Actions!L{n + 1}" for n in (5, 10, 15, 20)]
    for finding in findings:  # every finding printed whole (long messages wrap in their cell)
        assert finding[1] in words and set(finding[5].split()) <= words
    # The machine's part is not printed.
    whole = "".join(pages)
    assert "Manifest part" not in whole and '"format"' not in whole
    out = REPO / "tests" / "output"
    out.mkdir(exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "80",
            "-f",
            str(mine[0]),
            "-l",
            str(mine[0]),
            "-png",
            "-singlefile",
            str(pdf),
            str(out / "certificate-page-1"),
        ],
        check=True,
    )
    assert (out / "certificate-page-1.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "label, value",
    [
        ("Manifest parts", "many"),
        ("Manifest part 1", '{"actions": [1, 2], "plan": "x"}'),
        ("Manifest part 1", "[]"),
        ("Signature (Ed25519, base64)", "not base64!"),
        ("Public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
    ],
)
def test_damaged_certificate_data_is_reported_never_a_crash(plan, keys, tmp_path, label, value):
    copy = signed(plan, keys, tmp_path)
    book = openpyxl.load_workbook(copy)
    for row in book[DATA_SHEET].iter_rows(min_row=2):
        if row[0].value == label:
            row[1].value = value
    book.save(copy)
    result = verify(copy)
    assert result.exit_code == 1, result.output
    assert "NOT valid" in result.output.splitlines()[0]
    assert "signature: INVALID" in result.output
    assert "0 errors" not in result.output  # nothing said of a manifest that could not be read


def test_an_absurd_part_count_does_not_hang_verify(plan, keys, tmp_path):
    # The count is not signed; the parts are. A huge count reads the parts there are.
    copy = signed(plan, keys, tmp_path)
    book = openpyxl.load_workbook(copy)
    for row in book[DATA_SHEET].iter_rows(min_row=2):
        if row[0].value == "Manifest parts":
            row[1].value = "1e300"
    book.save(copy)
    assert verify(copy, "--key", keys / "audit-team.pub.pem").exit_code == 0
