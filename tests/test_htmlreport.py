"""lab4.htmlreport and lab4.tools.classpage without a browser: what the pages embed, where they are written, and
the lines that point readers at them (tests/test_report_browser.py opens them in Chromium)."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import lab4.htmlreport as htmlreport
import lab4_helpers as lab


def _embedded(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="lab4-data">(.*?)</script>', text, re.S).group(1))


@pytest.fixture
def slices():
    return {"has_hashtag": lambda df: df.has_hashtag, "is_question": lambda df: df.is_question,
            "broken": lambda df: df.no_such_column}


def _session(tmp_path, tiny_eval, slices):
    session = lab.start_wandb_run(project="p", mode="disabled", directory=tmp_path)
    stats = lab.slice_stats(tiny_eval, {k: v for k, v in slices.items() if k != "broken"})
    lab.log_to_wandb(session, {"slice_stats": stats, "df_eval": tiny_eval},
                     config={"data_source": "written in the test"})
    return session, stats


def test_members_are_each_slices_rows_and_all_is_every_tweet(tiny_eval, slices):
    stats = lab.slice_stats(tiny_eval, {k: v for k, v in slices.items() if k != "broken"})
    data = htmlreport.report_data({"slice_stats": stats, "df_eval": tiny_eval}, slices=slices)
    assert data["members"]["all"] == list(range(len(tiny_eval)))
    assert data["members"]["has_hashtag"] == [i for i, t in enumerate(tiny_eval.text) if "#" in t]
    assert data["members"]["is_question"] == [i for i, t in enumerate(tiny_eval.text) if "?" in t]
    outcome = dict(zip(data["tweets"]["columns"], zip(*data["tweets"]["rows"])))["outcome"]
    assert outcome.count("regressed") == 2 and outcome.count("improved") == 1
    assert outcome.count("both_wrong") == 1 and outcome.count("both_correct") == 4


def test_a_slice_without_its_function_is_listed_as_unlisted(tiny_eval, slices):
    stats = lab.slice_stats(tiny_eval, {"has_hashtag": slices["has_hashtag"], "broken": lambda df: df.is_question})
    data = htmlreport.report_data({"slice_stats": stats, "df_eval": tiny_eval}, slices=slices)
    assert data["unlisted"] == ["broken"] and "has_hashtag" in data["members"]
    page = htmlreport.build_report({"slice_stats": stats, "df_eval": tiny_eval}, slices=slices)
    assert "Not listed (their slice functions were not passed to the report): broken." in page


@pytest.mark.parametrize("note, written", [("TODO", False), ("bad", False), (None, False),
                                           ("Candidate misses hashtags that carry the sentiment.", True)])
def test_each_slice_row_carries_its_note_judged_by_the_self_checks_rule(tiny_eval, slices, note, written):
    stats = lab.slice_stats(tiny_eval, {"has_hashtag": slices["has_hashtag"]})
    notes = pd.DataFrame({"slice": ["has_hashtag"], "note": [note]})
    rows = {r["slice"]: r for r in htmlreport.report_data(
        {"slice_stats": stats, "df_eval": tiny_eval, "slice_notes": notes}, slices=slices)["slices"]}
    assert rows["has_hashtag"]["note"] == note and rows["has_hashtag"]["note_written"] is written
    assert rows["all"]["note_written"] is False


def test_the_page_requests_nothing_and_cannot_be_broken_by_a_tweet(tiny_eval, slices):
    evil = tiny_eval.copy()
    evil.loc[0, "text"] = "</script><script>alert(1)</script> <!-- #fail"
    stats = lab.slice_stats(evil, {"has_hashtag": slices["has_hashtag"]})
    page = htmlreport.build_report({"slice_stats": stats, "df_eval": evil}, slices=slices)
    assert "default-src 'none'" in page and "connect-src 'none'" in page
    assert page.count("</script>") == 3  # Tabulator, the data block, the page's script: no tweet ends one
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page) and "sourceMappingURL" not in page
    assert _embedded(page)["tweets"]["rows"][0][1].startswith("</script><script>")


def test_finish_writes_the_report_next_to_the_notebook_and_says_where(tmp_path, tiny_eval, slices, capsys):
    session, _ = _session(tmp_path, tiny_eval, slices)
    info = lab.finish_wandb_run(session, slices=slices, report_dir=tmp_path / "nb")
    out = capsys.readouterr().out
    path = tmp_path / "nb" / htmlreport.REPORT_NAME
    assert info["report"] == str(path.absolute()) and path.is_file()
    assert info["report_in_run"] is None  # disabled: no run folder
    assert f"Slice report: {path.absolute()}\nOpen it in any browser; it needs no network." in out
    data = _embedded(path.read_text(encoding="utf-8"))
    assert [r["slice"] for r in data["slices"]][:1] and data["config"]["data_source"] == "written in the test"


def test_offline_run_gets_a_copy_in_its_run_folder(tmp_path, tiny_eval, slices, capsys):
    session = lab.start_wandb_run(project="p", mode="offline", directory=tmp_path)
    lab.log_to_wandb(session, {"slice_stats": lab.slice_stats(tiny_eval, {"q": slices["is_question"]}),
                               "df_eval": tiny_eval})
    info = lab.finish_wandb_run(session, slices=slices, report_dir=tmp_path)
    assert info["report_in_run"].startswith(str(tmp_path / "wandb")) and open(info["report_in_run"]).read() == \
        open(info["report"]).read()
    assert f"(a copy is in the run folder: {info['report_in_run']})" in capsys.readouterr().out


def test_no_report_without_slice_stats_and_a_readonly_folder_costs_nothing(tmp_path, tiny_eval, capsys):
    session = lab.start_wandb_run(project="p", mode="disabled", directory=tmp_path)
    info = lab.finish_wandb_run(session, report_dir=tmp_path)
    assert info["report"] is None and not (tmp_path / htmlreport.REPORT_NAME).exists()
    assert "Slice report" not in capsys.readouterr().out
    session = lab.start_wandb_run(project="p", mode="disabled", directory=tmp_path)
    lab.log_to_wandb(session, {"slice_stats": lab.slice_stats(tiny_eval, {}), "df_eval": tiny_eval})
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    info = lab.finish_wandb_run(session, report_dir=blocked)
    assert info["report"] is None and "Slice report: not written (" in capsys.readouterr().out


@pytest.mark.parametrize("value, plain", [(float("nan"), None), (pd.NA, None), (pd.NaT, None),
                                          (pd.Timestamp("2026-01-02"), "2026-01-02 00:00:00"), (True, True), (3, 3)])
def test_plain_values(value, plain):
    assert htmlreport._plain(value) == plain
