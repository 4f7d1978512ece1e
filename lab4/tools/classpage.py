"""The TA class page: ``python -m lab4.tools summary FOLDER --html OUT.html``.

Owns turning the text summary's records (:func:`lab4.tools.summary.summarize_notebook`, the same verdicts
the student's self-check gives; no second rule) into one self-contained HTML page: a sortable table with one
row per notebook -- its deliverables done, each deliverable's verdict, and what needs a TA's eye (an error, an
API key the self-check warned about, cells edited after the self-check, a notebook that cannot be read) --
and, a click away in the same row, the notes, the hypothesis, the cases' scores and the discussion answers.
The page skeleton (Tabulator inlined, data as JSON, no request allowed) is :func:`lab4.htmlreport.page`.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

from ..deliverables import DELIVERABLES, DISCUSSION_KEYS, note_written
from ..htmlreport import page
from .summary import (MISSING, NEEDS_RUNNING, _done, _error_line, _fact, _models, _scores)

_esc = html.escape
_NOT_DONE = '<span class="tag bad">not done</span>'


def _name(summary, root) -> str:
    try:
        return str(Path(summary["notebook"]).relative_to(root))
    except ValueError:
        return str(summary["notebook"])


def _flags(summary) -> list[str]:
    """What needs a TA's eye, one short line each (the text summary says the same in its own lines)."""
    s = summary
    if s["problem"]:
        return [s["problem"]]
    flags = []
    if s["error"]:
        more = f" ({s['errors'] - 1} more)" if s["errors"] > 1 else ""
        flags.append(f"error: {_error_line(s['error'])}{more}")
    flags += [f"API key in {k['where']}: {k['token']} ({k['why']})" for k in s["keys"]]
    if s["differs"]:
        flags.append(f"edited after the self-check: {', '.join(s['differs'])}")
    if not s["self_check"]:
        flags.append("self-check not in this copy: " + ("stopped before it" if s["error"] else "not run"))
    if s["unreadable"]:
        flags.append(f"could not read without running: {', '.join(s['unreadable'])}")
    return flags


def _details(summary) -> str:
    """The expandable part of a row: every deliverable's message, the notes, hypothesis, cases and answers."""
    s = summary
    if s["problem"]:
        return f"<p>{_esc(s['problem'])}</p>"
    d, run = s["deliverables"], s["run"]
    parts = ["<h4>Deliverables</h4><ul>"]
    for name, entry in d.items():
        origin = "its saved self-check" if entry["from"] == "self-check" else "the cells, read without running"
        parts.append(f'<li><span class="tag {_TAG[entry["status"]]}">{_esc(entry["status"])}</span> '
                     f"<b>{_esc(name)}</b>: {_esc(entry['message'])} <span class=\"hint\">(from {origin})</span></li>")
    parts.append("</ul>")
    if s["differs"]:
        parts.append("<p><b>Differs from the saved self-check</b> (cells edited after it ran?): "
                     + "; ".join(f"{_esc(n)}: {_esc(s['from_sources'][n].message)}" for n in s["differs"]) + "</p>")
    if s["self_check"]:
        parts.append(f"<p>Lab {_esc(str(run['lab_version']))}; data: {_esc(str(run['data']))} "
                     f"({_esc(str(run['n_tweets']))} tweets); models: {_esc(_models(run['models']))}; "
                     f"W&amp;B mode: {_esc(str(run['wandb_mode']))}</p>")
    if s["overall"]:
        parts.append("<h4>Headline metrics</h4><ul>" + "".join(f"<li>{_esc(l)}</li>" for l in s["overall"]) + "</ul>")
    parts.append(f"<p><b>Own slices</b>: {_esc(str(_fact(s, 'slices', 'own', lambda v: ', '.join(v) or 'none')))}</p>")
    notes = (d["notes"].get("facts") or {}).get("notes")
    if isinstance(notes, list):
        done = _fact(s, "notes", "done", lambda _: _done(d["notes"]["facts"]))
        rows = "".join(f"<tr><td>{_esc(str(name))}</td><td>{_esc(str(note))}"
                       f"{'' if note_written(note) else ' ' + _NOT_DONE}</td></tr>"
                       for name, note in notes)
        parts.append(f"<h4>Slice notes ({_esc(done)} written)</h4><table class=\"plain\">"
                     f"<thead><tr><th>slice</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>")
    else:
        parts.append(f"<p><b>Slice notes</b>: {_esc(d['notes']['message'])}</p>")
    sample = " (our SAMPLE)" if (d["hypothesis"].get("facts") or {}).get("sample") else ""
    parts.append(f"<h4>Hypothesis{sample}</h4><p>{_esc(str(_fact(s, 'hypothesis', 'text')))}</p>")
    parts.append(f"<p><b>Generated cases</b>: {_esc(str(_fact(s, 'cases', 'own')))} of the student's own, "
                 f"{_esc(str(_fact(s, 'cases', 'sample')))} of our sample; correct: "
                 f"{_esc(str(_fact(s, 'cases', 'scores', _scores, only_by_running=True)))}</p>")
    answers = (d["discussion"].get("facts") or {}).get("answers") or {}
    done = _fact(s, "discussion", "done", lambda _: _done(d["discussion"]["facts"]))
    parts.append(f"<h4>Discussion answers ({_esc(done)} written)</h4><dl>" + "".join(
        f"<dt>{_esc(key)}</dt><dd>{_esc(str(answers.get(key) or MISSING))}</dd>" for key in DISCUSSION_KEYS) + "</dl>")
    return "".join(parts)


