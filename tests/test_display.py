"""lab.show: readable views that keep the tables themselves numeric."""
import re

import numpy as np
import pandas as pd
import pytest

import lab4_helpers as lab
from lab4.display import fmt_p

RAW = re.compile(r">\s*-?\d+\.\d{6,}\s*<|>\s*-?\d+\.\d{4,}e[-+]?\d+\s*<")


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(0)
    n = 400
    texts = [f"tweet {i} {'#tag' if i % 3 == 0 else ''} {'not ' if i % 4 == 0 else ''}fine" for i in range(n)]
    labels = rng.choice(list(lab.LABELS), n)
    tweets = lab.add_slice_metadata(pd.DataFrame({"tweet_id": range(n), "text": texts, "label": labels}))
    base = np.where(rng.random(n) < 0.6, labels, "neutral")
    cand = np.where(rng.random(n) < 0.7, labels, "negative")
    long = pd.concat([tweets.assign(model="baseline", model_id="b", pred=base, conf=0.9),
                      tweets.assign(model="candidate", model_id="c", pred=cand, conf=0.8)], ignore_index=True)
    df_eval = lab.build_eval_table(long)
    slices = lab.default_slices()
    stats = lab.slice_stats(df_eval, slices)
    overall = lab.overall_metrics(df_eval)
    discovered = pd.concat([lab.discover_slices(df_eval, target=t, slices=slices) for t in ("candidate_error", "regression")])
    return {"slice_stats": stats, "overall": overall, "slice_metrics": lab.slice_metrics(df_eval, slices),
            "regression_metrics": lab.regression_metrics(df_eval, slices), "discovered": discovered,
            "ship_memo": lab.ship_memo(stats, overall), "describe": lab.describe_slices(tweets, slices)}


@pytest.mark.parametrize("name", ["slice_stats", "overall", "slice_metrics", "regression_metrics", "discovered",
                                  "ship_memo", "describe"])
def test_views_render_without_raw_floats_and_keep_the_table_numeric(tables, name):
    table = tables[name]
    before = table.copy()
    html = lab.show(table).to_html()
    assert not RAW.search(html), RAW.search(html)
    pd.testing.assert_frame_equal(table, before)          # the table itself is unchanged


def test_slice_stats_view_has_the_decision_column_and_one_cell_intervals(tables):
    view = lab.show(tables["slice_stats"]).data
    assert "verdict" in view.columns and "delta [95% CI]" in view.columns
    assert re.fullmatch(r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]", view["delta [95% CI]"].iloc[0])


def test_duplicate_index_and_explicit_columns(tables):
    doubled = pd.concat([tables["overall"], tables["overall"]])       # index 0, 1, 0, 1
    assert "accuracy" in lab.show(doubled, ["model", "accuracy"]).to_html()
    with pytest.raises(KeyError, match="no column"):
        lab.show(tables["overall"], ["nope"])


@pytest.mark.parametrize("p, text", [(0.177001, "0.18"), (3.8e-34, "3.8e-34"), (1.0, "1"), (0.0012, "0.0012"),
                                     (float("nan"), "")])
def test_compact_p_values(p, text):
    assert fmt_p(p) == text


def test_plain_text_form_is_the_formatted_table(tables):
    text = repr(lab.show(tables["slice_stats"]))
    assert "verdict" in text and "Styler object" not in text
    assert re.search(r"[+-]\d\.\d{3} \[", text)


def test_flags_with_missing_values_show_blank():
    frame = pd.DataFrame({"text": ["a", "b", "c"], "candidate_fails": pd.array([True, False, None], dtype="boolean")})
    assert lab.show(frame).data["candidate_fails"].tolist()[:2] == [True, False]
    assert "yes" in lab.show(frame).to_html() and "<NA>" not in repr(lab.show(frame))
