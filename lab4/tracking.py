"""Step 6: Weights & Biases: choosing online/offline, opening the run, logging tables and plots,
finishing, logging after the finish, checking what the run holds, and reading a run's tables back.

Everything W&B-specific is asked of wandb itself: its settings give the server (``base_url``: the
``WANDB_BASE_URL`` variable, ``wandb login --host``, or wandb's default), its own credential lookup says
whether a key is configured (``WANDB_API_KEY``, the netrc entry ``wandb login`` wrote, or its settings),
and the run folder follows ``WANDB_DIR`` unless a folder is passed. Nothing here writes ``os.environ``.

W&B keeps two kinds of files outside the run folder, and only its environment variables can move them
(no ``wandb.Settings`` field does): read-only staging copies of every logged table under
``~/.local/share/wandb/artifacts/staging`` (``WANDB_DATA_DIR``; an offline run's ``wandb sync`` uploads
the tables from there, so they must stay until it is synced) and the service's logs under
``~/.cache/wandb/logs`` (``WANDB_CACHE_DIR``). ``make clean`` says how to remove them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Callable
from typing import Iterable
from typing import Mapping
from urllib.parse import urlsplit

import pandas as pd

from .config import CACHE_DIR
from .data import row_accounting
from .models import SentimentModel
from .runtime import NETWORK_TIMEOUT_S, _answers, _in_colab
from .slicing import _describe
from .validate import _require_table


WANDB_INIT_TIMEOUT_S = 20.0  # online W&B start-up bound; past it the run goes offline instead

# Tables the W&B cell must log (the dashboard panels of the handout read these names).
WANDB_REQUIRED_TABLES = ("df_long", "slice_metrics", "regression_metrics", "df_eval")

# W&B modes that actually keep the logged tables ("disabled" logs nothing).
WANDB_LOGGING_MODES = ("online", "offline")

# The Colab secret (key icon in Colab's left bar) the lab reads the W&B key from, before any prompt.
COLAB_SECRET_NAME = "WANDB_API_KEY"

# Model kinds that come from the Hugging Face hub (the others run without it: vader, minilm-logreg,
# local folders, precomputed columns).
_HUB_KINDS = ("hub",)


# ----------------------------------------------------------------------------- credentials and mode

def _wandb_settings():
    """wandb's process-wide settings (environment + settings files, read once per process by wandb)."""
    from wandb.sdk import wandb_setup

    return wandb_setup.singleton().settings  # starts no service, touches no network


def _wandb_url() -> str:
    """The W&B server wandb will use (``WANDB_BASE_URL``, ``wandb login --host``, or its default)."""
    try:
        return _wandb_settings().base_url
    except (ImportError, AttributeError):  # a wandb older than wandb_setup.singleton(): the server it defaulted to
        return os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")


def _wandb_host() -> str:
    return urlsplit(_wandb_url()).hostname or _wandb_url()


def _wandb_key_status() -> tuple[bool, str]:
    """(configured, problem): wandb's own lookup of a key for its server; never prompts or prints the key.

    The lookup is wandb's: ``WANDB_API_KEY``, then the netrc entry for the server (``NETRC`` or
    ~/.netrc, as ``wandb login`` writes it), then an ``api_key`` in its settings.
    """
    try:
        from wandb.sdk.lib import wbauth
    except ImportError:  # a wandb older than wbauth (e.g. one preinstalled on Colab): the lookup it did
        return _legacy_key_status(), ""
    try:
        auth = wbauth.authenticate_session(host=_wandb_url(), source="lab4", prompt=False, update_session=False)
    except Exception as err:  # a malformed key (AuthenticationError) or server URL (ValueError)
        return False, f"the configured W&B key cannot be used ({err})"
    return auth is not None, ""


def _legacy_key_status() -> bool:
    """Older wandb's lookup: ``WANDB_API_KEY``, else the netrc entry for its server's host."""
    import netrc

    if os.environ.get("WANDB_API_KEY"):
        return True
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc").expanduser()
    try:  # an explicit path, as wandb passes: no "access too permissive" refusal of a 0644 file
        return netrc.netrc(str(path)).authenticators(urlsplit(_wandb_url()).netloc) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def _wandb_key_configured() -> bool:
    """True when wandb finds an API key for its server (see :func:`_wandb_key_status`)."""
    return _wandb_key_status()[0]


