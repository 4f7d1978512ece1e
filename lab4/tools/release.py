"""Instructor release: strip outputs, runner state and papermill's injected parameters; keep cell ids
(Colab's included); refuse notebooks that hold API keys or unfilled instructor settings.
"""

from __future__ import annotations

import copy
import re
import sys
import warnings
from pathlib import Path

from ..keyscan import find_keys, scan_notebook_text


# Release: notebook-level metadata is an allow-list. Everything else (widgets state, colab,
# papermill, vscode, toc, ...) is editor/runner state that changes on every run or machine.
RELEASE_KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info")

# Release: cell-level metadata is a deny-list (tags, editable, deletable, jupyter.source_hidden are
# instructor decisions and stay): UI state, execution timings, runner bookkeeping. An empty tags
# list (papermill adds one to every cell) goes too.
# (Colab's cell ``metadata.id`` is handled apart: it becomes the cell id or is dropped, see
# _released_copy.)
RELEASE_STRIP_CELL_METADATA = ("collapsed", "scrolled", "ExecuteTime", "execution", "papermill",
                               "colab", "colab_type", "executionInfo", "outputId", "trusted")

# Cells that runners add and release removes, by tag: papermill's injected parameters (its values
# would become the students' defaults) and the error banners papermill adds when a run fails.
RELEASE_DROP_CELL_TAGS = {"injected-parameters": "papermill's injected-parameters cell",
                          "papermill-error-cell-tag": "papermill's error banner cell"}

# Instructor settings in the Colab setup cell that must be filled in before release: an
# assignment whose value is still a string literal starting with "<fill in".
RELEASE_REQUIRED_SETTINGS = ("COURSE_REPO", "COURSE_REF")

_PLACEHOLDER_RE = re.compile(
    r"""^[ \t]*(?P<name>%s)[ \t]*(?::[^=\n]*)?=[ \t]*[rRuUbBfF]{0,2}(?P<q>["']{1,3})
        (?P<value><fill[ \t]+in[^\n]*?)(?P=q)""" % "|".join(RELEASE_REQUIRED_SETTINGS),
    re.MULTILINE | re.VERBOSE)

# nbformat 4.5's rule for cell ids (nbformat.v4.5.schema.json).
_CELL_ID_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def _scan_notebook_for_keys(text):
    """Return ["cell 3 (id 'x') output 0 stream output (stdout) line 2: 'abcd…' (why)", ...]."""
    return [f"{where} line {line}: {masked!r} ({why})"
            for where, line, masked, why in scan_notebook_text(text)]


