"""Instructor release: strip outputs and runner state, refuse notebooks that hold keys.
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path

from ..keyscan import _as_text, _find_keys, _output_texts


# Release: notebook-level metadata is an allow-list. Everything else (widgets state, colab,
# papermill, vscode, toc, ...) is editor/runner state that changes on every run or machine.
RELEASE_KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")

# Release: cell-level metadata is a deny-list (tags, editable, deletable, jupyter.source_hidden are
# instructor decisions and stay): UI state, execution timings, runner bookkeeping.
RELEASE_STRIP_CELL_METADATA = ("collapsed", "scrolled", "ExecuteTime", "execution", "papermill",
                               "colab", "executionInfo", "outputId", "trusted")


def _scan_notebook_for_keys(nb):
    """Return ["cell 3 (id 'x') stream output (stdout) line 2: 'abcd…' (why)", ...]."""
    findings = []
    for index, cell in enumerate(nb.cells):
        where_cell = f"cell {index} (id {cell.get('id', '?')!r})"
        places = [("source", _as_text(cell.get("source", "")))]
        for number, output in enumerate(cell.get("outputs", [])):
            places += [(f"output {number} {where}", text) for where, text in _output_texts(output)]
        for where, text in places:
            findings += [f"{where_cell} {where} line {line}: {masked!r} ({why})"
                         for line, masked, why in _find_keys(text)]
    return findings


def _read_notebook(path):
    """Parse a notebook file with nbformat, without validating or repairing it (v4 in memory)."""
    import nbformat

    text = Path(path).read_text(encoding="utf-8")
    nb = nbformat.reader.reads(text)          # raises NotJSONError (a ValueError) on bad JSON
    if nb.get("nbformat") != 4:
        nb = nbformat.convert(nb, 4)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no 'cells' list found; is this a Jupyter notebook?")
    return text, nb


def _notebook_text(nb):
    import nbformat

    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _released_copy(nb):
    """Return (release-clean copy of ``nb``, [reasons the original was not release-clean])."""
    import nbformat

    nb = copy.deepcopy(nb)
    reasons = []
    extra = sorted(set(nb.metadata) - set(RELEASE_KEEP_NOTEBOOK_METADATA))
    if extra:
        reasons.append(f"volatile notebook metadata: {', '.join(extra)}")
    with_outputs, with_counts, volatile = [], [], set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                with_outputs.append(index)
            if cell.get("execution_count") is not None:
                with_counts.append(index)
            cell.outputs, cell.execution_count = [], None
        volatile.update(key for key in RELEASE_STRIP_CELL_METADATA if key in cell.metadata)
        for key in RELEASE_STRIP_CELL_METADATA:
            cell.metadata.pop(key, None)
    if with_outputs:
        reasons.append(f"outputs in {len(with_outputs)} cells: {with_outputs}")
    if with_counts:
        reasons.append(f"execution counts in {len(with_counts)} cells: {with_counts}")
    if volatile:
        reasons.append(f"volatile cell metadata: {', '.join(sorted(volatile))}")
    if nb.nbformat_minor < 5:
        reasons.append(f"nbformat 4.{nb.nbformat_minor} has no cell ids (upgrading to 4.5)")
        nb = nbformat.v4.upgrade(nb)
    else:
        ids = [cell.get("id") for cell in nb.cells]
        if None in ids or len(set(ids)) < len(ids):
            reasons.append("missing or duplicate cell ids (adding/repairing only those)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # nbformat warns about each id it adds
        _, nb = nbformat.validator.normalize(nb)
    nb = nbformat.from_dict(nb)
    for key in set(nb.metadata) - set(RELEASE_KEEP_NOTEBOOK_METADATA):
        del nb.metadata[key]                  # also drops orig_nbformat_minor from upgrade()
    return nb, reasons


def release_notebook(path, *, check=False):
    """Make the lab notebook release-clean in place, or (``check=True``) only report what isn't.

    Release clears every output and execution count, keeps only ``kernelspec`` and
    ``language_info`` in the notebook metadata (RELEASE_KEEP_NOTEBOOK_METADATA), drops UI and
    runner state from cell metadata (RELEASE_STRIP_CELL_METADATA; tags stay) and keeps cell ids:
    ids are only added where missing (nbformat < 4.5 is upgraded) or repaired where duplicated,
    via ``nbformat.validator.normalize``. Writing is idempotent: a second run is byte-identical.

    It refuses to write (exit status 1) when a cell's source, stream output, error traceback or
    output data contains something that looks like a W&B API key, and names the cell index, id,
    place and line, showing only the first 4 characters of the token. The rule, applied to whole
    runs of ``[A-Za-z0-9_-]`` characters (ANSI colour codes removed first):

    1. a run of 40+ such characters given as the value of ``api_key`` or ``WANDB_API_KEY``
       (any case; ``= value``, ``: value``, ``["..."] = "value"``) or of ``wandb.login(key=...)``
       is a key;
    2. ``name-`` followed by exactly 40 hex characters (e.g. ``local-<40 hex>``) is a key;
    3. a bare run of exactly 40 hex characters is a key, *unless* it is a git SHA/digest: the
       nearest word before it on the same line (only spaces, quotes, ``= : ( [ ] { } ,`` in between)
       has a ``_``/``.``-separated part in SHA_CONTEXT_WORDS (``commit <sha>``,
       ``GIT_COMMIT = "<sha>"``, ``sha1: <sha>``), or it sits in a URL path
       (``https://github.com/o/r/commit/<sha>``, ``git+https://…@<sha>``).

    So a key printed on its own (``print(key)``, ``cat ~/.netrc``) is caught; the price is that
    a bare SHA printed without context (``!git rev-parse HEAD``) is refused too: print it as
    ``commit <sha>``. Rules 1-2 win over the SHA exemption.

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file; rewritten in place unless ``check``.
    check : bool
        Change nothing; list the reasons the notebook is not release-clean (outputs, execution
        counts, volatile metadata, missing cell ids, possible keys).

    Returns
    -------
    int
        Exit status: 0 released / already clean, 1 key found or (check) not clean, 2 unreadable.
    """
    path = Path(path)
    try:
        text, nb = _read_notebook(path)
    except Exception as error:     # noqa: BLE001 - any unreadable file is one clear CLI message
        print(f"release: cannot read {path} as a notebook ({type(error).__name__}: {error}); "
              "is it a saved .ipynb?", file=sys.stderr)
        return 2
    keys = _scan_notebook_for_keys(nb)
    released, reasons = _released_copy(nb)
    if check:
        problems = [f"possible W&B API key in {finding}" for finding in keys] + reasons
        if not problems:
            print(f"{path}: release-clean")
            return 0
        print(f"{path}: not release-clean:")
        print("\n".join(f"  - {problem}" for problem in problems))
        print(f"  Run `python lab4_helpers.py release {path}` (after removing any key).")
        return 1
    if keys:
        print(f"release: refusing to write {path}: it holds what looks like a W&B API key:",
              file=sys.stderr)
        print("\n".join(f"  - {finding}" for finding in keys), file=sys.stderr)
        print("  Remove it (log in with wandb.login() or the WANDB_API_KEY environment variable "
              "instead), revoke it at https://wandb.ai/authorize since it was saved, and rerun.",
              file=sys.stderr)
        return 1
    new_text = _notebook_text(released)
    if new_text == text:
        print(f"{path}: already release-clean, nothing written")
        return 0
    path.write_text(new_text, encoding="utf-8")
    print(f"{path}: released ({'; '.join(reasons) or 'reformatted by nbformat'})")
    return 0