def _colab_secret_key() -> str | None:
    """The W&B key from Colab's secrets (``WANDB_API_KEY``), or None: not on Colab, no such secret, access
    not granted to this notebook, or a malformed key. Quiet on purpose: the caller falls back.
    """
    if not _in_colab():
        return None
    try:
        from google.colab import userdata

        key = userdata.get(COLAB_SECRET_NAME)
    except Exception:  # SecretNotFoundError, NotebookAccessError (not allowed), TimeoutException, no module
        return None
    if not isinstance(key, str) or not key.strip():
        return None
    try:
        from wandb.sdk.lib import wbauth
    except ImportError:  # an older wandb: it checks the key itself at wandb.init
        return key.strip()
    return None if wbauth.check_api_key(key.strip()) else key.strip()


def decide_wandb_mode(requested: str | None = None, *, timeout: float = NETWORK_TIMEOUT_S,
                      api_key: str | None = None) -> tuple[str, str]:
    """Choose "online", "offline" or "disabled" and say why.

    ``requested`` (or the WANDB_MODE environment variable) wins. Otherwise online only when an API key
    is configured (wandb's own lookup, or ``api_key`` given, e.g. from Colab's secrets) and the W&B
    server wandb uses answers within ``timeout`` seconds; else offline, which never prompts and never
    waits.
    """
    mode = requested or os.environ.get("WANDB_MODE")
    if mode:
        mode = {"dryrun": "offline", "run": "online"}.get(mode, mode)
        if mode not in ("online", "offline", "disabled"):
            raise ValueError(f"WANDB_MODE={mode!r}; expected 'online', 'offline', 'disabled' or None (decide).")
        return mode, "requested"
    configured, problem = (True, "") if api_key else _wandb_key_status()
    if not configured:
        return "offline", problem or ("no W&B API key is configured (run `wandb login` in a terminal, or on "
                                      f"Colab add the secret {COLAB_SECRET_NAME}, to go online)")
    if not _answers(_wandb_url(), timeout=timeout):
        return "offline", f"an API key is configured but {_wandb_host()} did not answer within {timeout:.0f} s"
    return "online", "API key configured and W&B reachable"


# ----------------------------------------------------------------------------- the session

@dataclass
class WandbSession:
    """An open (or finished) W&B run and what the lab logged to it.

    ``tables`` lists the table names logged to this run, ``rows`` their row counts as logged,
    ``run_dir`` is the run's folder (absolute), ``finished`` says whether it was closed, and
    ``continues`` lists earlier runs this one continues (an offline run logged to after its finish).
    """

    run: object = field(repr=False)
    mode: str
    reason: str
    tables: list = field(default_factory=list)
    rows: dict = field(default_factory=dict)
    run_dir: Path | None = None
    finished: bool = False
    continues: list = field(default_factory=list)
    _open: Callable | None = field(default=None, repr=False)        # opens a run with the start's settings
    _logged: dict = field(default_factory=dict, repr=False)         # name -> (frame, fingerprint)
    _figures: dict = field(default_factory=dict, repr=False)
    _pngs: dict = field(default_factory=dict, repr=False)           # figure name -> the PNG bytes W&B got
    _config: dict = field(default_factory=dict, repr=False)
    _summary: dict = field(default_factory=dict, repr=False)

    def _attach(self, run) -> None:
        self.run, self.finished = run, False
        sync_dir = getattr(getattr(run, "settings", None), "sync_dir", None) if self.mode != "disabled" else None
        self.run_dir = Path(sync_dir).absolute() if sync_dir else None

    def info(self) -> dict:
        """What the self-check and TAs need: mode, reason, run id, tables and their rows, folder, URL, sync."""
        url = getattr(self.run, "url", None) if self.mode == "online" else None
        sync = f"wandb sync {self.run_dir}" if self.mode == "offline" and self.run_dir else None
        return {"mode": self.mode, "reason": self.reason,
                "run_id": getattr(self.run, "id", None) if self.mode != "disabled" else None,
                "tables": list(self.tables), "rows": dict(self.rows),
                "run_dir": str(self.run_dir) if self.run_dir else None, "url": url, "sync_command": sync,
                "finished": self.finished, "continues": [dict(c) for c in self.continues]}


def _colab_note(run_dir: Path | None) -> str:
    where = f"the offline W&B run in {run_dir.parent}" if run_dir else "an offline W&B run"
    return (f"Colab: this machine's files vanish when the runtime ends: {where} (unless uploaded with the "
            f"`wandb sync` command printed at the end) and the prediction cache {CACHE_DIR.absolute()} "
            "(re-runs then recompute it). Sync, or save both folders to Drive, before you leave.")


