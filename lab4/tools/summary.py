"""TA summary: read saved notebooks without running them, one row per notebook; and ``where``.
"""

from __future__ import annotations

import ast
import csv
import re
import sys
from pathlib import Path

from ..config import LABELS
from ..deliverables import DISCUSSION_KEYS, _answer_done, _note_done
from ..keyscan import _as_text, _output_texts
from ..slicing import EXAMPLE_PREFIX, default_slices
from .release import _read_notebook


_LAB_IMPORT_RE = re.compile(r"^\s*(?:import\s+lab4_helpers\b|from\s+lab4_helpers\s+import\b)",
                            re.MULTILINE)

_MAGIC_LINE_RE = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)

_SELF_CHECK_LINE_RE = re.compile(r"^\[(PASS|FAIL)\] (\w+): (.*)$")

_SELF_CHECK_TOTAL_RE = re.compile(r"^Self-check: (\d+)/(\d+) deliverables done")

_CASES_COLUMNS = ("text", "expected_label", "baseline_pred", "candidate_pred")

_SOURCE_VARIABLES = ("saved_slice_notes", "HYPOTHESIS", "GENERATED_CASES_TEXT",
                     "DISCUSSION_ANSWERS")

_SUMMARY_CSV_COLUMNS = ("notebook", "n_own_slices", "notes_done", "hypothesis", "n_cases",
                        "answers_done", "overall", "wandb", "self_check", "problem")

MISSING = "missing"


def _strip_magics(source):
    """Turn IPython magic/shell lines (%…, !…) into ``pass`` (same indent) so that ``ast`` can parse a cell."""
    return _MAGIC_LINE_RE.sub(lambda m: m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())] + "pass", source)


def _is_add_slice(decorator):
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ((isinstance(target, ast.Attribute) and target.attr == "add_slice")
            or (isinstance(target, ast.Name) and target.id == "add_slice"))


def _read_sources(cells):
    """Literal values of the Step 6/7 variables and add_slice function names, without running."""
    values, decorated, unreadable = {}, [], []
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_strip_magics(_as_text(cell.source)))
        except SyntaxError:
            unreadable.append(f"cell {index} (not valid Python)")
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(map(_is_add_slice, node.decorator_list)):
                decorated.append(node.name)
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) and node.value
                       else [])
            for target in targets:
                try:
                    if isinstance(target, ast.Name) and target.id in _SOURCE_VARIABLES:
                        values[target.id] = ast.literal_eval(node.value)
                    elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                          and isinstance(values.get(target.value.id), dict)):
                        key = ast.literal_eval(target.slice)
                        values[target.value.id][key] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    name = getattr(target, "id", None) or getattr(target.value, "id", "?")
                    unreadable.append(f"{name} in cell {index} (not a plain literal)")
    return values, list(dict.fromkeys(decorated)), unreadable


def _shipped_slice_names():
    """Names of the shipped example slices (:func:`default_slices`)."""
    return set(default_slices())


def _parse_cases_table(plain):
    """(number of rows, scores dict or None) from a scored-cases DataFrame's text/plain repr."""
    lines = plain.splitlines()
    header = next((i for i, line in enumerate(lines) if "expected_label" in line.split()), None)
    if header is None:
        return None, None
    columns = lines[header].split()
    rows = [line.split() for line in lines[header + 1:]
            if line.split() and re.fullmatch(r"-?\d+", line.split()[0])]
    truncated = re.search(r"\[(\d+) rows x \d+ columns\]", plain)
    n_rows = int(truncated.group(1)) if truncated else len({row[0] for row in rows})
    after = columns[columns.index("text") + 1:] if "text" in columns else []
    if truncated or not rows or not set(_CASES_COLUMNS[1:]) <= set(after):
        return n_rows, None
    records = [dict(zip(after, row[-len(after):])) for row in rows if len(row) > len(after)]
    if len(records) != len(rows) or any(r[c] not in LABELS for r in records
                                        for c in _CASES_COLUMNS[1:]):
        return n_rows, None
    scores = {model: sum(r[f"{model}_pred"] == r["expected_label"] for r in records)
              for model in ("baseline", "candidate")}
    return n_rows, {**scores, "n": len(records)}


def _read_outputs(cells):
    """Marker lines and the scored-cases table from the saved outputs."""
    overall, wandb_line, self_check_lines, cases_plain = [], None, [], None
    for cell in cells:
        cell_lines = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = _as_text(output.get("text", ""))
            elif output.get("output_type") in ("execute_result", "display_data"):
                text = _as_text(output.get("data", {}).get("text/plain", ""))
                if all(column in text.split() for column in _CASES_COLUMNS):
                    cases_plain = text
            else:
                continue
            cell_lines += [line.strip() for line in text.splitlines()]
        overall += [line for line in cell_lines if line.startswith("Overall:")]
        wandb_line = next((line for line in reversed(cell_lines) if line.startswith("W&B run:")),
                          wandb_line)
        checks = [line for line in cell_lines
                  if _SELF_CHECK_LINE_RE.match(line) or _SELF_CHECK_TOTAL_RE.match(line)]
        if checks:
            self_check_lines = checks
    return overall, wandb_line, self_check_lines, cases_plain


