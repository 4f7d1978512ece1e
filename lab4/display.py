"""What students and TAs see: readable views of the lab's tables, made to fit a laptop-width page.

The DataFrames themselves stay numeric and complete (W&B, tests and students' own code use them); :func:`show`
returns a formatted *view*: rates and accuracies to 3 decimals, p and q compactly (``0.18``, ``3.8e-34``),
an estimate and its interval in one ``0.547 [0.517, 0.577]`` cell, counts with thousands separators, text
left-aligned and wrapped, and, for the lab's own tables, only the columns a student needs at that step
(the decision columns ``verdict`` / ``reading`` always among them). The full frame is one call away: display
the variable itself.
"""

from __future__ import annotations

import math
import re

import pandas as pd

# The columns shown for each of the lab's tables, recognised by the columns they have. Estimates listed here
# with ``_lo``/``_hi`` partners are merged with their interval into one cell.
VIEWS = {
    "slice_stats": ("slice", "n", "baseline_acc", "candidate_acc", "delta", "regressions", "fixes", "q_bh",
                    "verdict"),
    "regression_metrics": ("slice", "n", "regressions", "fixes", "confident_regressions",
                           "regression_rate", "net", "too_small"),
    "slice_metrics": ("slice", "model", "n", "correct", "accuracy", "too_small"),
    "overall": ("model", "n", "accuracy", "macro_f1", "recall_negative", "recall_neutral", "recall_positive"),
    "discovered": ("rank", "target", "slice", "n", "error_rate", "baseline_acc", "candidate_acc", "regressions",
                   "fixes", "q_bh", "rediscovers"),
    "synthetic_summary": ("model", "n_cases", "failures", "failure_rate", "slice_n", "slice_error_rate",
                          "labels_changed"),
    "perturbation_results": ("test", "kind", "model", "n", "failures", "failure_rate"),
    "ship_memo": ("item", "evidence", "reading"),
    "describe_slices": ("slice", "description", "n", "share"),
    "compare_models": ("slice", "n", "baseline_acc", "candidate_acc", "delta", "too_small"),
}
_SIGNATURES = {
    "slice_stats": {"verdict", "q_bh", "delta_lo"},
    "regression_metrics": {"regression_rate", "net"},
    "slice_metrics": {"slice", "model", "accuracy", "too_small"},
    "overall": {"macro_f1", "accuracy_lo"},
    "discovered": {"rank", "rediscovers", "target"},
    "synthetic_summary": {"n_cases", "slice_error_rate"},
    "perturbation_results": {"test", "kind", "failure_rate", "example"},
    "ship_memo": {"item", "evidence", "reading"},
    "compare_models": {"baseline_acc", "candidate_acc", "delta", "too_small"},
}
_COUNT = re.compile(r"^(n|n_.*|rows|correct|regressions|fixes|failures|net|slice_n|"
                    r"confident_regressions|both_wrong|both_correct|rank)$")  # ids (tweet_id) stay plain: 1051, not 1,051
_PVALUE = re.compile(r"^(p|q|p_.*|q_.*)$")
_SIGNED = re.compile(r"^(delta|net_change|.*_change)$")
_WIDE_TEXT = ("value", "check", "text", "description", "evidence", "reading", "example", "original", "perturbed", "issues",
              "reason", "hypothesis", "note", "message")


def fmt_p(value) -> str:
    """A p- or q-value, compactly: two significant digits, scientific below 0.001.

    >>> fmt_p(0.177001), fmt_p(3.8e-34), fmt_p(1.0), fmt_p(float("nan"))
    ('0.18', '3.8e-34', '1', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.2g}" if value >= 1e-3 else f"{value:.1e}"


def _fmt_number(value, signed=False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def fmt_interval(value, lo, hi, *, signed=False) -> str:
    """An estimate with its 95% interval in one cell.

    >>> fmt_interval(0.547222, 0.517, 0.577), fmt_interval(0.0827, -0.027, 0.19, signed=True)
    ('0.547 [0.517, 0.577]', '+0.083 [-0.027, +0.190]')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{_fmt_number(value, signed)} [{_fmt_number(lo, signed)}, {_fmt_number(hi, signed)}]"


def _view_class():
    """A Styler whose plain-text form (terminals, text-only readers, the TA summary) is the formatted table."""
    from pandas.io.formats.style import Styler

    class View(Styler):
        plain = ""

        def __repr__(self) -> str:
            return self.plain

        def _repr_pretty_(self, printer, cycle) -> None:
            printer.text(self.plain)

    return View


def _kind(frame: pd.DataFrame) -> str | None:
    columns = set(frame.columns)
    return next((kind for kind, needed in _SIGNATURES.items() if needed <= columns), None)