def start_wandb_run(*, project: str, run_name: str | None = None, config: Mapping | None = None,
                    mode: str | None = None, directory: str | os.PathLike | None = None,
                    init_timeout: float = WANDB_INIT_TIMEOUT_S) -> WandbSession:
    """Open a W&B run without ever prompting or hanging (see :func:`decide_wandb_mode`).

    ``directory`` is where the ``wandb/`` folder goes; None lets wandb decide (``WANDB_DIR``, else the
    current folder). On Colab a key in Colab's secrets (``WANDB_API_KEY``) is used when wandb finds none;
    it goes to ``wandb.init`` only, never into the environment or a file. An online start that fails or
    exceeds ``init_timeout`` seconds falls back to offline with a message.
    """
    import wandb

    key = _colab_secret_key() if _in_colab() and not _wandb_key_configured() else None
    mode, reason = decide_wandb_mode(mode, api_key=key)

    def open_run(m: str, *, name: str | None = run_name, run_config: Mapping | None = config,
                 resume_id: str | None = None):
        extra = {"api_key": key} if key and m == "online" else {}
        kwargs = {"project": project, "name": name, "config": dict(run_config or {}), "mode": m,
                  "settings": wandb.Settings(init_timeout=init_timeout, silent=True, **extra),
                  "reinit": "finish_previous"}
        if directory is not None:
            Path(directory).mkdir(parents=True, exist_ok=True)
            kwargs["dir"] = str(directory)
        if resume_id:
            kwargs.update(id=resume_id, resume="must")
        return wandb.init(**kwargs)

    try:
        run = open_run(mode)
    except Exception as err:  # network trouble online: never stall the lab
        if mode != "online":
            raise
        reason = f"online start failed ({type(err).__name__}); logging offline instead"
        mode = "offline"
        run = open_run(mode)
    session = WandbSession(run, mode, reason, _open=open_run, _config=dict(config or {}))
    session._attach(run)
    if _in_colab():
        print(_colab_note(session.run_dir if mode == "offline" else None))
    return session


# ----------------------------------------------------------------------------- logging

