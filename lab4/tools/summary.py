"""TA summary: read saved notebooks without running them, one row per notebook; and ``where``.

Every deliverable is judged by the rules of :mod:`lab4.deliverables`, the same ones the student's
self-check uses: from the self-check's saved record (mime type ``RECORD_MIME``) when the notebook ran
it, and always also from the cells' sources (read with ``ast``, never run). A cleared notebook gets
every verdict its sources can decide and "needs running" for the rest; an executed notebook whose
cells were edited after its self-check says which deliverables now differ.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import sys
import warnings
from pathlib import Path

from ..deliverables import (DELIVERABLES, DISCUSSION_KEYS, GENERATOR_VARIABLE, LABEL_FIXES_VARIABLE,
                            RECORD_MIME, RECORD_SCHEMA, UNKNOWN, Verdict, judge_cases,
                            judge_discussion, judge_hypothesis, judge_notes, judge_slices,
                            note_written, shipped_slice_names)
from ..htmlreport import REPORT_NAME
from ..keyscan import _as_text, _output_texts
from ..slicing import _describe, default_slices
from .release import _read_notebook


_LAB_IMPORT_RE = re.compile(r"^\s*(?:import\s+lab4_helpers\b|from\s+lab4_helpers\s+import\b)",
                            re.MULTILINE)

_MAGIC_LINE_RE = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)

# The notebook's parameters cell (and papermill's injected copy): what each student asked for.
_PARAMETERS = ("DATA_PATH", "USE_HF_DATASET", "MAX_TWEETS", "MODEL_SOURCE", "BASELINE", "CANDIDATE",
               "WANDB_MODE")

# Variables whose literal values the summary reads from the sources; ``slices`` is followed apart.
_VALUES = ("saved_slice_notes", "HYPOTHESIS", "GENERATED_CASES_TEXT", "DISCUSSION_ANSWERS",
           GENERATOR_VARIABLE, LABEL_FIXES_VARIABLE, *_PARAMETERS)

_TRACKED = ("slices", *_VALUES)

_MUTATING_METHODS = frozenset({"update", "pop", "popitem", "setdefault", "clear", "__setitem__",
                               "__delitem__", "__ior__"})

_RUN_KEYS = ("lab_version", "data", "n_tweets", "models", "generator", "labels_changed",
             "wandb_mode")

_SUMMARY_CSV_COLUMNS = ("notebook", "problem", "error", "self_check", *DELIVERABLES, "own_slices",
                        "notes_done", "hypothesis_text", "own_cases", "case_scores",
                        "answers_done", *_RUN_KEYS, "overall", "differs_from_self_check")

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), @SUM(...)).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MISSING = "missing"

NEEDS_RUNNING = "needs running"


def _strip_magics(source):
    """Turn IPython magic/shell lines (%…, !…) into ``pass`` (same indent) so that ``ast`` can parse a cell."""
    return _MAGIC_LINE_RE.sub(lambda m: m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())] + "pass", source)


def _is_add_slice(node):
    """True for ``lab.add_slice(...)`` / ``add_slice(...)`` (a decorator or a call)."""
    target = node.func if isinstance(node, ast.Call) else node
    return ((isinstance(target, ast.Attribute) and target.attr == "add_slice")
            or (isinstance(target, ast.Name) and target.id == "add_slice"))


def _registers_in_slices(decorator):
    """``@lab.add_slice(slices)``: the decorator adds to the notebook's ``slices`` registry."""
    return (isinstance(decorator, ast.Call) and _is_add_slice(decorator) and len(decorator.args) == 1
            and isinstance(decorator.args[0], ast.Name) and decorator.args[0].id == "slices")


def _calls(node, name):
    """``name()`` or ``something.name()`` without arguments."""
    if not isinstance(node, ast.Call) or node.args or node.keywords:
        return False
    func = node.func
    return ((isinstance(func, ast.Name) and func.id == name)
            or (isinstance(func, ast.Attribute) and func.attr == name))


def _calls_function(node, name):
    """``name(...)`` or ``something.name(...)``, whatever the arguments."""
    return isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == name


def _tracked(node):
    return isinstance(node, ast.Name) and node.id in _TRACKED