_TAG = {"PASS": "good", "FAIL": "bad", NEEDS_RUNNING: "grey"}


def class_rows(summaries, root) -> list[dict]:
    """One plain dict per notebook for the page's table (``summaries`` from ``summarize_notebook``)."""
    rows = []
    for s in summaries:
        statuses = {name: entry["status"] for name, entry in s["deliverables"].items()}
        rows.append({"notebook": _name(s, root), "problem": s["problem"],
                     "passed": sum(v == "PASS" for v in statuses.values()), "total": len(DELIVERABLES),
                     "self_check": s["self_check"], "statuses": statuses,
                     "messages": {name: entry["message"] for name, entry in s["deliverables"].items()},
                     "flags": _flags(s), "details": _details(s)})
    return rows


_CLASS_SCRIPT = r"""
const DATA = JSON.parse(document.getElementById("lab4-data").textContent);
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const TAG = {"PASS": "good", "FAIL": "bad"};
const status = name => c => { const d = c.getData(); const v = (d.statuses || {})[name];
  if (!v) return "";
  return `<span class="tag ${TAG[v] || "grey"}" title="${esc((d.messages || {})[name])}">${esc(v)}</span>`; };
const columns = [
  {title: "notebook", field: "notebook", width: 190, formatter: "textarea"},
  {title: "done", field: "passed", width: 76, hozAlign: "right", sorter: "number",
   formatter: c => c.getData().problem ? "" : `${c.getValue()}/${c.getData().total}`},
  ...DATA.deliverables.map(name => ({title: name, field: "statuses." + name, width: 104, headerSort: false,
                                     formatter: status(name)})),
  {title: "needs your eye", field: "flags", minWidth: 200, headerSort: false, formatter: c => {
    c.getElement().style.whiteSpace = "normal";
    return (c.getValue() || []).map(f => `<div class="flag">${esc(f)}</div>`).join(""); }},
];
const table = new Tabulator("#class-table", {
  data: DATA.rows, index: "notebook", layout: "fitColumns", renderVertical: "basic", columns: columns,
  initialSort: [{column: "notebook", dir: "asc"}],
  rowFormatter: row => {
    const el = row.getElement();
    if (el.querySelector("details.more")) return;
    const box = document.createElement("details"); box.className = "more";
    box.innerHTML = "<summary>notes, hypothesis, cases and answers</summary>" + row.getData().details;
    el.appendChild(box);
    box.addEventListener("toggle", () => { row.normalizeHeight(); table.redraw(); });
  },
});
table.on("tableBuilt", () => { document.body.dataset.ready = "1"; });
"""

_CLASS_STYLE = """<style>
#class-table .tabulator-row{flex-wrap:wrap}details.more{flex-basis:100%;padding:4px 12px 10px;white-space:normal;
font-size:.95em;background:#fbfbfc;border-top:1px dashed #d0d7de}details.more h4{margin:.7em 0 .2em}
.flag{color:#9a3412}dl dt{font-weight:600}dl dd{margin:0 0 .4em 1.2em}
</style>"""


def build_class_page(summaries, root) -> str:
    """The class page as one HTML string."""
    rows = class_rows(summaries, root)
    readable = [r for r in rows if not r["problem"]]
    complete = sum(r["passed"] == r["total"] for r in readable)
    flagged = sum(bool(r["flags"]) for r in rows)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""{_CLASS_STYLE}
<header><h1>Lab 4 class page</h1>
<p class="meta">{len(rows)} notebook(s) under <code>{_esc(str(root))}</code>, read without running them; written
{when}. {complete} of {len(readable)} readable notebook(s) have every deliverable done; {flagged} need your eye.</p>
</header>
<main>
<p class="hint">Each verdict is the one <code>python -m lab4.tools summary</code> prints: from the notebook's saved
self-check when it ran, else from its cells read without running ("needs running": only running can decide). Click
"notebook" or "done" to sort; hover a verdict for its reason; open a row's "notes, hypothesis, cases and answers"
to read them in place.</p>
<div id="class-table"></div>
</main>
<footer>Written by <code>python -m lab4.tools summary FOLDER --html</code>. Table: Tabulator (MIT), embedded in
this file; it opens from disk with no network.</footer>"""
    return page("Lab 4 class page", body, data={"rows": rows, "deliverables": list(DELIVERABLES)},
                script=_CLASS_SCRIPT)


def write_class_page(summaries, root, out_path) -> Path:
    """Write the class page to ``out_path`` (its folder is made) and return the path."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(build_class_page(summaries, root), encoding="utf-8")
    return out_path