def _merge_intervals(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Replace each shown estimate that has ``_lo``/``_hi`` partners by one formatted interval column."""
    out, renamed = frame.copy(), {}
    for col in columns:
        stem = col[:-4] if col.endswith("_acc") else col
        lo, hi = next(((a, b) for a, b in ((f"{col}_lo", f"{col}_hi"), (f"{stem}_lo", f"{stem}_hi"))
                       if a in frame.columns and b in frame.columns), (None, None))
        if lo is None:
            continue
        signed = bool(_SIGNED.match(col))
        out[col] = [fmt_interval(v, a, b, signed=signed) for v, a, b in zip(frame[col], frame[lo], frame[hi])]
        renamed[col] = f"{col} [95% CI]"
    return out, renamed


def run_summary(info) -> pd.DataFrame:
    """The W&B run record (``wandb_session.info()``, ``wandb_run_info``) as a small readable table.

    Columns ``item`` and ``value``: the mode and why, the run id, where it is (URL or folder), how to upload
    an offline run, and each logged table with its row count.

    >>> run_summary({"mode": "offline", "reason": "no API key", "run_id": "ab12", "tables": ["df_eval"],
    ...              "rows": {"df_eval": 12284}, "run_dir": "/w/offline-run-1", "sync_command": "wandb sync /w/offline-run-1"}).values.tolist()
    [['W&B run', 'offline (no API key)'], ['run id', 'ab12'], ['folder', '/w/offline-run-1'], ['upload later', 'wandb sync /w/offline-run-1'], ['tables logged', 'df_eval (12,284 rows)']]
    """
    rows = [("W&B run", f"{info.get('mode')}" + (f" ({info['reason']})" if info.get("reason") else ""))]
    for item, key in (("run id", "run_id"), ("link", "url"), ("folder", "run_dir"), ("upload later", "sync_command")):
        if info.get(key):
            rows.append((item, str(info[key])))
    for earlier in info.get("continues") or []:
        rows.append(("continues", f"run {earlier.get('run_id')} (finished; this run holds everything)"))
    counts = info.get("rows") or {}
    tables = ", ".join(f"{name} ({counts[name]:,} rows)" if name in counts else name for name in info.get("tables") or [])
    rows.append(("tables logged", tables or "none yet"))
    return pd.DataFrame(rows, columns=["item", "value"])


def show(frame: pd.DataFrame, columns=None, *, max_rows: int | None = None, intervals: bool = True):
    """A formatted view of ``frame`` for display (a pandas Styler); the frame itself is unchanged.

    A W&B run record (the dict from ``wandb_session.info()`` or ``lab.log_to_wandb``) is shown as
    :func:`run_summary`.

    ``columns``: which to show; default: the lab's choice for its own tables (see ``VIEWS``), else all.
    ``max_rows``: show only the first rows (tables are sorted worst first). ``intervals``: merge an estimate
    with its ``_lo``/``_hi`` columns into one cell.
    """
    if isinstance(frame, dict) and "mode" in frame and "tables" in frame:
        frame = run_summary(frame)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"show: expected a pandas DataFrame, got {type(frame).__name__}")
    kind = _kind(frame)
    if columns is None:
        columns = [c for c in VIEWS.get(kind, frame.columns) if c in frame.columns]
    else:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"show: no column(s) {missing}; found {list(frame.columns)}")
    part = (frame if max_rows is None else frame.head(max_rows)).reset_index(drop=True)
    merged, renamed = _merge_intervals(part, list(columns)) if intervals else (part, {})
    view = merged[list(dict.fromkeys(columns))].rename(columns=renamed)
    formats = {}
    for col in view.columns:
        base = next((k for k, v in renamed.items() if v == col), col)
        series = view[col]
        if base in renamed:
            continue
        if pd.api.types.is_bool_dtype(series):
            formats[col] = lambda v: "" if pd.isna(v) else ("yes" if v else "")
        elif _PVALUE.match(str(base)) and pd.api.types.is_numeric_dtype(series):
            formats[col] = fmt_p
        elif _COUNT.match(str(base)) and pd.api.types.is_numeric_dtype(series):
            formats[col] = lambda v: "" if pd.isna(v) else f"{int(v):,}"
        elif pd.api.types.is_float_dtype(series):
            formats[col] = (lambda v: _fmt_number(v, True)) if _SIGNED.match(str(base)) else _fmt_number
    text_columns = [c for c in view.columns if view[c].dtype == object or pd.api.types.is_string_dtype(view[c])]
    wide = [c for c in text_columns if str(c).split(" ")[0] in _WIDE_TEXT]
    styler = _view_class()(view).format(formats, na_rep="").hide(axis="index")
    plain = view.copy()
    for col, fmt in formats.items():
        plain[col] = plain[col].map(fmt)
    styler.plain = plain.fillna("").to_string(index=False)
    styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    if wide:
        styler = styler.set_properties(subset=wide, **{"white-space": "normal", "min-width": "16em",
                                                       "max-width": "34em"})
    narrow = [c for c in view.columns if c not in text_columns or c in renamed.values()]
    if narrow:  # numbers and intervals never break across lines
        styler = styler.set_properties(subset=narrow, **{"white-space": "nowrap"})
    return styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}], overwrite=False)