def _empty_summary(path, problem=None):
    return {"notebook": str(path), "problem": problem, "own_slices": [], "notes": {},
            "notes_done": "0/0", "overall": [], "wandb": None, "hypothesis": None,
            "hypothesis_is_sample": False, "cases_are_sample": False, "n_cases": None,
            "case_scores": None, "cases_table": None, "discussion": {},
            "answers_done": f"0/{len(DISCUSSION_KEYS)}", "self_check": None,
            "self_check_lines": [], "unreadable": []}


def _format_summary(summary):
    """The readable report printed by ``summary`` for one notebook."""
    s = summary
    if s["problem"]:
        return f"{s['notebook']}: {s['problem']}"
    out = [f"== {s['notebook']} ==",
           f"Own slices ({len(s['own_slices'])}): {', '.join(s['own_slices']) or MISSING}",
           f"Slice notes ({s['notes_done']} done):" if s["notes"] else f"Slice notes: {MISSING}"]
    out += [f"  {name}: {note if note is not None else MISSING}"
            + ("" if _note_done(note) else "   [not done]") for name, note in s["notes"].items()]
    out.append("Headline metrics:" if s["overall"] else f"Headline metrics: {MISSING}")
    out += [f"  {line}" for line in s["overall"]]
    out.append(s["wandb"] or f"W&B run: {MISSING}")
    hypothesis = s["hypothesis"] or MISSING
    out.append(f"Hypothesis{' (SAMPLE, untouched)' if s['hypothesis_is_sample'] else ''}: "
               f"{hypothesis}")
    cases = "sample cases, untouched; " if s["cases_are_sample"] else ""
    if s["n_cases"] is None:
        out.append(f"Generated cases: {cases}not run")
    else:
        scores = s["case_scores"]
        scored = (f"; correct: baseline {scores['baseline']}/{scores['n']}, "
                  f"candidate {scores['candidate']}/{scores['n']}" if scores else "")
        out.append(f"Generated cases: {cases}{s['n_cases']} scored{scored}")
        out += [f"  {line}" for line in s["cases_table"].splitlines()]
    out.append(f"Discussion answers ({s['answers_done']} done):")
    out += [f"  {key}: {s['discussion'].get(key) or MISSING}" for key in DISCUSSION_KEYS]
    out.append(f"Self-check: {s['self_check'] or MISSING}")
    out += [f"  {line}" for line in s["self_check_lines"] if line.startswith("[")]
    if s["unreadable"]:
        out.append(f"Could not read without running: {', '.join(s['unreadable'])}")
    return "\n".join(out)


def _csv_row(summary, root):
    s = summary
    try:
        name = str(Path(s["notebook"]).relative_to(root))
    except ValueError:
        name = s["notebook"]
    if s["problem"]:
        return {column: "" for column in _SUMMARY_CSV_COLUMNS} | {"notebook": name,
                                                                  "problem": s["problem"]}
    hypothesis = ("SAMPLE (untouched)" if s["hypothesis_is_sample"] else s["hypothesis"]) or MISSING
    return {"notebook": name, "n_own_slices": len(s["own_slices"]),
            "notes_done": s["notes_done"], "hypothesis": hypothesis,
            "n_cases": "not run" if s["n_cases"] is None else s["n_cases"],
            "answers_done": s["answers_done"], "overall": " | ".join(s["overall"]) or MISSING,
            "wandb": (s["wandb"] or "").removeprefix("W&B run:").strip() or MISSING,
            "self_check": s["self_check"] or MISSING, "problem": ""}


def _summary_command(path, csv_path):
    root = path if path.is_dir() else path.parent
    if path.is_dir():
        notebooks = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        if not notebooks:
            print(f"summary: no *.ipynb files under {path}", file=sys.stderr)
            return 1
    else:
        notebooks = [path]
    summaries = [summarize_notebook(nb_path) for nb_path in notebooks]
    for summary in summaries:
        if summary["problem"]:
            print(f"{summary['notebook']}: {summary['problem']}", file=sys.stderr)
        elif not csv_path:
            print(_format_summary(summary) + "\n")
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_SUMMARY_CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(_csv_row(summary, root) for summary in summaries)
        print(f"summary: wrote {len(summaries)} rows to {csv_path}")
    return 1 if not path.is_dir() and summaries[0]["problem"] else 0


