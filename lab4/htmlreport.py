"""The offline slice report: one self-contained HTML page per run, from what the run logged.

Owns turning a run's tables (slice_stats, df_eval, the notes, the ship memo, the Step 7 tables), its two
plots and its config into one HTML file that opens from disk in any browser with no network: the data is
embedded as JSON, the interactive tables are drawn by Tabulator (vendored in ``lab4/vendor/tabulator``,
MIT), the plots are embedded PNG images, and a Content-Security-Policy forbids every request. Also the
page skeleton the TA class page (``lab4.tools.classpage``) shares.

What the report shows: the slice table (both models' accuracy with 95% Wilson intervals, Δ with its
interval, regressions and fixes, BH q, verdict, the student's note), sortable by any column; a click on a
slice lists its tweets (label, both predictions and confidences, outcome), filterable to regressions,
fixes or errors and by text; the two plots; the ship memo; the Step 7 summary, cases and perturbation tests.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .display import fmt_p
from .stats import _fmt_ci

REPORT_NAME = "lab4_report.html"  # the file name, in the notebook's folder and in the run folder
VENDOR_DIR = Path(__file__).with_name("vendor") / "tabulator"
TABULATOR_VERSION = "6.5.3"

# Every request is refused: the page needs nothing beyond itself (inline script and style, data: images).
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
        "font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")

# What a tweet's outcome is called in the report, from df_eval's boolean columns.
OUTCOMES = {"regressed": "regression (baseline right, candidate wrong)",
            "improved": "fix (baseline wrong, candidate right)",
            "both_wrong": "both wrong", "both_correct": "both right"}

_TWEET_COLUMNS = ["tweet_id", "text", "label", "baseline_pred", "baseline_conf", "candidate_pred",
                  "candidate_conf"]

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
header,main,footer{max-width:1240px;margin:0 auto;padding:0 20px}
header{padding-top:18px}h1{font-size:1.55em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .4em;
border-bottom:1px solid #d0d7de;padding-bottom:.2em}.meta{color:#57606a;margin:.2em 0}
nav a{margin-right:1em}table.plain{border-collapse:collapse;margin:.4em 0;font-size:.93em}
table.plain th,table.plain td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;text-align:left}
table.plain th{background:#f6f8fa}table.plain td.num{text-align:right;font-variant-numeric:tabular-nums}
.controls{display:flex;gap:1em;align-items:center;flex-wrap:wrap;margin:.4em 0}
.controls input{min-width:18em;padding:3px 6px}.hint{color:#57606a;font-size:.92em}
.slice-note{white-space:pre-wrap;max-width:80em}
.tabulator{font-size:.9em}.tabulator .tabulator-row.too-small{color:#6e7781}
.tabulator .tabulator-row.sig-regression{background:#ffebe9}
.tabulator .tabulator-row.tabulator-selected{background:#ddf4ff}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:.85em;background:#eaeef2}
.tag.bad{background:#ffcecb}.tag.good{background:#d1f0d6}.tag.grey{background:#eaeef2;color:#57606a}
figure{margin:.6em 0}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
footer{color:#57606a;font-size:.88em;padding:2em 20px}
details{margin:.2em 0}summary{cursor:pointer}
"""


@lru_cache(maxsize=1)
def _vendor() -> tuple[str, str]:
    """Tabulator's script and stylesheet, without the source-map comment (a request devtools would make)."""
    js = (VENDOR_DIR / "tabulator.min.js").read_text(encoding="utf-8")
    css = (VENDOR_DIR / "tabulator_simple.min.css").read_text(encoding="utf-8")
    strip = lambda text: "\n".join(l for l in text.splitlines() if "sourceMappingURL" not in l)  # noqa: E731
    return strip(js), strip(css)


def _plain(value):
    """A JSON-safe Python value: numpy scalars unwrapped, NaN/NA/NaT as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, bool, int, float)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _records(frame: pd.DataFrame, columns=None) -> list[dict]:
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    return [{c: _plain(v) for c, v in zip(columns, row)} for row in frame[columns].itertuples(index=False)]


def script_json(data) -> str:
    """JSON for a ``<script type="application/json">`` block: no ``</script>`` or HTML comment can end it.

    >>> script_json({"t": "</script><!-- x"})
    '{"t": "\\\\u003c/script\\\\u003e\\\\u003c!-- x"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=_plain)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def page(title: str, body: str, *, data, script: str) -> str:
    """A whole self-contained page: CSP, Tabulator inlined, ``data`` as JSON in ``#lab4-data``, ``script`` last."""
    js, css = _vendor()
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n<script>{js}</script>\n"
            f'<script type="application/json" id="lab4-data">{script_json(data)}</script>\n'
            f"<script>\n{script}\n</script>\n</body>\n</html>\n")


