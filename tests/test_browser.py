"""The digest and a lead's note as a reader sees them: opened in a real browser engine.

Headless Chromium loads the HTML files ``summarise`` writes: ``--dump-dom`` gives the
text a reader sees (the headline figures), ``--screenshot`` the pixels (the RAG
colours really filled in). The screenshots are kept in tests/output/browser/ for a
person to look at. Chromium missing is a failure under CI (``.ci/run`` installs it).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PLAN, REPO, action, required_program, run_own_group

from xltools import model
from xltools.cli import cli
from xltools.consolidate import consolidate
from xltools.register import write_register
from xltools.template import write_plan

WEEK = dt.date(2003, 11, 24)
OUTPUT = REPO / "tests" / "output" / "browser"


@pytest.fixture
def chromium():
    """The Chromium binary."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return required_program(found, "Chromium")


def open_in_chromium(binary: str, page: Path, workdir: Path, *arguments: str) -> str:
    """Run a headless Chromium of our own on a local page (fresh profile, no network
    services, a time limit); its standard output."""
    profile = workdir / f"profile-{page.stem}-{len(list(workdir.glob('profile-*')))}"
    command = [
        binary,
        "--headless",
        "--no-sandbox",  # we run as root in CI
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *arguments,
        page.as_uri(),
    ]
    out, err, status = run_own_group(command, 120, f"Chromium on {page}")
    assert status == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8", errors="replace")


class _Text(HTMLParser):
    """The text of a DOM as a reader sees it, whitespace folded."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in ("p", "tr", "h1", "h2", "li", "br", "table"):
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data.replace("\n", " "))  # lines are the page's blocks

    def lines(self) -> list[str]:
        text = "".join(self.parts)
        return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def seen_text(binary: str, page: Path, workdir: Path) -> list[str]:
    parser = _Text()
    parser.feed(open_in_chromium(binary, page, workdir, "--dump-dom"))
    return parser.lines()


def read_png(path: Path):
    """An 8-bit, non-interlaced PNG (what Chromium writes) as a numpy array of RGB(A)
    pixels: the chunks, zlib and the five row filters of the PNG standard. Our own few
    lines rather than an imaging library, whose presence would change what openpyxl does
    with pictures."""
    import struct
    import zlib

    import numpy as np

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    position, compressed = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
        position += 12 + length
    assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, interlace, colour)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(compressed))
    stride = width * channels
    rows, above = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = above[i], (above[i - channels] if i >= channels else 0)
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up))
                near = min(near, (abs(guess - corner), 2, corner))
                line[i] = (line[i] + near[2]) & 255
            else:
                break  # filter 0: the row as it is
        rows.append(bytes(line))
        above = line
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width, channels)


def seen_colours(binary: str, page: Path, workdir: Path, name: str) -> dict[str, int]:
    """Screenshot the page (kept for a person to look at); for each RAG fill, how many
    pixels lie inside an area of that colour (3 by 3 at least: a filled cell, not the
    odd pixel of anti-aliased text that happens to match)."""
    import numpy as np

    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / f"{name}.png"
    shot.unlink(missing_ok=True)
    open_in_chromium(binary, page, workdir, "--window-size=1100,800", f"--screenshot={shot}")
    pixels = read_png(shot)[:, :, :3]
    found = {}
    for label, (fill, _) in model.RAG_COLOURS.items():
        colour = [int(fill[i : i + 2], 16) for i in (1, 3, 5)]
        mask = (pixels == colour).all(axis=2)
        height, width = mask.shape
        solid = np.ones((height - 2, width - 2), dtype=bool)
        for dy in range(3):
            for dx in range(3):
                solid &= mask[dy : height - 2 + dy, dx : width - 2 + dx]
        found[label] = int(solid.sum())
    return found


@pytest.fixture
def outbox(tmp_path):
    """A week's outbox: every RAG colour among the actions, a lead with no address."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "argyll.xlsx",
        PLAN,
        [
            action("1", due_date=dt.date(2003, 10, 1), status="Off track"),  # overdue: red
            action(
                "2",
                due_date=dt.date(2003, 11, 1),
                status="At risk",
                lead_officer="Pat Noaddress",
                lead_email=None,
            ),  # overdue: red
            action("3", due_date=dt.date(2003, 12, 1), status="At risk"),  # amber, due soon
            action("4", due_date=dt.date(2003, 12, 5)),  # green, due soon
            action("5", due_date=dt.date(2003, 10, 1), status="Complete", evidence="Minutes"),
            action("6", due_date=None, status="Withdrawn", grade="D", progress_update="Merged"),
            action("7", due_date=dt.date(2004, 6, 30), status="Not started"),  # no colour
        ],
    )
    register = write_register(consolidate(inbox, WEEK), tmp_path / "register.xlsx")
    outbox = tmp_path / "outbox"
    outcome = CliRunner().invoke(cli, ["summarise", str(register), "-o", str(outbox)])
    assert outcome.exit_code == 0, outcome.output
    return outbox