def _wandb_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain Python values (no pandas extension dtypes) so W&B can type every column."""
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if (dtype == bool or str(dtype) == "boolean"
                or (pd.api.types.is_numeric_dtype(dtype) and isinstance(dtype, pd.api.extensions.ExtensionDtype))):
            # bools, and nullable numbers (Int64, Float64: their missing value pd.NA is no JSON value)
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif isinstance(dtype, pd.StringDtype):  # str cells already
            out[col] = out[col].astype(object).where(out[col].notna(), None)
        elif not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].astype(object).where(out[col].notna(), None).map(
                lambda v: v if v is None or isinstance(v, (str, bool)) else str(v))
    return out


# numpy dtype kinds whose values ``DataFrame.to_numpy(dtype=object)`` turns into plain Python int / float
_PLAIN_NUMBER_KINDS = "iuf"


@functools.cache
def _plain_table_class():
    """A ``wandb.Table`` whose cells are all str, int, float, bool or None (what :func:`_wandb_ready` makes).

    Logging a table makes W&B write it twice: the run-folder file, and the table artifact that ``wandb
    sync`` uploads. For the artifact, ``wandb.Table.to_json`` passes every cell through W&B's converter for
    arrays, tensors, dates and media: about 60% of the logging time at 50,000 tweets. For a plain cell
    that converter returns the cell itself, except a float NaN, which becomes None. So this class lets
    wandb build the rest of the artifact JSON (columns, types, counts) from the table without rows and
    puts in the rows already in that form. The artifact file is byte for byte the one wandb's own path
    writes (``tests/test_wandb_tables.py`` compares them). Where wandb's JSON is not laid out as
    expected (another wandb version), it falls back to wandb's own path.
    """
    import wandb

    class PlainTable(wandb.Table):
        _artifact_rows = None  # the rows as wandb's converter writes them, or None: use wandb's own path

        def to_json(self, run_or_artifact):
            rows = self._artifact_rows
            if (rows is None or not isinstance(run_or_artifact, wandb.Artifact)
                    or getattr(self, "log_mode", "IMMUTABLE") != "IMMUTABLE"):
                return super().to_json(run_or_artifact)
            full, self.data = self.data, []
            try:
                out = super().to_json(run_or_artifact)
            finally:
                self.data = full
            if out.get("data") != [] or out.get("nrows", 0) != 0:  # not the layout this was written for
                return super().to_json(run_or_artifact)
            kept = rows[: getattr(wandb.Table, "MAX_ARTIFACT_ROWS", len(rows))]
            out["data"] = kept
            if "nrows" in out:
                out["nrows"] = len(kept)
            return out

    return PlainTable


def _as_wandb_table(frame: pd.DataFrame):
    """``frame`` as a ``wandb.Table`` with every row.

    The table is made with ``allow_mixed_types=True``, so every column is Optional[Any] and the per-row
    type check ``wandb.Table(data=rows)`` runs (``add_data`` for each row) cannot reject anything; it was
    two thirds of the logging time, so the rows are set directly. When every column is plain (numbers,
    text, bools and None, as :func:`_wandb_ready` leaves them), the artifact copy also skips W&B's
    per-cell converter (see :func:`_plain_table_class`). Both written files are identical to wandb's own
    path (``tests/test_wandb_tables.py`` compares them).
    """
    import numpy as np

    ready = _wandb_ready(frame)
    values = ready.to_numpy(dtype=object)
    table = _plain_table_class()(columns=[str(c) for c in ready.columns], allow_mixed_types=True)
    table.data = values.tolist()
    dtypes = list(ready.dtypes)
    text = [isinstance(t, pd.StringDtype) for t in dtypes]  # pandas' text dtype: str cells, NaN where missing
    if all(is_text or t == object or (isinstance(t, np.dtype) and t.kind in _PLAIN_NUMBER_KINDS)
           for t, is_text in zip(dtypes, text)):
        nan = {j: ready.iloc[:, j].isna().to_numpy() for j, t in enumerate(dtypes)
               if text[j] or (t != object and t.kind == "f")}
        nan = {j: mask for j, mask in nan.items() if mask.any()}
        if nan:  # the artifact holds a NaN cell as null (the run-folder file as NaN, as wandb writes them)
            values = values.copy()
            for j, mask in nan.items():
                values[mask, j] = None
            table._artifact_rows = values.tolist()
        else:
            table._artifact_rows = table.data
    return table


@contextlib.contextmanager
def _table_row_limits(n_rows: int):
    """Let W&B write ``n_rows`` rows per table for the duration of one log call, then restore its limits.

    wandb cuts the run-folder copy of a table to ``wandb.Table.MAX_ROWS`` (10,000) rows without a warning
    and the artifact copy to ``wandb.Table.MAX_ARTIFACT_ROWS`` (200,000); its documented way to allow more
    is to raise these class attributes, which are library-wide, hence the try/finally.
    """
    import wandb

    old = wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS
    wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS = max(old[0], n_rows), max(old[1], n_rows)
    try:
        yield
    finally:
        wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS = old


def _fingerprint(frame: pd.DataFrame) -> str | None:
    """A content hash of a DataFrame (columns, dtypes, values), or None when its values cannot be hashed."""
    try:
        values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except (TypeError, ValueError):  # lists, dicts or other unhashable cells
        return None
    digest = hashlib.sha256(values.tobytes())
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    return digest.hexdigest()


# W&B-native charts logged with slice_stats (interactive in the W&B UI), by key: (preset, what it shows).
SLICE_CHARTS = {"slice_accuracy_chart": ("wandb/bar/v0", "accuracy per slice and model; its table holds the "
                                         "95% Wilson interval as acc_lo/acc_hi"),
                "regressions_vs_fixes": ("wandb/scatter/v0", "one point per slice: fixes (x) against regressions "
                                         "(y); above the diagonal the candidate breaks more than it fixes")}


def slice_charts(slice_stats: pd.DataFrame) -> dict:
    """The two W&B charts of :data:`SLICE_CHARTS` built from ``slice_stats`` with wandb's own presets.

    ``slice_accuracy_chart`` has one bar per slice and model (label ``"<slice> · <model>"``, columns ``slice``,
    ``model``, ``accuracy``, ``acc_lo``, ``acc_hi``, ``n``); ``regressions_vs_fixes`` one point per slice
    (columns ``slice``, ``fixes``, ``regressions``, ``n``, ``q_bh``). The preset bar chart draws no error
    bars: the intervals are in its table for a panel of your own.
    """
    import wandb

    _require_table(slice_stats, ["slice", "n", "baseline_acc", "baseline_lo", "baseline_hi",
                                 "candidate_acc", "candidate_lo", "candidate_hi", "regressions", "fixes",
                                 "q_bh"], "slice_charts (slice_stats)", "the table from lab.slice_stats")
    rows = [[f"{r['slice']} · {m}", r["slice"], m, float(r[f"{m}_acc"]), float(r[f"{m}_lo"]),
             float(r[f"{m}_hi"]), int(r["n"])]
            for _, r in slice_stats.iterrows() for m in ("baseline", "candidate")]
    accuracy = wandb.Table(columns=["label", "slice", "model", "accuracy", "acc_lo", "acc_hi", "n"], data=rows)
    points = wandb.Table(columns=["slice", "fixes", "regressions", "n", "q_bh"],
                         data=[[r["slice"], int(r["fixes"]), int(r["regressions"]), int(r["n"]), float(r["q_bh"])]
                               for _, r in slice_stats.iterrows()])
    return {"slice_accuracy_chart": wandb.plot.bar(accuracy, "label", "accuracy",
                                                   title="Accuracy per slice, both models"),
            "regressions_vs_fixes": wandb.plot.scatter(points, "fixes", "regressions",
                                                       title="Regressions vs fixes per slice")}


def _log(session: WandbSession, tables: Mapping[str, pd.DataFrame], figures: Mapping[str, object],
         summary: Mapping, config: Mapping) -> list[str]:
    """Log to the session's open run; returns the tables skipped because the run already holds them."""
    import wandb

    run = session.run
    if config:
        run.config.update(dict(config), allow_val_change=True)
        session._config.update(config)
    payload, skipped, logged = {}, [], {}
    for name, frame in tables.items():
        fingerprint = _fingerprint(frame)
        if fingerprint is not None and session._logged.get(name, (None, None))[1] == fingerprint:
            skipped.append(name)
            continue
        payload[name] = _as_wandb_table(frame)
        logged[name] = (frame, fingerprint)
    if "slice_stats" in logged:
        payload.update(slice_charts(logged["slice_stats"][0]))
    pngs = {}
    if figures:
        import io

        import matplotlib.pyplot  # noqa: F401 -- wandb.Image looks figures up through pyplot
        from PIL import Image as PILImage

        # drawn once, as wandb.Image(fig) draws it (savefig to PNG, then PIL); the report reuses the bytes
        for name, fig in figures.items():
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            pngs[name] = buffer.getvalue()
            payload[name] = wandb.Image(PILImage.open(io.BytesIO(pngs[name])))
    if payload:
        with _table_row_limits(max((len(f) for f, _ in logged.values()), default=0)):
            run.log(payload)
    for key, value in summary.items():
        run.summary[key] = value
    session._summary.update(summary)
    session._figures.update(figures)
    for name in figures:
        session._pngs.pop(name, None)
    session._pngs.update(pngs)
    session._logged.update(logged)
    for name, (frame, _) in logged.items():
        session.rows[name] = len(frame)
        if name not in session.tables:
            session.tables.append(name)
    return skipped


