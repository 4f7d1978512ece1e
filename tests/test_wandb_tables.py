"""Step 6: every row of every table reaches the W&B run, unchanged tables are not logged twice, logging
after the finish, and check_logged judging what the run folder really holds."""
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.tracking
from lab4.tracking import check_logged


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An offline session in tmp_path (W&B's staging copies go to a temporary HOME too)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    session = lab.start_wandb_run(project="lab4-test", run_name="t", mode="offline", directory=tmp_path)
    yield session
    if not session.finished:
        lab.finish_wandb_run(session)


def _frame(n, seed=0):
    """n rows with every kind of value the lab logs: str (with None), int, float (with NaN), bool (with None)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "text": pd.array([f"tweet {i} 😀" if i % 7 else None for i in range(n)], dtype="string"),
        "n": np.arange(n),
        "conf": np.where(np.arange(n) % 11 == 0, np.nan, rng.random(n)),
        "ok": pd.array([None if i % 13 == 0 else bool(i % 2) for i in range(n)], dtype="boolean"),
    })


def _required(n):
    frame = _frame(n)
    return {"df_long": frame, "slice_metrics": frame.head(3), "regression_metrics": frame.head(2), "df_eval": frame}


def test_tables_over_10000_rows_keep_every_row(offline):
    import wandb

    frame = _frame(12_345)
    limits = wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS
    lab.log_to_wandb(offline, {"df_eval": frame})
    assert (wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS) == limits == (10_000, 200_000)  # restored
    info = lab.finish_wandb_run(offline)
    back = lab.read_offline_tables(info["run_dir"])["df_eval"]
    assert len(back) == 12_345 and info["rows"] == {"df_eval": 12_345}
    def plain(column):
        return column.astype(object).where(column.notna(), None).tolist()

    assert plain(back["text"]) == plain(frame["text"]) and plain(back["ok"]) == plain(frame["ok"])
    assert back["n"].tolist() == frame["n"].tolist()
    np.testing.assert_array_equal(back["conf"].to_numpy(float), frame["conf"].to_numpy())


def test_row_limits_are_restored_when_logging_fails():
    import wandb

    with pytest.raises(RuntimeError):
        with lab4.tracking._table_row_limits(250_000):
            assert (wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS) == (250_000, 250_000)
            raise RuntimeError("disk full")
    assert (wandb.Table.MAX_ROWS, wandb.Table.MAX_ARTIFACT_ROWS) == (10_000, 200_000)


def test_the_fast_table_writes_what_wandbs_row_by_row_path_writes(offline):
    """lab4 sets the rows of an Optional[Any] table directly; wandb's own path checks each row first.
    Both must write the same table file and declare the same column types."""
    import wandb

    ready = lab4.tracking._wandb_ready(_frame(300, seed=3))
    own = wandb.Table(columns=list(ready.columns), data=ready.to_numpy(dtype=object).tolist(), allow_mixed_types=True)
    fast = lab4.tracking._as_wandb_table(_frame(300, seed=3))
    assert fast._column_types.to_json() == own._column_types.to_json()
    offline.run.log({"own": own, "fast": fast})
    info = lab.finish_wandb_run(offline)
    files = lab4.tracking._table_files(info["run_dir"])
    own_json, fast_json = (json.loads(files[n].read_text()) for n in ("own", "fast"))
    assert fast_json == own_json and len(fast_json["data"]) == 300
    # the table artifacts `wandb sync` uploads (W&B's staging copies, under the temporary HOME) are identical too
    staged = [path.read_bytes() for path in (lab4.tracking.Path.home() / ".local/share/wandb/artifacts/staging").iterdir()]
    tables = [raw for raw in staged if json.loads(raw).get("columns") == list(ready.columns)]
    assert len(tables) >= 2 and len(set(tables)) == 1 and len(json.loads(tables[0])["data"]) == 300


@pytest.mark.parametrize("frame", [
    _frame(300, seed=4),  # text with missing values, ints, floats with NaN, bools with missing values
    pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64"), "x": pd.array([0.5, None, 2.0], dtype="Float64"),
                  "s": ["a", "b", None], "u": np.array([1, 2, 3], dtype="uint8")}),  # nullable numbers: pd.NA
], ids=["lab-columns", "nullable-numbers"])
def test_the_artifact_copy_is_the_one_wandbs_own_path_writes(frame):
    """The artifact JSON of a lab table equals wandb's own (per-cell converter) for the same rows, without
    passing the cells through that converter."""
    import wandb

    ready = lab4.tracking._wandb_ready(frame)
    own = wandb.Table(columns=list(ready.columns), data=ready.to_numpy(dtype=object).tolist(), allow_mixed_types=True)
    fast = lab4.tracking._as_wandb_table(frame)
    assert fast._artifact_rows is not None
    as_json = [json.dumps(t.to_json(wandb.Artifact("t", "run_table")), sort_keys=True) for t in (own, fast)]
    assert as_json[0] == as_json[1]
    assert len(fast.data) == len(frame) and json.dumps(fast.data) == json.dumps(own.data)  # the run-folder copy


def test_an_unchanged_table_is_not_logged_again(offline, capsys):
    frame = _frame(500)
    lab.log_to_wandb(offline, {"df_eval": frame, "slice_metrics": frame.head(3)})
    info = lab.log_to_wandb(offline, {"df_eval": frame.copy(), "slice_metrics": frame.head(4)})
    assert "W&B: df_eval unchanged since logged to this run; not logged again." in capsys.readouterr().out
    assert info["rows"] == {"df_eval": 500, "slice_metrics": 4}
    files = list((lab4.tracking.Path(info["run_dir"]) / "files" / "media" / "table").glob("*.table.json"))
    assert sorted(f.name.split("_")[0] for f in files) == ["df", "slice", "slice"]  # df_eval once, slice_metrics twice
    changed = frame.assign(conf=frame["conf"] + 0.01)
    lab.log_to_wandb(offline, {"df_eval": changed})
    assert "unchanged" not in capsys.readouterr().out


def test_logging_after_the_finish_continues_in_a_complete_linked_run(offline, capsys):
    lab.log_to_wandb(offline, _required(40), summary={"baseline/accuracy": 0.5})
    first = lab.finish_wandb_run(offline)
    notes = {"has_url": "links hurt the candidate a lot"}
    info = lab.log_to_wandb(offline, {"slice_notes": lab.notes_table(notes, {})})
    out = capsys.readouterr().out
    line = [l for l in out.splitlines() if l.startswith("W&B: run")]
    assert len(line) == 1 and first["run_id"] in line[0] and info["run_id"] in line[0]
    assert info["run_id"] != first["run_id"] and info["continues"] == [{"run_id": first["run_id"],
                                                                         "run_dir": first["run_dir"]}]
    assert info["run_dir"] in line[0] and not info["finished"]
    assert offline.run.config["continues_run"] == first["run_id"]
    assert set(lab.read_offline_tables(info["run_dir"])) == {*_required(1), "slice_notes"}
    assert check_logged(info, notes=notes)[0]
    done = lab.finish_wandb_run(offline)
    assert f"continues run {first['run_id']}" in capsys.readouterr().out and done["finished"]


# ----------------------------------------------------------------------------- check_logged

def test_check_logged_passes_on_what_was_logged(offline):
    notes = {"has_url": "links hurt the candidate a lot", "short": ""}
    lab.log_to_wandb(offline, {**_required(12_001), "slice_notes": lab.notes_table(notes, {})})
    info = lab.finish_wandb_run(offline)
    passed, message = check_logged(info, notes=notes)
    assert passed, message
    assert "df_eval 12,001 rows" in message and "slice notes as saved" in message
    passed, message = check_logged(info, notes=notes, required=())
    assert passed and message.startswith("the slice notes as saved") and "rows" not in message


def test_check_logged_fails_when_wandb_cut_the_table(offline):
    """What the lab logged before: wandb.Table(data=rows) at its default limits keeps 10,000 rows."""
    import wandb

    frames = _required(10_500)
    offline.run.log({name: wandb.Table(columns=list(f.columns), allow_mixed_types=True,
                                       data=lab4.tracking._wandb_ready(f).to_numpy(dtype=object).tolist())
                     for name, f in frames.items()})
    info = {**offline.info(), "tables": list(frames), "rows": {n: len(f) for n, f in frames.items()}}
    passed, message = check_logged(info)
    assert not passed
    assert "df_long has 10,000 rows, 10,500 were logged" in message and "df_eval has 10,000 rows" in message


@pytest.mark.parametrize("change, expected", [
    (lambda info, notes: {**info, "mode": "disabled"}, "W&B mode is 'disabled'"),
    (lambda info, notes: {**info, "tables": ["df_eval"]}, "not logged: df_long, slice_metrics, regression_metrics"),
    (lambda info, notes: None, "no W&B run info"),
    (lambda info, notes: notes.update(has_url="TODO") or info, "differ from saved_slice_notes for 1 slice (has_url)"),
    (lambda info, notes: notes.update(emoji="new slice, new note here") or info, "for 1 slice (emoji)"),
    (lambda info, notes: shutil.rmtree(info["run_dir"]) or info, "is gone"),
])
def test_check_logged_fails_and_says_why(offline, change, expected):
    notes = {"has_url": "links hurt the candidate a lot"}
    lab.log_to_wandb(offline, {**_required(30), "slice_notes": lab.notes_table(notes, {})})
    info = lab.finish_wandb_run(offline)
    passed, message = check_logged(change(info, notes), notes=notes)
    assert not passed and expected in message, message


def test_check_logged_needs_the_notes_table_when_notes_are_given(offline):
    lab.log_to_wandb(offline, _required(30))
    info = lab.finish_wandb_run(offline)
    assert check_logged(info)[0]
    assert check_logged(info, notes={"a": "b c d e"}) == (
        False, "not logged: slice_notes; logged: df_long, slice_metrics, regression_metrics, df_eval")


# ----------------------------------------------------------------------------- W&B-native charts

def _slice_stats():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"text": [f"tweet {i}" for i in range(120)], "x": rng.random(120) < 0.4,
                       "baseline_correct": rng.random(120) < 0.6, "candidate_correct": rng.random(120) < 0.7})
    return lab.slice_stats(df, {"x": lambda d: d.x})


def test_the_run_folder_holds_both_slice_charts_and_their_tables(offline):
    stats = _slice_stats()
    info = lab.log_to_wandb(offline, {**_required(20), "slice_stats": stats})
    done = lab.finish_wandb_run(offline)
    specs = lab4.tracking.read_chart_specs(done["run_dir"])
    assert set(specs) == set(lab4.tracking.SLICE_CHARTS) and info["run_id"] == done["run_id"]
    for key, (preset, _) in lab4.tracking.SLICE_CHARTS.items():
        assert specs[key]["panel_config"]["panelDefId"] == preset
    assert specs["regressions_vs_fixes"]["panel_config"]["fieldSettings"] == {"x": "fixes", "y": "regressions"}
    tables = lab.read_offline_tables(done["run_dir"])
    accuracy = tables["slice_accuracy_chart_table"]
    assert len(accuracy) == 2 * len(stats) and set(accuracy["model"]) == {"baseline", "candidate"}
    row = accuracy[(accuracy["slice"] == "x") & (accuracy["model"] == "candidate")].iloc[0]
    x = stats.set_index("slice").loc["x"]
    assert (row["accuracy"], row["acc_lo"], row["acc_hi"]) == pytest.approx(
        (x["candidate_acc"], x["candidate_lo"], x["candidate_hi"]))
    points = tables["regressions_vs_fixes_table"].set_index("slice")
    assert points.loc["x", ["fixes", "regressions"]].tolist() == [x["fixes"], x["regressions"]]


def test_no_charts_without_slice_stats(offline):
    lab.log_to_wandb(offline, _required(5))
    assert lab4.tracking.read_chart_specs(lab.finish_wandb_run(offline)["run_dir"]) == {}


def test_chart_specs_are_read_whole_from_a_run_file_wandb_is_still_flushing(offline, tmp_path):
    # wandb's finish() can return before its writer has flushed the .wandb file (seen once in CI: a record cut
    # mid-write); the reader waits for the run's exit record and never parses a partial chunk
    lab.log_to_wandb(offline, {**_required(20), "slice_stats": _slice_stats()})
    done = Path(lab.finish_wandb_run(offline)["run_dir"])
    whole = lab4.tracking.read_chart_specs(done)
    assert set(whole) == set(lab4.tracking.SLICE_CHARTS)
    (source,) = done.glob("run-*.wandb")
    raw = source.read_bytes()
    copy = tmp_path / "copy"
    copy.mkdir()
    target = copy / source.name
    for cut in (7, 100, len(raw) // 2, len(raw) - 20, len(raw) - 1):
        target.write_bytes(raw[:cut])  # a flush caught part way: what is complete, no error
        assert set(lab4.tracking.read_chart_specs(copy, wait=0)) <= set(whole)
    target.write_bytes(raw[:len(raw) // 2])
    finisher = threading.Timer(0.3, lambda: target.write_bytes(raw))
    finisher.start()
    try:
        assert lab4.tracking.read_chart_specs(copy, wait=5) == whole
    finally:
        finisher.join()