def _literal(node):
    """(True, value) for a literal expression, else (False, None)."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


class _Sources:
    """What the code cells, read top to bottom without running, say about the deliverables' variables.

    ``values``: literal values; ``unknown``: variables last set by code only running can evaluate
    (name -> "cell N"); ``slices``: slice name -> description ("" none, None unknown), None when no
    cell builds the registry; ``replaced``: shipped slices re-registered under their name.
    """

    def __init__(self):
        self.values, self.unknown, self.functions = {}, {}, {}
        self.slices, self.replaced, self.unreadable = None, [], []

    def read(self, cells):
        for index, cell in enumerate(cells):
            if cell.get("cell_type") != "code":
                continue
            source = _as_text(cell.get("source", ""))
            try:
                tree = ast.parse(_strip_magics(source))
            except SyntaxError:
                self.unreadable.append(f"cell {index} (not valid Python)")
                for name in _TRACKED:
                    if re.search(rf"\b{name}\b", source):
                        self._lose(name, index)
                continue
            for statement in tree.body:
                self._statement(statement, index)
        return self

    def _lose(self, name, index):
        self.unknown[name] = f"cell {index}"
        if name == "slices":
            self.slices = None
        else:
            self.values.pop(name, None)

    def _statement(self, node, index):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.functions[node.name] = (ast.get_docstring(node) or "").strip().split("\n")[0].strip()
            if any(map(_registers_in_slices, node.decorator_list)):
                self._register(node.name, self.functions[node.name], index)
            elif any(map(_is_add_slice, node.decorator_list)):
                self._lose("slices", index)
            return
        target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
                  else node.target if isinstance(node, ast.AnnAssign) and node.value else None)
        if _tracked(target):
            return self._assign(target.id, node.value, index)
        if isinstance(target, ast.Tuple) and _calls_function(node.value, "generate_cases") \
                and GENERATOR_VARIABLE in self.values and self.values[GENERATOR_VARIABLE] is None:
            return  # no generator: generate_cases hands back the pasted GENERATED_CASES_TEXT unchanged
        if isinstance(target, ast.Subscript) and _tracked(target.value):
            return self._set_item(target.value.id, target.slice, node.value, index)
        if isinstance(node, ast.Delete) and all(isinstance(t, ast.Subscript) and _tracked(t.value)
                                                for t in node.targets):
            for t in node.targets:
                self._del_item(t.value.id, t.slice, index)
            return
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Call) and _registers_in_slices(
                call.func) and len(call.args) == 1 and isinstance(call.args[0], ast.Name) \
                and call.args[0].id in self.functions:              # lab.add_slice(slices)(fn)
            return self._register(call.args[0].id, self.functions[call.args[0].id], index)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and _tracked(call.func.value):
            name, method = call.func.value.id, call.func.attr
            if method == "pop" and call.args and not call.keywords:
                return self._del_item(name, call.args[0], index)
            if method == "update" and len(call.args) == 1 and not call.keywords and isinstance(
                    call.args[0], ast.Dict) and None not in call.args[0].keys:
                for key, value in zip(call.args[0].keys, call.args[0].values):
                    self._set_item(name, key, value, index)
                return
        self._anything_else(node, index)

    def _anything_else(self, node, index):
        """Any other statement that sets or changes a followed variable makes it unknown."""
        for part in ast.walk(node):
            if isinstance(part, ast.Name) and isinstance(part.ctx, (ast.Store, ast.Del)) and _tracked(part):
                self._lose(part.id, index)
            elif isinstance(part, ast.Subscript) and isinstance(part.ctx, (ast.Store, ast.Del)) \
                    and _tracked(part.value):
                self._lose(part.value.id, index)
            elif isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute) \
                    and _tracked(part.func.value) and part.func.attr in _MUTATING_METHODS:
                self._lose(part.func.value.id, index)
            elif isinstance(part, ast.Call) and _is_add_slice(part):
                self._lose("slices", index)

    def _assign(self, name, value, index):
        if name == "slices":
            if _calls(value, "default_slices"):
                self.slices, self.replaced = {n: _describe(fn) for n, fn in default_slices().items()}, []
            elif isinstance(value, ast.Dict) and all(k is not None and _literal(k)[0] for k in value.keys):
                self.slices = {ast.literal_eval(k): self._describe_expr(v)
                               for k, v in zip(value.keys, value.values)}
                self.replaced = [n for n in self.slices if n in shipped_slice_names()]
            else:
                return self._lose(name, index)
            self.unknown.pop(name, None)
            return
        ok, literal = _literal(value)
        if not ok:
            return self._lose(name, index)
        self.values[name] = literal
        self.unknown.pop(name, None)

    def _describe_expr(self, node):
        if isinstance(node, ast.Lambda):
            return ""
        if isinstance(node, ast.Name):
            return self.functions.get(node.id)
        return None

    def _register(self, name, description, index):
        if "slices" in self.unknown:
            return
        if self.slices is None:
            return self._lose("slices", index)
        if name in shipped_slice_names() and name not in self.replaced:
            self.replaced.append(name)
        self.slices[name] = description

    def _set_item(self, name, key_node, value, index):
        if name in self.unknown:
            return
        ok, key = _literal(key_node)
        if not ok:
            return self._lose(name, index)
        if name == "slices":
            return self._register(key, self._describe_expr(value), index)
        container, (ok, literal) = self.values.get(name), _literal(value)
        if not isinstance(container, dict) or not ok:
            return self._lose(name, index)
        container[key] = literal

    def _del_item(self, name, key_node, index):
        if name in self.unknown:
            return
        ok, key = _literal(key_node)
        container = self.slices if name == "slices" else self.values.get(name)
        if not ok or not isinstance(container, dict):
            return self._lose(name, index)
        container.pop(key, None)
        if name == "slices" and key in self.replaced:
            self.replaced.remove(key)


def _parse_pasted_cases(text):
    """(texts, labels) of a pasted GENERATED_CASES_TEXT, through the notebook's own parser."""
    from ..paste import parse_generated_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cases = parse_generated_cases(text, expected_n=None)
        except (ValueError, TypeError):
            return [], []
    return list(cases["text"]), list(cases["expected_label"].astype(object))