def _continue_run(session: WandbSession) -> None:
    """Make the finished session loggable again, and say how in one line.

    Online: W&B resumes the same run (``resume="must"``). Offline W&B cannot resume a run: it ignores
    ``resume`` and writes a second folder with the same id, starting again at step 0, and such folders
    are reported to overwrite each other on ``wandb sync`` (wandb/wandb#2423, #3841). So the session
    moves to a new run that names the old one in its config (``continues_run``) and gets every table,
    plot, summary number and config entry logged so far, so that it is complete on its own.
    """
    old_id, old_dir = getattr(session.run, "id", None), session.run_dir
    if session.mode == "online":
        try:
            session._attach(session._open("online", resume_id=old_id))
            print(f"W&B: run {old_id} was already finished; resumed it to log this ({session.info()['url']}).")
            return
        except Exception as err:  # no network any more: continue offline, below
            session.mode, session.reason = "offline", f"could not resume the online run ({type(err).__name__})"
    new_name = f"{getattr(session.run, 'name', None) or old_id}-continued"
    config = {**session._config, "continues_run": old_id}
    session._attach(session._open(session.mode, name=new_name, run_config=config))
    session.continues.append({"run_id": old_id, "run_dir": str(old_dir) if old_dir else None})
    kept = {table: frame for table, (frame, _) in session._logged.items()}
    session.tables, session.rows, session._logged = [], {}, {}
    _log(session, kept, dict(session._figures), dict(session._summary), {})
    print(f"W&B: run {old_id} was already finished and offline runs cannot be reopened, so this goes to a new "
          f"run {session.run.id} that continues it (config continues_run={old_id}) and holds every table "
          f"logged so far: {session.run_dir}")


def log_to_wandb(session: WandbSession, tables: Mapping[str, pd.DataFrame] | None = None, *,
                 figures: Mapping[str, object] | None = None, summary: Mapping | None = None,
                 config: Mapping | None = None) -> dict:
    """Log DataFrames as W&B tables, matplotlib figures as images, summary numbers and config (Step 6).

    Call it as often as needed on one session, also after :func:`finish_wandb_run` (the run is then
    resumed online, or continued in a new linked run offline; one printed line says which). Every row of
    every table is logged. A table identical to the one this run already holds is not logged again (one
    printed line names it), so re-running a cell costs only what changed.

    Returns ``session.info()``: mode, run id, tables logged so far with their row counts, the run folder
    and, offline, the exact ``wandb sync`` command.
    """
    tables = dict(tables or {})
    if session.mode == "disabled":  # nothing goes to W&B; the session still keeps it for the report
        for name, frame in tables.items():
            session.rows[name] = len(frame)
            session._logged[name] = (frame, None)
            if name not in session.tables:
                session.tables.append(name)
        session._figures.update(figures or {})
        session._summary.update(summary or {})
        session._config.update(config or {})
        return session.info()
    if session.finished:
        _continue_run(session)
    skipped = _log(session, tables, dict(figures or {}), dict(summary or {}), dict(config or {}))
    if skipped:
        print(f"W&B: {', '.join(skipped)} unchanged since logged to this run; not logged again.")
    return session.info()


