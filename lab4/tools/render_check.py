"""Render an executed notebook the way a reader sees it and measure it in a real browser.

nbconvert turns the notebook into HTML; headless Chromium (Debian's ``chromium``) opens it at a laptop width
(1,280 px), and a script in the page measures every output table against its output area and counts table
cells that show raw floats (six or more decimals, or an unformatted exponent such as ``1.770014e-01``). A
full-page screenshot is saved next to the HTML for a human look.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

WIDTH = 1280
_RESULT_ID = "lab4-render-check"
# Runs in the page after layout: one record per output table.
_MEASURE = """
<script>
window.addEventListener('load', () => {
  const raw = /^-?\\d+\\.\\d{6,}$|^-?\\d+\\.\\d{4,}e[-+]?\\d+$/i;  // 0.547222, 1.770014e-01 (not 3.8e-34)
  const tables = [];
  document.querySelectorAll('.jp-OutputArea-output table, .output_area table').forEach((table, i) => {
    const area = table.closest('.jp-OutputArea-output, .output_subarea') || table.parentElement;
    const cells = Array.from(table.querySelectorAll('td, th')).map(c => c.textContent.trim());
    tables.push({index: i, table_width: Math.ceil(table.getBoundingClientRect().width),
                 area_width: Math.floor(area.clientWidth),
                 raw_cells: cells.filter(t => raw.test(t)).length,
                 header: Array.from(table.querySelectorAll('thead th')).map(c => c.textContent.trim()).slice(0, 12)});
  });
  const pre = document.createElement('pre');
  pre.id = '%s';
  pre.textContent = JSON.stringify({tables: tables, height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});
</script>
""" % _RESULT_ID


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no Chromium found; install it with `apt-get install chromium` (Debian's package)")


def _browser(*args: str, timeout: float = 120) -> str:
    profile = tempfile.mkdtemp(prefix="lab4-chromium-")
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--hide-scrollbars", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def render_check(notebook: str | Path, out_dir: str | Path = "build") -> dict:
    """Render ``notebook`` to HTML, measure it in Chromium at 1,280 px, save a full-page screenshot.

    Returns ``{"html", "screenshot", "tables", "too_wide", "raw_cells"}``: ``tables`` has one record per output
    table (its width, its output area's width, raw-float cells), ``too_wide`` the tables wider than their area.
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook, out_dir = Path(notebook), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(notebook, as_version=4))
    html = out_dir / f"{notebook.stem}.html"
    html.write_text(body.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = _browser(f"--window-size={WIDTH},1000", "--virtual-time-budget=15000", "--dump-dom", html.resolve().as_uri())
    found = re.search(rf'<pre id="{_RESULT_ID}">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError("the page did not report its measurements (did the HTML load?)")
    import html as html_lib

    result = json.loads(html_lib.unescape(found.group(1)))
    screenshot = out_dir / f"{notebook.stem}.png"
    height = min(int(result["height"]) + 50, 16000)  # Chromium caps very tall captures
    _browser(f"--window-size={WIDTH},{height}", "--virtual-time-budget=15000", f"--screenshot={screenshot.resolve()}",
             html.resolve().as_uri())
    too_wide = [t for t in result["tables"] if t["table_width"] > t["area_width"]]
    return {"html": str(html), "screenshot": str(screenshot), "tables": result["tables"], "too_wide": too_wide,
            "raw_cells": sum(t["raw_cells"] for t in result["tables"])}


def report(result: dict) -> int:
    """Print the measurements; 0 when every table fits and no raw float is shown, else 1."""
    print(f"{len(result['tables'])} output tables measured at {WIDTH} px; "
          f"{len(result['too_wide'])} wider than their output area; {result['raw_cells']} raw-float cells")
    for t in result["too_wide"]:
        print(f"  table {t['index']}: {t['table_width']} px in a {t['area_width']} px area; columns {t['header']}")
    for t in result["tables"]:
        if t["raw_cells"]:
            print(f"  table {t['index']}: {t['raw_cells']} raw-float cells; columns {t['header']}")
    print(f"HTML: {result['html']}\nscreenshot: {result['screenshot']}")
    return 0 if not result["too_wide"] and not result["raw_cells"] else 1