def plain_table(frame: pd.DataFrame, columns=None, *, numbers=()) -> str:
    """A small table as escaped HTML (memo, Step 7 summary); ``numbers`` are right-aligned columns."""
    if frame is None or not len(frame):
        return '<p class="hint">(none logged)</p>'
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    rows = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for column, value in zip(columns, row):
            value = _plain(value)
            text = "" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
            cls = ' class="num"' if column in numbers else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="plain"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _figure_uri(figure) -> str | None:
    """A matplotlib figure, or PNG bytes already drawn, as a PNG data URI (None if it cannot be drawn)."""
    if isinstance(figure, bytes):
        return "data:image/png;base64," + base64.b64encode(figure).decode("ascii")
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    except Exception:  # noqa: BLE001 - a figure that cannot be drawn is left out, and the page says so
        return None
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _slice_rows(slice_stats: pd.DataFrame, notes: pd.DataFrame | None) -> list[dict]:
    from .deliverables import note_written  # the self-check's rule; imported here: deliverables imports tracking
    noted = {}
    if notes is not None and {"slice", "note"} <= set(notes.columns):
        noted = dict(zip(notes["slice"], notes["note"]))
    rows = []
    for r in slice_stats.to_dict("records"):
        row = {k: _plain(r.get(k)) for k in ("slice", "description", "n", "baseline_acc", "candidate_acc",
                                             "delta", "regressions", "fixes", "q_bh", "too_small",
                                             "significant_regression", "verdict")}
        row.update(baseline_ci=_fmt_ci(r.get("baseline_acc"), r.get("baseline_lo"), r.get("baseline_hi")),
                   candidate_ci=_fmt_ci(r.get("candidate_acc"), r.get("candidate_lo"), r.get("candidate_hi")),
                   delta_ci=("n/a" if pd.isna(r.get("delta")) else
                             f"{r['delta']:+.3f} [{r['delta_lo']:+.3f}, {r['delta_hi']:+.3f}]"),
                   q_text=fmt_p(r.get("q_bh")), note=_plain(noted.get(r.get("slice"))),
                   note_written=note_written(noted.get(r.get("slice"))))
        rows.append(row)
    return rows


def _tweets(df_eval: pd.DataFrame, slices: Mapping[str, Callable] | None, names) -> tuple[dict, dict, list]:
    """The tweets as columns + rows, each slice's member row numbers, and the slices it could not list."""
    columns = [c for c in _TWEET_COLUMNS if c in df_eval.columns]
    outcome = pd.Series("", index=df_eval.index, dtype=object)
    for column, name in OUTCOMES.items():
        if column in df_eval.columns:
            outcome = outcome.mask(df_eval[column].fillna(False).astype(bool) & (outcome == ""), column)
    frame = df_eval[columns].assign(outcome=outcome.values)
    for column in ("baseline_conf", "candidate_conf"):  # shown with 3 decimals; 4 keep the file small
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").round(4)
    values = frame.astype(object).to_numpy()
    values[pd.isna(frame).to_numpy()] = None  # NaN, NA, NaT -> null
    rows = values.tolist()
    members, missing = {}, []
    for name in names:
        if name == "all":  # slice_stats' first row: every tweet
            members[name] = list(range(len(df_eval)))
            continue
        fn = (slices or {}).get(name)
        try:
            mask = np.asarray(fn(df_eval), dtype=bool) if fn is not None else None
        except Exception:  # noqa: BLE001 - a slice that no longer runs on df_eval is listed as missing
            mask = None
        if mask is None or mask.shape != (len(df_eval),):
            missing.append(name)
            continue
        members[name] = np.flatnonzero(mask).tolist()
    return {"columns": [*columns, "outcome"], "rows": rows}, members, missing