def finish_wandb_run(session: WandbSession, *, slices: Mapping[str, Callable] | None = None,
                     report_dir: str | os.PathLike = ".") -> dict:
    """Close the run; print where it is and, offline, the exact command that uploads it later.

    Also writes the offline slice report (:mod:`lab4.htmlreport`, one HTML file that opens from disk)
    from what the run logged, to ``report_dir`` and to the run folder, and prints where; ``slices``
    (the notebook's slice functions) lets it list each slice's tweets. The returned info then holds
    ``report`` and ``report_in_run`` (absolute paths, or None when no slice_stats were logged).
    """
    from .htmlreport import write_report

    if session.mode != "disabled" and not session.finished:
        session.run.finish()
    session.finished = True
    info = session.info()
    try:
        info.update(write_report(session, slices=slices, directory=report_dir))
    except OSError as err:  # a read-only folder must not cost the student the run
        print(f"Slice report: not written ({type(err).__name__}: {err}).")
        info.update(report=None, report_in_run=None)
    continues = (f" (it continues run {', '.join(c['run_id'] for c in session.continues)} and holds "
                 "everything; upload this one)") if session.continues else ""
    if info["sync_command"]:
        print(f"W&B run: offline, saved in {info['run_dir']}{continues}\nUpload it later with: {info['sync_command']}")
    elif info["url"]:
        print(f"W&B run: {info['url']}")
    else:
        print("W&B run: disabled, nothing was logged.")
    if info.get("report"):
        copy = f" (a copy is in the run folder: {info['report_in_run']})" if info.get("report_in_run") else ""
        print(f"Slice report: {info['report']}{copy}\nOpen it in any browser; it needs no network.")
    return info