def _unfilled_settings(nb):
    """Return one line per RELEASE_REQUIRED_SETTINGS assignment still holding its ``<fill in`` text."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for match in _PLACEHOLDER_RE.finditer(source):
            line = source.count("\n", 0, match.start("name")) + 1
            found.append(f"{match.group('name')} is not filled in: cell {index} (id "
                         f"{cell.get('id', '?')!r}) line {line} still says {match.group('value')!r}; "
                         f"set {match.group('name')} there before releasing")
    return found


def _parameters_summary(cell):
    """The assignments in a papermill injected-parameters cell, values of key-like ones hidden."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    lines = [line.strip() for line in source.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    shown = [line.split("=")[0].strip() + " = <key, not shown>" if find_keys(line) else line
             for line in lines]
    text = "; ".join(shown) or "empty"
    return text if len(text) <= 160 else text[:157] + "..."


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
    kept = []
    for index, cell in enumerate(nb.cells):
        tag = next((t for t in cell.get("metadata", {}).get("tags", []) if t in RELEASE_DROP_CELL_TAGS),
                   None)
        if tag is None:
            kept.append(cell)
            continue
        what = f" ({_parameters_summary(cell)})" if tag == "injected-parameters" else ""
        reasons.append(f"{RELEASE_DROP_CELL_TAGS[tag]} {index}{what}, removed on release")
    nb.cells = kept
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
        if cell.metadata.get("tags") == []:      # papermill adds an empty list to every cell
            volatile.add("empty tags")
            del cell.metadata["tags"]
    if with_outputs:
        reasons.append(f"outputs in {len(with_outputs)} cells: {with_outputs}")
    if with_counts:
        reasons.append(f"execution counts in {len(with_counts)} cells: {with_counts}")
    if volatile:
        reasons.append(f"volatile cell metadata: {', '.join(sorted(volatile))}")
    if nb.nbformat_minor < 5:
        reasons.append(f"nbformat 4.{nb.nbformat_minor} has no cell ids (upgrading to 4.5)")
        had_id = [False] * len(nb.cells)
        nb = nbformat.v4.upgrade(nb)
    else:
        ids = [cell.get("id") for cell in nb.cells]
        had_id = [cell_id is not None for cell_id in ids]
        if None in ids or len(set(ids)) < len(ids):
            reasons.append("missing or duplicate cell ids (adding/repairing only those)")
    moved, dropped = _colab_ids(nb, had_id)
    if moved:
        reasons.append(f"Colab's metadata.id in {moved} cells, now their cell ids")
    if dropped:
        reasons.append(f"Colab's metadata.id in {dropped} cells, dropped (the cell ids stay)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # nbformat warns about each id it adds
        _, nb = nbformat.validator.normalize(nb)
    nb = nbformat.from_dict(nb)
    for key in set(nb.metadata) - set(RELEASE_KEEP_NOTEBOOK_METADATA):
        del nb.metadata[key]                  # also drops orig_nbformat_minor from upgrade()
    return nb, reasons


def _colab_ids(nb, had_id):
    """Move Colab's ``metadata.id`` to the cell id where the cell had none; drop it elsewhere.

    Colab keeps a cell's id in ``metadata.id`` (its notebooks are nbformat 4.0, without cell ids),
    so those are the notebook's real ids: a cell without an id of its own (``had_id`` False) takes
    its ``metadata.id`` when nbformat allows it and no other cell uses it. Returns (moved, dropped).
    """
    used = {cell.id for cell, had in zip(nb.cells, had_id) if had}
    moved = dropped = 0
    for cell, had in zip(nb.cells, had_id):
        meta_id = cell.metadata.pop("id", None)
        if meta_id is None:
            continue
        if not had and isinstance(meta_id, str) and _CELL_ID_RE.fullmatch(meta_id) \
                and meta_id not in used:
            cell.id = meta_id
            used.add(meta_id)
            moved += 1
        else:
            dropped += 1
    return moved, dropped


def release_notebook(path, *, check=False, source=False):
    """Make the lab notebook release-clean in place, or (``check=True``) only report what isn't.

    Release clears every output and execution count, keeps only ``kernelspec`` and
    ``language_info`` in the notebook metadata (RELEASE_KEEP_NOTEBOOK_METADATA), drops UI and
    runner state from cell metadata (RELEASE_STRIP_CELL_METADATA; tags stay), removes the cells
    papermill adds (RELEASE_DROP_CELL_TAGS: its ``injected-parameters`` cell, whose values would
    become the students' defaults, and its error banners) and keeps cell ids: ids are only added
    where missing (nbformat < 4.5 is upgraded) or repaired where duplicated, via
    ``nbformat.validator.normalize``; a Colab-saved cell without an id takes its ``metadata.id``
    (Colab's id), and Colab's ``metadata.id`` is dropped from cells that have an id. Writing is
    idempotent: a second run is byte-identical.

    It refuses to write (exit status 1) when

    * any string in the file (walking the whole JSON: sources, outputs of every kind, cell
      attachments, cell and notebook metadata; base64 attachment and binary output payloads are
      decoded and scanned too) holds something that looks like an API key. It names the cell
      index, id, place and line, showing only the first 4 characters of the token;
    * a code cell still assigns a RELEASE_REQUIRED_SETTINGS name (``COURSE_REPO``,
      ``COURSE_REF``) a string starting with ``<fill in``; it names the setting to fill in.

    The key rule (``lab4.keyscan.find_keys``), applied to whole runs of ``[A-Za-z0-9_-]``
    characters (ANSI colour codes removed first):

    1. a run of 40+ such characters given as the value of ``api_key`` or ``WANDB_API_KEY``
       (any case, so ``OPENAI_API_KEY`` too; ``= value``, ``: value``, ``["..."] = "value"``) or of
       ``wandb.login(key=...)`` is a key;
    2. a run that is, as a whole, one of the provider formats in ``lab4.keyscan.KEY_FORMATS``
       (OpenAI ``sk-…T3BlbkFJ…`` and ``sk-proj-…``, Anthropic ``sk-ant-…``, Hugging Face ``hf_``,
       Google ``AIza``, GitHub ``ghp_``/``github_pat_``…, Groq ``gsk_``, W&B ``wandb_v1_``) with
       that provider's length and charset and a random-looking body is a key; ``sk-learn``,
       ``hf_hub_download``, ``task-…`` or ``hf_xxxx…`` placeholders are not;
    3. ``name-`` followed by exactly 40 hex characters (e.g. ``local-<40 hex>``) is a key;
    4. a bare run of exactly 40 hex characters is a key, *unless* it is a git SHA/digest: the
       nearest word before it on the same line (only spaces, quotes, ``= : ( [ ] { } ,`` in between)
       has a ``_``/``.``-separated part in SHA_CONTEXT_WORDS (``commit <sha>``,
       ``GIT_COMMIT = "<sha>"``, ``sha1: <sha>``), or it is pinned with ``name@`` (a model
       fingerprint ``roberta@<sha>:128:0.6``, ``pkg@<sha>``), or it sits in a URL path
       (``https://github.com/o/r/commit/<sha>``, ``git+https://…@<sha>``).

    So a key printed on its own (``print(key)``, ``cat ~/.netrc``) is caught; the price is that
    a bare SHA printed without context (``!git rev-parse HEAD``) is refused too: print it as
    ``commit <sha>``. Rules 1-3 win over the SHA exemption. SHA-256 digests (64 hex), UUIDs and
    W&B run ids are never keys.

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file; rewritten in place unless ``check``.
    check : bool
        Change nothing; list the reasons the notebook is not release-clean (possible keys, unfilled
        settings, outputs, execution counts, volatile metadata, papermill cells, missing cell ids).

    Returns
    ``source=True`` is for the maintainers' copy in the course repository, whose instructor settings stay
    placeholders until an instructor releases it: they are then reported, not refused.

    -------
    int
        Exit status: 0 released / already clean, 1 key or unfilled setting found or (check) not
        clean, 2 unreadable.
    """
    path = Path(path)
    try:
        text, nb = _read_notebook(path)
        keys = _scan_notebook_for_keys(text)
    except Exception as error:     # noqa: BLE001 - any unreadable file is one clear CLI message
        print(f"release: cannot read {path} as a notebook ({type(error).__name__}: {error}); "
              "is it a saved .ipynb?", file=sys.stderr)
        return 2
    unfilled = _unfilled_settings(nb)
    if source and unfilled:  # the maintainers' copy: the instructor fills these in when releasing
        print(f"{path}: instructor settings left as placeholders (--source): "
              + ", ".join(RELEASE_REQUIRED_SETTINGS))
        unfilled = []
    released, reasons = _released_copy(nb)
    if check:
        problems = [f"possible API key in {finding}" for finding in keys] + unfilled + reasons
        if not problems:
            print(f"{path}: release-clean")
            return 0
        print(f"{path}: not release-clean:")
        print("\n".join(f"  - {problem}" for problem in problems))
        print(f"  Run `python -m lab4.tools release {path}` (after removing any key and filling in "
              "any setting).")
        return 1
    if keys or unfilled:
        print(f"release: refusing to write {path}:", file=sys.stderr)
    if keys:
        print("  it holds what looks like an API key:", file=sys.stderr)
        print("\n".join(f"  - {finding}" for finding in keys), file=sys.stderr)
        print("  Remove it (log in with wandb.login(), environment variables or Colab secrets "
              "instead), revoke it with its provider (W&B: https://wandb.ai/authorize) since it was "
              "saved, and rerun.", file=sys.stderr)
    if unfilled:
        print("  instructor settings are still placeholders:", file=sys.stderr)
        print("\n".join(f"  - {line}" for line in unfilled), file=sys.stderr)
    if keys or unfilled:
        return 1
    new_text = _notebook_text(released)
    if new_text == text:
        print(f"{path}: already release-clean, nothing written")
        return 0
    path.write_text(new_text, encoding="utf-8")
    print(f"{path}: released ({'; '.join(reasons) or 'reformatted by nbformat'})")
    return 0