def report_data(tables: Mapping[str, pd.DataFrame], *, slices: Mapping[str, Callable] | None = None,
                config: Mapping | None = None, summary: Mapping | None = None,
                run: Mapping | None = None) -> dict:
    """Everything the report's script reads, as plain JSON-ready values.

    ``tables``: the run's logged tables by name (``slice_stats`` and ``df_eval`` needed for the slice
    views; ``slice_notes``, ``ship_memo``, ``synthetic_summary``, ``synthetic_tests``, ``perturbation_tests``
    used when present). ``slices``: the notebook's slice functions, to list each slice's tweets.
    """
    stats = tables.get("slice_stats")
    df_eval = tables.get("df_eval")
    names = list(stats["slice"]) if stats is not None else []
    tweets, members, missing = ({"columns": [], "rows": []}, {}, names)
    if df_eval is not None:
        tweets, members, missing = _tweets(df_eval, slices, names)
    return {"slices": _slice_rows(stats, tables.get("slice_notes")) if stats is not None else [],
            "tweets": tweets, "members": members, "unlisted": missing, "outcomes": OUTCOMES,
            "config": {k: _plain(v) for k, v in (config or {}).items()},
            "summary": {k: _plain(v) for k, v in (summary or {}).items()},
            "run": {k: _plain(v) for k, v in (run or {}).items() if not isinstance(v, (list, dict))}}


_REPORT_SCRIPT = r"""
const DATA = JSON.parse(document.getElementById("lab4-data").textContent);
const OUT = DATA.outcomes;
const T = DATA.tweets, COLS = T.columns;
const TWEETS = T.rows.map((r, i) => { const o = {_row: i}; COLS.forEach((c, j) => o[c] = r[j]); return o; });
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const fix3 = v => (v === null || v === undefined) ? "" : Number(v).toFixed(3);
function verdictTag(row) {
  if (row.too_small) return '<span class="tag grey">too small</span> ' + esc(row.verdict);
  if (row.significant_regression) return '<span class="tag bad">regression</span> ' + esc(row.verdict);
  return esc(row.verdict);
}
const sliceTable = new Tabulator("#slice-table", {
  data: DATA.slices, index: "slice", layout: "fitColumns", columnDefaults: {headerWordWrap: true}, selectableRows: 1, renderVertical: "basic",
  rowFormatter: row => { const d = row.getData();
    row.getElement().classList.toggle("too-small", !!d.too_small);
    row.getElement().classList.toggle("sig-regression", !!d.significant_regression); },
  columns: [
    {title: "slice", field: "slice", width: 150, formatter: "textarea", tooltip: (e, c) => c.getData().description},
    {title: "n", field: "n", hozAlign: "right", width: 62, formatter: c => Number(c.getValue()).toLocaleString("en-US")},
    {title: "baseline [95% CI]", field: "baseline_acc", hozAlign: "right", width: 166,
     formatter: c => esc(c.getData().baseline_ci)},
    {title: "candidate [95% CI]", field: "candidate_acc", hozAlign: "right", width: 166,
     formatter: c => esc(c.getData().candidate_ci)},
    {title: "Δ [95% CI]", field: "delta", hozAlign: "right", width: 196, formatter: c => esc(c.getData().delta_ci)},
    {title: "regr.", field: "regressions", hozAlign: "right", width: 66, headerTooltip: "regressions: baseline right, candidate wrong"},
    {title: "fixes", field: "fixes", hozAlign: "right", width: 66, headerTooltip: "fixes: baseline wrong, candidate right"},
    {title: "q", field: "q_bh", hozAlign: "right", width: 70, formatter: c => esc(c.getData().q_text),
     headerTooltip: "Benjamini-Hochberg q of the exact McNemar test"},
    {title: "verdict", field: "verdict", width: 180, formatter: c => { c.getElement().style.whiteSpace = "normal"; return verdictTag(c.getData()); }},
    {title: "your note", field: "note", minWidth: 100, formatter: "textarea"},
  ],
});
const tweetTable = new Tabulator("#tweet-table", {
  data: [], layout: "fitColumns", height: "520px", columnDefaults: {headerWordWrap: true}, placeholder: "Click a slice above to list its tweets.",
  columns: [
    {title: "id", field: "tweet_id", width: 80, hozAlign: "right"},
    {title: "text", field: "text", formatter: "textarea", widthGrow: 6},
    {title: "label", field: "label", width: 90},
    {title: "baseline", field: "baseline_pred", width: 104},
    {title: "conf", field: "baseline_conf", width: 70, hozAlign: "right", formatter: c => fix3(c.getValue())},
    {title: "candidate", field: "candidate_pred", width: 108},
    {title: "conf", field: "candidate_conf", width: 70, hozAlign: "right", formatter: c => fix3(c.getValue())},
    {title: "outcome", field: "outcome", width: 120, formatter: c => {
      const v = c.getValue(); const cls = v === "regressed" ? "bad" : v === "improved" ? "good" : "grey";
      return v ? `<span class="tag ${cls}" title="${esc(OUT[v])}">${esc(OUT[v].split(" (")[0])}</span>` : ""; }},
  ],
});
let current = null;
function applyFilters() {
  const kind = document.getElementById("tweet-filter").value;
  const text = document.getElementById("tweet-search").value.trim().toLowerCase();
  tweetTable.setFilter(d => (kind === "all" || (kind === "candidate_wrong" ? d.candidate_pred !== d.label : d.outcome === kind))
                            && (!text || String(d.text).toLowerCase().includes(text)));
}
function showSlice(name) {
  current = name;
  const row = DATA.slices.find(r => r.slice === name);
  const title = document.getElementById("tweets-title");
  const note = document.getElementById("tweets-note");
  note.textContent = !row || name === "all" ? "" : row.note_written ? `Your note: ${row.note}`
    : "No note written on this slice yet (Step 6).";
  note.classList.toggle("hint", !(row && row.note_written));
  if (!(name in DATA.members)) {
    title.textContent = `Tweets in ${name}: not listed (this slice's function was not passed to the report)`;
    tweetTable.setData([]);
    return;
  }
  const rows = DATA.members[name].map(i => TWEETS[i]);
  title.textContent = `Tweets in ${name} (n = ${rows.length.toLocaleString("en-US")}): ${row ? row.description : ""}`;
  tweetTable.setData(rows).then(applyFilters);
}
document.getElementById("tweet-filter").addEventListener("change", applyFilters);
document.getElementById("tweet-search").addEventListener("input", applyFilters);
sliceTable.on("rowClick", (e, row) => { sliceTable.deselectRow(); row.select(); showSlice(row.getData().slice); });
const built = t => new Promise(resolve => t.on("tableBuilt", resolve));
Promise.all([built(sliceTable), built(tweetTable)]).then(() => {
  if (DATA.slices.length) { sliceTable.selectRow(DATA.slices[0].slice); showSlice(DATA.slices[0].slice); }
  document.body.dataset.ready = "1";
});
"""