def test_the_digest_in_a_browser_shows_the_figures_and_the_colours(chromium, outbox, tmp_path):
    page = outbox / "digest.html"
    html = page.read_text()
    # Outlook-safe: tables and inline styles, nothing fetched, no data URIs.
    assert "<style" not in html and "<script" not in html and "data:" not in html
    assert not re.search(r"\b(src|href)=", html)
    lines = seen_text(chromium, page, tmp_path)
    assert lines[0] == "Action plans: week of 24/11/2003"
    assert lines[1] == "1 plan read, 7 actions: 2 overdue, 2 due in the next 28 days."
    rag = next(line for line in lines if line.startswith("| Argyll and Bute Council"))
    # Organisation, plan, actions, then Red Amber Green Blue Grey, no colour, overdue.
    assert (
        rag
        == "| Argyll and Bute Council | PMP audit improvement plan | 7 | 2 | 1 | 1 | 1 | 1 | 1 | 2"
    )
    assert "Overdue, oldest first (2)" in lines
    overdue = lines[lines.index("Overdue, oldest first (2)") + 2 :][:2]
    assert overdue[0].startswith("| PMP audit improvement plan | 1 | Action 1 | Sandra Greer")
    assert "| 54 |" in overdue[0] and "| 23 |" in overdue[1]  # days overdue, oldest first
    assert "Due in the next 28 days (2)" in lines
    assert "Lead officers with no email address (1)" in lines
    assert "Pat Noaddress: leads/no-address/pat-noaddress.html" in lines
    pixels = seen_colours(chromium, page, tmp_path, "digest")
    assert all(count > 150 for count in pixels.values()), pixels  # every colour filled in
    assert pixels[model.RED] > pixels[model.AMBER]  # the red cells: counts and statuses


def test_a_lead_note_in_a_browser(chromium, outbox, tmp_path):
    page = outbox / "leads" / "sandra-greer.html"
    assert "data:" not in page.read_text()
    lines = seen_text(chromium, page, tmp_path)
    assert lines[0] == "Dear Sandra Greer,"
    assert "Past their due date (1)" in lines and "Due in the next 14 days (2)" in lines
    assert "Sandra Greer" not in " ".join(lines[1:])  # no column repeating her name
    header = next(line for line in lines if line.startswith("| Plan | Ref | Action"))
    assert header == ("| Plan | Ref | Action | Due date | Days overdue | Status | Latest progress")
    assert "| PMP audit improvement plan | 1 | Action 1 | 01/10/2003 | 54 | Off track |" in lines
    pixels = seen_colours(chromium, page, tmp_path, "lead-note")
    assert pixels[model.RED] > 150 and pixels[model.AMBER] > 150 and pixels[model.GREEN] > 150
    assert pixels[model.BLUE] == pixels[model.GREY] == 0  # none of hers is complete or withdrawn

    # The note of the lead with no address, to print: opened the same way.
    page = outbox / "leads" / "no-address" / "pat-noaddress.html"
    lines = seen_text(chromium, page, tmp_path)
    assert "the plans give no email address for you" in lines[0]
    assert lines[1] == "Dear Pat Noaddress,"
    assert seen_colours(chromium, page, tmp_path, "lead-note-no-address")[model.RED] > 150