def _source_verdicts(src):
    """Each deliverable judged from the sources alone (``passed`` None: only running tells)."""
    def by_code(name):
        return f"set by code in {src.unknown[name]}, so only running the notebook tells"

    verdicts = {"wandb": Verdict(None, "what the W&B run holds is only known by running the notebook")}
    verdicts["slices"] = (Verdict(None, f"the slices are {by_code('slices')}") if "slices" in src.unknown
                          else judge_slices(src.slices, replaced=src.replaced))
    if "slices" in src.unknown or "saved_slice_notes" in src.unknown:
        which = "saved_slice_notes" if "saved_slice_notes" in src.unknown else "slices"
        verdicts["notes"] = Verdict(None, f"the {which} are {by_code(which)}")
    else:
        verdicts["notes"] = judge_notes(None if src.slices is None else list(src.slices),
                                        src.values.get("saved_slice_notes"))
    verdicts["hypothesis"] = (Verdict(None, f"HYPOTHESIS is {by_code('HYPOTHESIS')}")
                              if "HYPOTHESIS" in src.unknown
                              else judge_hypothesis(src.values.get("HYPOTHESIS")))
    pasted = src.values.get("GENERATED_CASES_TEXT")
    verdicts["cases"] = (judge_cases(*_parse_pasted_cases(pasted), scored=False)
                         if isinstance(pasted, str)
                         else Verdict(None, "the cases come from code, so only running tells"))
    verdicts["discussion"] = (Verdict(None, f"DISCUSSION_ANSWERS are {by_code('DISCUSSION_ANSWERS')}")
                              if "DISCUSSION_ANSWERS" in src.unknown
                              else judge_discussion(src.values.get("DISCUSSION_ANSWERS")))
    return {name: verdicts[name] for name in DELIVERABLES}


