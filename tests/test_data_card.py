"""benchmarks/data_card.py: the data card's two tables come from the script, and the committed card matches it.

Run without the real tweets (a path that is not there), as on a machine without ``../shared``: the script says
so, measures the bundled data alone, and its bundled columns are the ones committed in docs/data-card.md (the
offline pair through the notebook's own loading and models, so these are the figures a student's run shows).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_card():
    spec = importlib.util.spec_from_file_location("data_card", ROOT / "benchmarks" / "data_card.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(markdown: str, block: str | None = None) -> dict[str, list[str]]:
    """First cell -> the other cells, for every table row of ``markdown`` (or of its ``block`` between markers)."""
    if block is not None:
        markdown = re.search(rf"<!-- data_card.py: {block} -->(.*?)<!-- end data_card.py: {block} -->",
                             markdown, re.S).group(1)
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_without_the_real_tweets_it_says_so_and_the_card_matches_its_bundled_columns(data_card, tmp_path, capsys):
    missing = tmp_path / "no_such_tweets.csv"
    assert data_card.main(["--real", str(missing)]) == 0
    out = capsys.readouterr().out
    assert "is not here, so only the bundled data is measured" in out
    card = (ROOT / "docs" / "data-card.md").read_text(encoding="utf-8")
    printed = _rows(out)
    committed = {**_rows(card, "properties"), **_rows(card, "offline pair")}
    assert printed["property"] == ["bundled test", "bundled train"]
    compared = 0
    for key, cells in printed.items():
        if key in ("property", "slice"):
            continue
        assert committed[key][:len(cells)] == cells, key  # the real column, when the card has it, comes after
        compared += 1
    assert compared >= 25  # every property row and every shipped slice of the offline pair
    assert re.search(r"^bundled test: overall \d\.\d{3} → \d\.\d{3}, Δ [+-]\d", out, re.M)