def summarize_notebook(path):
    """Read a saved lab 4 notebook (executed or cleared) without running it.

    Sources are parsed with ``ast`` (literal values of saved_slice_notes, HYPOTHESIS,
    GENERATED_CASES_TEXT, DISCUSSION_ANSWERS, including ``saved_slice_notes["x"] = "..."``
    updates; names of ``@lab.add_slice`` functions minus the shipped examples); the saved outputs
    give the ``Overall:`` lines, the ``W&B run:`` line, the self-check lines and the scored-cases
    table (its text/plain form).

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file.

    Returns
    -------
    dict
        ``problem`` is None for a readable lab 4 notebook, else a one-line message (unreadable,
        malformed JSON, not lab 4). Absent parts are None / empty, never errors:
        ``own_slices`` (list), ``notes`` (dict), ``notes_done`` ("done/total", a note is done when
        not TODO and MIN_NOTE_WORDS+ words), ``overall`` (list of lines), ``wandb`` (line or
        None), ``hypothesis`` and ``hypothesis_is_sample``, ``cases_are_sample``, ``n_cases``
        (None = scoring not run), ``case_scores`` ({"baseline", "candidate", "n"} correct counts
        against expected_label, None when the table cannot be parsed), ``cases_table``,
        ``discussion`` (dict), ``answers_done`` ("done/5"), ``self_check`` ("4/6" or None),
        ``self_check_lines``, ``unreadable`` (cells/variables that need running to read).
    """
    try:
        _, nb = _read_notebook(path)
    except FileNotFoundError:
        return _empty_summary(path, "file not found")
    except UnicodeDecodeError as error:
        return _empty_summary(path, f"not a text file ({error})")
    except ValueError as error:    # NotJSONError is a ValueError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return _empty_summary(path, f"malformed notebook JSON, cannot read it: {reason[:150]}")
    except Exception as error:     # noqa: BLE001 - one clear line per broken submission
        return _empty_summary(path, f"cannot read notebook ({type(error).__name__}: {error})")
    cells = nb.cells
    if not any(cell.cell_type == "code" and _LAB_IMPORT_RE.search(_as_text(cell.source))
               for cell in cells):
        return _empty_summary(path, "not a lab 4 notebook (no `import lab4_helpers` cell)")
    values, decorated, unreadable = _read_sources(cells)
    overall, wandb_line, check_lines, cases_plain = _read_outputs(cells)
    summary = _empty_summary(path)
    shipped = _shipped_slice_names()
    summary["own_slices"] = [name for name in decorated if name not in shipped and not name.startswith(EXAMPLE_PREFIX)]
    notes = values.get("saved_slice_notes")
    notes = dict(notes) if isinstance(notes, dict) else {}
    for name in summary["own_slices"]:
        notes.setdefault(name, None)
    summary["notes"] = notes
    summary["notes_done"] = f"{sum(map(_note_done, notes.values()))}/{len(notes)}"
    hypothesis = values.get("HYPOTHESIS")
    if isinstance(hypothesis, str) and hypothesis.strip():
        summary["hypothesis"] = hypothesis.strip()
        summary["hypothesis_is_sample"] = hypothesis.strip().startswith("SAMPLE:")
    raw_cases = values.get("GENERATED_CASES_TEXT")
    summary["cases_are_sample"] = isinstance(raw_cases, str) and raw_cases.lstrip().startswith(
        "# SAMPLE")
    if cases_plain is not None:
        summary["n_cases"], summary["case_scores"] = _parse_cases_table(cases_plain)
        summary["cases_table"] = cases_plain if summary["n_cases"] is not None else None
    answers = values.get("DISCUSSION_ANSWERS")
    answers = answers if isinstance(answers, dict) else {}
    summary["discussion"] = {key: answers.get(key) for key in DISCUSSION_KEYS}
    summary["answers_done"] = (f"{sum(_answer_done(answers.get(k)) for k in DISCUSSION_KEYS)}"
                               f"/{len(DISCUSSION_KEYS)}")
    summary["overall"], summary["wandb"] = overall, wandb_line
    summary["self_check_lines"] = check_lines
    total = next((m for m in map(_SELF_CHECK_TOTAL_RE.match, check_lines) if m), None)
    summary["self_check"] = f"{total.group(1)}/{total.group(2)}" if total else None
    summary["unreadable"] = unreadable
    return summary


def _where_command(path: Path) -> int:
    """Print where ``make lab`` left things: the executed notebook, the W&B run and its plot images."""
    try:
        _, nb = _read_notebook(path)
    except Exception as err:  # noqa: BLE001 - one clear line, not a traceback
        print(f"{path}: cannot read it ({err})", file=sys.stderr)
        return 1
    print(f"Executed notebook: {path}")
    lines = [line for cell in nb.cells if cell.get("cell_type") == "code" for out in cell.get("outputs", [])
             for _, text in _output_texts(out) for line in text.splitlines()]
    run_lines = [l for l in lines if l.startswith(("W&B run:", "Upload it later"))]
    print("\n".join(run_lines) if run_lines else "W&B run: not found in the outputs (did the last cells run?)")
    for line in run_lines:
        match = re.search(r"saved in (\S+)", line)
        if match:
            images = sorted(Path(match.group(1)).glob("files/media/images/**/*.png"))
            print(f"Plots: inline in the notebook, and {len(images)} image(s) in {match.group(1)}/files/media/images")
    return 0