def _headline(summary: Mapping) -> str:
    models = [m for m in ("baseline", "candidate") if f"{m}/accuracy" in summary]
    if not models:
        return '<p class="hint">(no headline scores logged)</p>'
    keys = [k for k in ("accuracy", "macro_f1", "n") if all(f"{m}/{k}" in summary for m in models)]
    frame = pd.DataFrame([{"model": m, **{k: summary[f"{m}/{k}"] for k in keys}} for m in models])
    if "n" in frame:
        frame["n"] = frame["n"].map(lambda v: f"{int(v):,}" if pd.notna(v) else "")
    return plain_table(frame, numbers=keys)


def build_report(tables: Mapping[str, pd.DataFrame], *, figures: Mapping[str, object] | None = None,
                 slices: Mapping[str, Callable] | None = None, config: Mapping | None = None,
                 summary: Mapping | None = None, run: Mapping | None = None) -> str:
    """The report as one HTML string (see the module docstring for what it shows)."""
    config, summary, run = dict(config or {}), dict(summary or {}), dict(run or {})
    data = report_data(tables, slices=slices, config=config, summary=summary, run=run)
    esc = html.escape
    models = ", ".join(f"{role} <code>{esc(str(config[f'{role}/model_id']))}</code>"
                       for role in ("baseline", "candidate") if f"{role}/model_id" in config)
    n = len(data["tweets"]["rows"])
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    run_line = (f"W&B run <code>{esc(str(run.get('run_id')))}</code> ({esc(str(run.get('mode')))})"
                if run.get("run_id") else f"W&B {esc(str(run.get('mode', 'not used')))}")
    unlisted = (f'<p class="hint">Not listed (their slice functions were not passed to the report): '
                f'{esc(", ".join(data["unlisted"]))}.</p>') if data["unlisted"] and data["slices"] else ""
    figures_html = []
    for name, figure in (figures or {}).items():
        uri = _figure_uri(figure)
        figures_html.append(f'<figure><img alt="{esc(name)}" src="{uri}"><figcaption>{esc(name)}</figcaption></figure>'
                            if uri else f'<p class="hint">{esc(name)}: could not be drawn.</p>')
    options = "".join(f'<option value="{k}">{esc(v)}</option>' for k, v in
                      {"all": "all tweets", **OUTCOMES, "candidate_wrong": "candidate wrong"}.items())
    memo = tables.get("ship_memo")
    body = f"""
<header>
<h1>Lab 4 slice report</h1>
<p class="meta">{n:,} tweets from {esc(str(config.get('data_source', 'unknown data')))}; {models or 'models unknown'}.
{run_line}; written {when}. This file holds everything it shows: it opens from disk, with no network.</p>
<nav><a href="#slices">Slices</a><a href="#tweets">Tweets of a slice</a><a href="#plots">Plots</a>
<a href="#memo">Ship memo</a><a href="#step7">Step 7</a></nav>
</header>
<main>
<section id="headline"><h2>Overall</h2>{_headline(summary)}</section>
<section id="slices"><h2>Slices</h2>
<p class="hint">One row per slice ("all" is every tweet), worst first: the largest drop from baseline to candidate at
the top. Click a column title to sort, click a
slice to list its tweets below. Accuracies are in [0, 1] with their 95% Wilson intervals; Δ = candidate −
baseline (negative: the candidate is worse), with its paired 95% interval; q is the Benjamini–Hochberg adjusted
exact McNemar p-value of regressions against fixes (small: unlikely by chance). Grey rows are too small to
judge; red rows are significant regressions.</p>
<div id="slice-table"></div>{unlisted}</section>
<section id="tweets"><h2 id="tweets-title">Tweets of a slice</h2>
<p id="tweets-note" class="slice-note"></p>
<div class="controls"><label>show <select id="tweet-filter">{options}</select></label>
<input id="tweet-search" type="search" placeholder="filter by text"></div>
<div id="tweet-table"></div>
<p class="hint">conf: each model's confidence in its prediction, in [0, 1]. Outcome: a regression is a tweet the
baseline got right and the candidate got wrong; a fix, the reverse.</p></section>
<section id="plots"><h2>Plots</h2>{''.join(figures_html) or '<p class="hint">(no plots logged)</p>'}</section>
<section id="memo"><h2>Ship memo</h2>
<p class="hint">Evidence to argue with, not a verdict.</p>{plain_table(memo) if memo is not None else '<p class="hint">(not logged yet: Step 7)</p>'}</section>
<section id="step7"><h2>Step 7: generated cases and perturbation tests</h2>
<h3>Summary</h3>{plain_table(tables.get("synthetic_summary"), ["model", "n_cases", "labels_changed", "failures", "failure_rate", "lo", "hi", "slice_n", "slice_error_rate"], numbers=("n_cases", "labels_changed", "failures", "failure_rate", "lo", "hi", "slice_n", "slice_error_rate"))}
<h3>Cases</h3>{plain_table(tables.get("synthetic_tests"), ["text", "llm_label", "expected_label", "baseline_pred", "candidate_pred", "candidate_fails", "in_slice"])}
<h3>Perturbation tests</h3>{plain_table(tables.get("perturbation_tests"), ["test", "kind", "model", "n", "failures", "failure_rate", "lo", "hi"], numbers=("n", "failures", "failure_rate", "lo", "hi"))}
</section>
</main>
<footer>Written by the Lab 4 helpers. Tables: Tabulator {TABULATOR_VERSION} (MIT), embedded in this file.</footer>
"""
    return page("Lab 4 slice report", body, data=data, script=_REPORT_SCRIPT)


def write_report(session, *, slices: Mapping[str, Callable] | None = None, directory=".") -> dict:
    """Write the report for a W&B session (what it logged so far) to ``directory`` and to the run folder.

    Returns ``{"report": path in directory, "report_in_run": path in the run folder or None}`` (absolute
    paths as strings). Nothing is written when the session logged no slice_stats (returns Nones).
    """
    tables = {name: frame for name, (frame, _) in session._logged.items()}
    if "slice_stats" not in tables:
        return {"report": None, "report_in_run": None}
    figures = {name: session._pngs.get(name, figure) for name, figure in session._figures.items()}
    text = build_report(tables, figures=figures, slices=slices, config=session._config,
                        summary=session._summary, run=session.info())
    paths = {"report": Path(directory) / REPORT_NAME,
             "report_in_run": Path(session.run_dir) / REPORT_NAME if session.run_dir else None}
    for path in paths.values():
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return {k: str(p.absolute()) if p is not None else None for k, p in paths.items()}