def login_wandb_in_colab() -> None:
    """On Colab with no key configured: use the key in Colab's secrets (``WANDB_API_KEY``) when this
    notebook may read it, else ask for it in a hidden prompt. Elsewhere do nothing.

    Outside Colab log in once in a terminal (``wandb login``), so no key ever lands in a notebook.
    """
    if not _in_colab() or _wandb_key_configured():
        return
    if _colab_secret_key():
        print(f"W&B: using the key in Colab's secret {COLAB_SECRET_NAME}.")
        return  # start_wandb_run passes it to wandb.init; it is never written anywhere
    import wandb

    try:
        wandb.login(timeout=60)  # Colab shows a hidden (password-style) prompt; the key is not printed
    except Exception as err:  # no key entered, or no network: the run goes offline
        print(f"W&B login skipped ({type(err).__name__}); the run will be offline.")


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def wandb_files_note() -> str:
    """Where W&B keeps files outside the project folder, their size, and how to remove them (``make clean``).

    The folders come from wandb itself (its ``WANDB_DATA_DIR`` / ``WANDB_CACHE_DIR`` / ``WANDB_DIR``
    handling and platform defaults), so they are right for this machine and environment.
    """
    from wandb import env as wandb_env

    staging = Path(wandb_env.get_data_dir()) / "artifacts" / "staging"
    logs = Path(wandb_env.get_cache_dir()) / "logs"
    mb = 1024 ** 2
    lines = ["W&B keeps files outside this folder (make clean leaves them):",
             f"  {staging}  {_size(staging) / mb:,.1f} MB: read-only copies of every logged table; `wandb sync` "
             "uploads an offline run's tables from here, so keep them until the run is synced",
             f"  {logs}  {_size(logs) / mb:,.1f} MB: logs of W&B's background service"]
    if os.environ.get("WANDB_DIR"):
        runs = Path(os.environ["WANDB_DIR"]) / "wandb"
        lines.append(f"  {runs}  {_size(runs) / mb:,.1f} MB: the W&B runs (WANDB_DIR is set)")
    lines.append(f"Once your runs are synced (or to discard them): rm -rf {staging} {logs}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- what the run holds

def run_config(tweets: pd.DataFrame, dropped: pd.DataFrame, models: Mapping[str, SentimentModel]) -> dict:
    """What this run used, for W&B's config: data source, row accounting and the exact models.

    ``model_source`` is what actually ran ("hub" when a model came from the Hugging Face hub, else
    "offline"), replacing the requested value (e.g. "auto") logged at the start.
    """
    config = {"data_source": tweets.attrs.get("source", "unknown"), "n_evaluated": len(tweets),
              "n_not_evaluated": len(dropped), "n_source_rows": len(tweets) + len(dropped),
              "model_source": "hub" if any(m.kind in _HUB_KINDS for m in models.values()) else "offline"}
    for row in row_accounting(tweets, dropped).itertuples():
        config[f"rows/{row.outcome}"] = int(row.rows)
    for role, model in models.items():
        config.update({f"{role}/model_id": model.model_id, f"{role}/kind": model.kind,
                       f"{role}/fingerprint": model.fingerprint, f"{role}/notes": model.notes,
                       f"{role}/device": model.device})
    return config


def summary_numbers(overall: pd.DataFrame) -> dict:
    """Headline scores for W&B's run summary: ``<model>/accuracy``, ``<model>/macro_f1``, ..."""
    numbers = {}
    for row in overall.to_dict("records"):
        numbers.update({f"{row['model']}/{k}": v for k, v in row.items() if k != "model"})
    return numbers


def notes_table(notes: Mapping[str, str], slices: Mapping[str, Callable]) -> pd.DataFrame:
    """``saved_slice_notes`` as a table: slice, description, note, status (ok / TODO / missing)."""
    names = list(dict.fromkeys([*slices, *notes]))
    rows = []
    for name in names:
        note = str(notes.get(name, "") or "").strip()
        status = "missing" if not note else "TODO" if note.upper().startswith("TODO") else "ok"
        rows.append({"slice": name, "description": _describe(slices[name]) if name in slices else "(not a slice)",
                     "note": note, "status": status})
    return pd.DataFrame(rows, columns=["slice", "description", "note", "status"])


def _table_files(run_dir: str | os.PathLike) -> dict[str, Path]:
    """``{table name: its last logged .table.json}`` in a run folder (run files, not W&B's staging)."""
    files = sorted(Path(run_dir).glob("files/media/table/**/*.table.json"), key=lambda p: p.stat().st_mtime_ns)
    return {re.sub(r"_\d+_[0-9a-f]+$", "", path.name[: -len(".table.json")]): path for path in files}


def _read_table_file(path: Path) -> pd.DataFrame:
    data = json.loads(path.read_text(encoding="utf-8"))
    return pd.DataFrame(data["data"], columns=data["columns"])


def read_offline_tables(run_dir: str | os.PathLike, names: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read the tables of a W&B run back from its folder (no network): ``{name: DataFrame}``.

    Works for offline and online runs (both keep the table files in the run folder), finished or not.
    With several versions of a table, the last logged one wins. ``names`` limits which tables are read.
    Used by the self-check (:func:`check_logged`), the tests and TAs.
    """
    files = _table_files(run_dir)
    wanted = files if names is None else [n for n in names if n in files]
    return {name: _read_table_file(files[name]) for name in wanted}


def _wandb_records(path: Path) -> Iterable[bytes]:
    """The records of a run's ``.wandb`` file: a 7-byte ``:W&B`` header, then LevelDB-log blocks of 32 KiB whose
    chunks (crc32, length, type: full / first / middle / last) carry serialised ``Record`` protos."""
    import struct

    raw, block, header = path.read_bytes(), 32768, 7
    pos, pending = header, b""
    while pos + header <= len(raw):
        if block - pos % block < header:  # the block's tail is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", raw[pos:pos + header])
        if length == 0 and kind == 0:
            break
        if pos + header + length > len(raw):  # a chunk still being written: what is complete is all there is
            break
        data, pos = raw[pos + header:pos + header + length], pos + header + length
        if kind == 1:
            yield data
        elif kind in (2, 3):
            pending = (pending if kind == 3 else b"") + data
        elif kind == 4:
            yield pending + data
            pending = b""


def _run_file_records(path: Path, wait: float) -> list:
    """The parsed ``Record`` protos of one ``.wandb`` file. wandb's finish() can return while its writer is
    still flushing the file, so until the run's ``exit`` record is there this reads again, for up to ``wait``
    seconds, and then settles for the records that are complete."""
    import time

    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2

    deadline = time.monotonic() + wait
    while True:
        records = []
        for data in _wandb_records(path):
            record = wandb_internal_pb2.Record()
            try:
                record.ParseFromString(data)
            except DecodeError:  # only a record caught mid-write; the next read gets it whole
                break
            records.append(record)
        if (records and records[-1].WhichOneof("record_type") == "exit") or time.monotonic() >= deadline:
            return records
        time.sleep(0.05)


def read_chart_specs(run_dir: str | os.PathLike, *, wait: float = 5.0) -> dict[str, dict]:
    """The W&B custom charts a run holds, read from its folder (no network): ``{key: chart config}``, each with
    ``panel_type`` and ``panel_config`` (``panelDefId``: the preset; ``fieldSettings``: which columns of the
    chart's table, logged as ``<key>_table``, it draws). wandb keeps them in the run's config under
    ``_wandb.visualize``, recorded in the run's ``.wandb`` file; the last record of a key wins. A finished
    run's file is waited for (up to ``wait`` seconds) until wandb has written all of it.
    """
    specs = {}
    for path in sorted(Path(run_dir).glob("run-*.wandb")):
        for record in _run_file_records(path, wait):
            if record.WhichOneof("record_type") != "config":
                continue
            for item in record.config.update:
                keys = list(item.nested_key)
                if keys[:2] == ["_wandb", "visualize"] and len(keys) == 3:
                    specs[keys[2]] = json.loads(item.value_json)
    return specs


def _names(items, limit=6) -> str:
    items = list(items)
    return ", ".join(map(str, items[:limit])) + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def check_logged(info: Mapping | None, *, notes: Mapping[str, str] | None = None,
                 required: Iterable[str] = WANDB_REQUIRED_TABLES) -> tuple[bool, str]:
    """Judge what the W&B run really holds, from its folder: ``(passed, message)``; never raises.

    ``info`` is what :func:`log_to_wandb` / :func:`finish_wandb_run` returned (``wandb_run_info``).
    Passes when the mode keeps data (online/offline), each ``required`` table was logged, and the run
    folder holds it with as many rows as were logged (a cut or missing table fails). With ``notes``
    (``saved_slice_notes``), it also fails when the logged ``slice_notes`` table is missing or its notes
    differ from ``notes`` (edited but the notes cell not re-run). ``required=()`` checks the notes only.

    >>> check_logged({"mode": "disabled", "tables": []})
    (False, "W&B mode is 'disabled', so nothing was kept; set WANDB_MODE to 'online' or 'offline' and rerun the W&B cells")
    """
    try:
        return _check_logged(info, notes, tuple(required))
    except Exception as err:  # noqa: BLE001 -- a check must report, not crash
        return False, f"could not read the W&B run back ({type(err).__name__}: {err})"


def _check_logged(info, notes, required) -> tuple[bool, str]:
    if not isinstance(info, Mapping):
        return False, "no W&B run info (wandb_run_info); run the W&B cells"
    mode = info.get("mode")
    if mode not in WANDB_LOGGING_MODES:
        return False, (f"W&B mode is {mode!r}, so nothing was kept; set WANDB_MODE to 'online' or 'offline' "
                       "and rerun the W&B cells")
    wanted = list(required) + (["slice_notes"] if notes is not None else [])
    missing = [n for n in wanted if n not in (info.get("tables") or [])]
    if missing:
        return False, f"not logged: {_names(missing)}; logged: {_names(info.get('tables') or []) or 'none'}"
    run_dir = info.get("run_dir")
    if not run_dir:
        return False, "wandb_run_info records no run folder, so what W&B holds cannot be checked; rerun the W&B cells"
    if not Path(run_dir).is_dir():
        return False, f"the run folder {run_dir} is gone, so what W&B holds cannot be checked; rerun the W&B cells"
    files = _table_files(run_dir)
    absent = [n for n in wanted if n not in files]
    if absent:
        return False, f"the run folder {run_dir} holds no {_names(absent)} table; rerun the W&B cells"
    expected = info.get("rows") or {}
    counts = {n: len(json.loads(files[n].read_text(encoding="utf-8"))["data"]) for n in required}
    short = [f"{n} has {counts[n]:,} rows, {expected[n]:,} were logged" for n in required
             if n in expected and counts[n] != expected[n]]
    if short:
        return False, f"W&B holds fewer rows than logged: {'; '.join(short)}"
    what = f"{len(required)} tables ({', '.join(f'{n} {counts[n]:,} rows' for n in required)})" if required else ""
    if notes is not None:
        logged = _read_table_file(files["slice_notes"])
        held = dict(zip(logged["slice"].astype(str), logged["note"].fillna("").astype(str)))
        current = {str(k): str(v or "").strip() for k, v in notes.items()}
        differ = [n for n in dict.fromkeys([*current, *held]) if held.get(n, "") != current.get(n, "")]
        if differ:
            return False, (f"the slice_notes logged to W&B differ from saved_slice_notes for {len(differ)} "
                           f"slice{'s' if len(differ) > 1 else ''} ({_names(differ)}); rerun the notes cell")
        what = (what + " and " if what else "") + "the slice notes as saved"
    return True, f"{what} in the {mode} run {info.get('run_id') or ''} ({run_dir})".replace("  ", " ")