def _load_record(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    ok = (isinstance(value, dict) and value.get("schema") == RECORD_SCHEMA
          and isinstance(value.get("deliverables"), dict))
    return value if ok else None


def _first_line(source):
    return next((line.strip() for line in _as_text(source).splitlines() if line.strip()), "")


def _read_outputs(cells):
    """(the last self-check record, the errors shown, the printed ``Overall:`` lines)."""
    record, errors, overall = None, [], []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                errors.append({"cell": index, "execution_count": cell.get("execution_count"),
                               "ename": _as_text(output.get("ename", "")),
                               "evalue": _as_text(output.get("evalue", "")),
                               "source": _first_line(cell.get("source", ""))})
            elif kind in ("display_data", "execute_result") and RECORD_MIME in output.get("data", {}):
                record = _load_record(output["data"][RECORD_MIME]) or record
            elif kind == "stream":
                overall += [line.strip() for line in _as_text(output.get("text", "")).splitlines()
                            if line.strip().startswith("Overall:")]
    return record, errors, overall


def _count(value) -> str:
    """A count with thousands separators (``12,284``); anything else as it is (``needs running``)."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _overall_lines(overall):
    return [f"Overall: {model} accuracy {v.get('accuracy', float('nan')):.3f}, macro-F1 "
            f"{v.get('macro_f1', float('nan')):.3f} (n = {_count(int(v['n'])) if v.get('n') is not None else '?'})"
            for model, v in overall.items()]


def _run_from_sources(src):
    run = dict.fromkeys(_RUN_KEYS, NEEDS_RUNNING)
    if GENERATOR_VARIABLE in src.values:
        generator = src.values[GENERATOR_VARIABLE]
        run["generator"] = "none (copy-paste)" if generator is None else str(generator)
    elif GENERATOR_VARIABLE not in src.unknown:
        run["generator"] = UNKNOWN
    fixes = src.values.get(LABEL_FIXES_VARIABLE)
    if isinstance(fixes, dict):
        run["labels_changed"] = len(fixes)
    elif LABEL_FIXES_VARIABLE not in src.unknown:
        run["labels_changed"] = UNKNOWN
    return run


def _empty_summary(path, problem=None):
    return {"notebook": str(path), "problem": problem, "error": None, "errors": 0,
            "self_check": None, "run": dict.fromkeys(_RUN_KEYS, NEEDS_RUNNING), "parameters": {},
            "deliverables": {}, "from_sources": {}, "differs": [], "overall": [], "keys": [],
            "unreadable": []}


def summarize_notebook(path):
    """Read a saved lab 4 notebook (executed, cleared, or stopped by an error) without running it.

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file.

    Returns
    -------
    dict
        ``problem``: None for a readable lab 4 notebook, else one line (unreadable, malformed JSON,
        not lab 4). ``deliverables``: for each of DELIVERABLES, ``status`` ("PASS", "FAIL" or
        "needs running"), ``message``, ``facts`` (as in :mod:`lab4.deliverables`) and ``from``
        ("self-check": its saved record; "sources": the cells read without running).
        ``from_sources``: the sources' own :class:`~lab4.deliverables.Verdict` per deliverable;
        ``differs``: deliverables where the saved self-check and the sources disagree (cells edited
        after it ran). ``error``: the first error shown ({cell, execution_count, ename, evalue,
        source}) and ``errors`` their number. ``self_check``: "done/total" from the record, or None.
        ``run``: lab_version, data, n_tweets, models, generator, labels_changed, wandb_mode (from
        the record; "needs running" without it; "unknown" where the notebook has no such setting).
        ``parameters``: literal values of the parameters cells. ``overall``: headline lines.
        ``keys``: masked API keys the self-check warned about. ``unreadable``: cells that are not
        valid Python.
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
    if not any(cell.get("cell_type") == "code" and _LAB_IMPORT_RE.search(_as_text(cell.get("source", "")))
               for cell in cells):
        return _empty_summary(path, "not a lab 4 notebook (no `import lab4_helpers` cell)")
    src = _Sources().read(cells)
    record, errors, printed_overall = _read_outputs(cells)
    summary = _empty_summary(path)
    summary["from_sources"] = _source_verdicts(src)
    saved = record["deliverables"] if record else {}
    for name, verdict in summary["from_sources"].items():
        entry = saved.get(name)
        if isinstance(entry, dict) and "passed" in entry:
            passed, message, facts, origin = (bool(entry["passed"]), str(entry.get("message", "")),
                                              entry.get("facts") or {}, "self-check")
            if verdict.passed is not None and verdict.passed != passed:
                summary["differs"].append(name)
        else:
            passed, message, facts, origin = verdict.passed, verdict.message, verdict.facts, "sources"
        status = NEEDS_RUNNING if passed is None else "PASS" if passed else "FAIL"
        summary["deliverables"][name] = {"status": status, "message": message, "facts": facts,
                                         "from": origin}
    summary["error"], summary["errors"] = (errors[0] if errors else None), len(errors)
    summary["parameters"] = {name: src.values[name] for name in _PARAMETERS if name in src.values}
    if record:
        summary["self_check"] = f"{record.get('done', '?')}/{record.get('total', '?')}"
        run = record.get("run") or {}
        summary["run"] = {key: run.get(key, UNKNOWN) for key in _RUN_KEYS}
        summary["keys"] = record.get("keys") or []
    else:
        summary["run"] = _run_from_sources(src)
    overall = (record or {}).get("run", {}).get("overall")
    summary["overall"] = printed_overall or (_overall_lines(overall) if isinstance(overall, dict) else [])
    summary["unreadable"] = src.unreadable
    return summary


# ----------------------------------------------------------------------------- printing

def _fact(summary, name, key, show=lambda v: v, *, only_by_running=False):
    """One fact of a deliverable for the report/CSV; "needs running" or "missing" when absent."""
    entry = summary["deliverables"].get(name, {})
    facts = entry.get("facts") or {}
    if facts.get(key) is not None:
        return show(facts[key])
    unknown = entry.get("status") == NEEDS_RUNNING or (only_by_running and entry.get("from") == "sources")
    return NEEDS_RUNNING if unknown else MISSING


def _done(facts):
    return f"{facts['done']}/{facts['total']}"


def _scores(scores):
    n = scores.get("labelled", "?")
    return ", ".join(f"{model} {scores[model]}/{n}" for model in ("baseline", "candidate") if model in scores)


def _cut(text, limit, at_space=True):
    """``text`` kept to ``limit`` characters, marked with an ellipsis when shortened (cut at a space: words).

    >>> _cut("short enough", 20), _cut("one two three four", 10), _cut("x = f(a, b)", 7, at_space=False)
    ('short enough', 'one two …', 'x = f(a…')
    """
    text = str(text)
    if len(text) <= limit:
        return text
    head = text[:limit]
    return (head[:head.rfind(" ") + 1] if at_space and " " in head else head) + "…"


def _error_line(error):
    count = f" (In [{error['execution_count']}])" if error.get("execution_count") else ""
    return (f"cell {error['cell']}{count} `{_cut(error['source'], 60, at_space=False)}`: {error['ename']}: "
            f"{_cut(error['evalue'], 400)}")


def _models(models):
    return ", ".join(f"{role} {model}" for role, model in models.items()) if isinstance(models, dict) else str(models)


def _format_summary(summary):
    """The readable report printed by ``summary`` for one notebook."""
    s = summary
    if s["problem"]:
        return f"{s['notebook']}: {s['problem']}"
    run, d = s["run"], s["deliverables"]
    step7 = f"Step 7 generator: {run['generator']}, labels changed: {run['labels_changed']}"
    out = [f"== {s['notebook']} ==",
           f"Lab {run['lab_version']}; data: {run['data']} ({_count(run['n_tweets'])} tweets); models: "
           f"{_models(run['models'])}; {step7}; W&B mode: {run['wandb_mode']}" if s["self_check"]
           else f"Run (lab version, data, models, W&B mode): {NEEDS_RUNNING}; {step7}"]
    if s["parameters"]:
        out.append("Parameters: " + ", ".join(f"{k}={v!r}" for k, v in s["parameters"].items()))
    if s["error"]:
        more = f" ({s['errors'] - 1} more)" if s["errors"] > 1 else ""
        out.append(f"Error: {_error_line(s['error'])}{more}")
    if s["self_check"]:
        out.append(f"Self-check: {s['self_check']} (its saved record)")
    else:
        why = "stopped before it" if s["error"] else "not run in this copy"
        out.append(f"Self-check: {MISSING} ({why}); judged from the cells:")
    out += [f"  [{entry['status']}] {name}: {entry['message']}" for name, entry in d.items()]
    if s["differs"]:
        out.append(f"Differs from the saved self-check: {', '.join(s['differs'])} (cells edited "
                   "after it ran?): " + "; ".join(f"{n}: {s['from_sources'][n].message}"
                                                   for n in s["differs"]))
    out += [f"  [WARN] API key in {k['where']}: {k['token']} ({k['why']})" for k in s["keys"]]
    out.append(f"Own slices: {_fact(s, 'slices', 'own', lambda v: ', '.join(v) or 'none')}")
    notes = (d["notes"].get("facts") or {}).get("notes")
    if isinstance(notes, list):
        out.append(f"Slice notes ({_fact(s, 'notes', 'done', lambda _: _done(d['notes']['facts']))} "
                   "slices have a written note):")
        out += [f"  {name}: {note}" + ("" if note_written(note) else "   [not done]")
                for name, note in notes]
    else:
        out.append(f"Slice notes: {d['notes']['message']}")
    out.append("Headline metrics:" if s["overall"] else f"Headline metrics: {NEEDS_RUNNING}")
    out += [f"  {line}" for line in s["overall"]]
    hypothesis = _fact(s, "hypothesis", "text")
    sample = " (our SAMPLE)" if (d["hypothesis"].get("facts") or {}).get("sample") else ""
    out.append(f"Hypothesis{sample}: {hypothesis}")
    out.append(f"Generated cases: {_fact(s, 'cases', 'own')} of the student's own, "
               f"{_fact(s, 'cases', 'sample')} of our sample; correct: "
               f"{_fact(s, 'cases', 'scores', _scores, only_by_running=True)}")
    answers = (d["discussion"].get("facts") or {}).get("answers") or {}
    out.append(f"Discussion answers ({_fact(s, 'discussion', 'done', lambda _: _done(d['discussion']['facts']))}"
               " written):")
    out += [f"  {key}: {answers.get(key) or MISSING}" for key in DISCUSSION_KEYS]
    if s["unreadable"]:
        out.append(f"Could not read without running: {', '.join(s['unreadable'])}")
    return "\n".join(out)


def _spreadsheet_safe(value):
    """A CSV field a spreadsheet shows as text: a leading =, +, -, @, tab or CR gets a ' before it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_row(summary, root):
    s = summary
    try:
        name = str(Path(s["notebook"]).relative_to(root))
    except ValueError:
        name = s["notebook"]
    row = dict.fromkeys(_SUMMARY_CSV_COLUMNS, "")
    row.update(notebook=name, problem=s["problem"] or "")
    if not s["problem"]:
        d = s["deliverables"]
        row.update({name: entry["status"] for name, entry in d.items()})
        row.update({key: (_models(value) if key == "models" else value) for key, value in s["run"].items()})
        row.update(
            error=_error_line(s["error"]) if s["error"] else "",
            self_check=s["self_check"] or NEEDS_RUNNING,
            own_slices=_fact(s, "slices", "own", len),
            notes_done=_fact(s, "notes", "done", lambda _: _done(d["notes"]["facts"])),
            hypothesis_text=_fact(s, "hypothesis", "text"),
            own_cases=_fact(s, "cases", "own"),
            case_scores=_fact(s, "cases", "scores", _scores, only_by_running=True),
            answers_done=_fact(s, "discussion", "done", lambda _: _done(d["discussion"]["facts"])),
            overall=" | ".join(s["overall"]) or NEEDS_RUNNING,
            differs_from_self_check=", ".join(s["differs"]))
    return {key: _spreadsheet_safe(value) for key, value in row.items()}


def _summary_command(path, csv_path, html_path=None):
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
        elif not csv_path and not html_path:
            print(_format_summary(summary) + "\n")
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_SUMMARY_CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(_csv_row(summary, root) for summary in summaries)
        print(f"summary: wrote {len(summaries)} rows to {csv_path}")
    if html_path:
        from .classpage import write_class_page
        written = write_class_page(summaries, root, html_path)
        print(f"summary: wrote the class page ({len(summaries)} notebooks) to {written}; open it in any browser")
    return 1 if not path.is_dir() and summaries[0]["problem"] else 0


# ----------------------------------------------------------------------------- where

def _where_command(path: Path) -> int:
    """Print where ``make lab`` left things: the executed notebook, the W&B run and its plot images.

    A relative run folder is resolved where the notebook's kernel ran: the folder the self-check
    recorded, else the notebook's own folder (where Jupyter starts a notebook's kernel).
    """
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
    record, _, _ = _read_outputs(nb.cells)
    run = (record or {}).get("run") or {}
    run_dir = run.get("run_dir") or next((m.group(1) for m in map(re.compile(r"saved in (\S+)").search,
                                                                   run_lines) if m), None)
    bases = [Path(run["cwd"])] if run.get("cwd") else []
    bases.append(Path(path).resolve().parent)
    folder = (next((base / run_dir for base in bases if (base / run_dir).is_dir()), bases[-1] / run_dir)
              if run_dir else None)
    if folder is None:
        pass
    elif folder.is_dir():
        images = sorted(folder.glob("files/media/images/**/*.png"))
        print(f"Plots: inline in the notebook, and {len(images)} image(s) in {folder}/files/media/images")
    else:
        print(f"Plots: inline in the notebook; the run folder {run_dir} is not at {folder} (it is "
              "relative to the folder the notebook ran in)")
    reports = [p for p in (Path(run["report"]) if run.get("report") else None,
                           folder / REPORT_NAME if folder else None,
                           Path(path).resolve().parent / REPORT_NAME) if p is not None and p.is_file()]
    if reports:
        print("Slice report (opens offline in any browser): " + ", ".join(dict.fromkeys(map(str, reports))))
    else:
        print("Slice report: not found (the cell that finishes the W&B run writes it)")
    return 0
