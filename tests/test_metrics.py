"""Step 5: the evaluation table, slice and regression metrics, and their invariants."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import lab4_helpers as lab
import lab4.metrics


def test_eval_table_outcomes(tiny_eval):
    assert tiny_eval["regressed"].tolist() == [True, False, False, False, True, False, False, False]
    assert tiny_eval["improved"].tolist() == [False, False, False, True, False, False, False, False]
    assert tiny_eval["both_wrong"].tolist() == [False] * 7 + [True]
    assert tiny_eval["confident_regression"].sum() == 2  # candidate conf 0.85 >= 0.8
    outcome = tiny_eval[["regressed", "improved", "both_wrong", "both_correct"]].sum(axis=1)
    assert (outcome == 1).all()


def test_eval_table_keeps_metadata_columns_without_a_list(tiny_eval):
    assert {"has_hashtag", "n_emoji", "length_bucket"} <= set(tiny_eval.columns)


def test_eval_table_needs_both_models():
    long = pd.DataFrame({"tweet_id": [0], "text": ["x"], "label": ["neutral"], "model": ["baseline"],
                         "pred": ["neutral"], "conf": [0.5]})
    with pytest.raises(ValueError, match="'baseline' and 'candidate'"):
        lab.build_eval_table(long)


def test_slice_metrics_counts_and_order(tiny_eval):
    table = lab.slice_metrics(tiny_eval, {"has_hashtag": lambda d: d.has_hashtag}, min_n=3)
    row = table[(table.slice == "has_hashtag") & (table.model == "candidate")].iloc[0]
    assert (row.n, row.correct, row.accuracy, row.too_small) == (2, 0, 0.0, True)
    assert table["accuracy"].is_monotonic_increasing  # worst first


def test_regression_metrics_rates(tiny_eval):
    table = lab.regression_metrics(tiny_eval, {"has_hashtag": lambda d: d.has_hashtag}).set_index("slice")
    assert table.loc["has_hashtag", ["n", "regressions", "fixes"]].tolist() == [2, 2, 0]
    assert table.loc["has_hashtag", "regression_rate"] == 1.0
    assert table.loc["all", "net"] == 1 - 2


@pytest.mark.parametrize("predicate", [lambda d: d.text == "nobody", lambda d: d.label == "neutral"])
def test_empty_and_uniform_slices_give_defined_rows(tiny_eval, predicate):
    with np.errstate(all="raise"):
        sm = lab.slice_metrics(tiny_eval, {"s": predicate})
        rm = lab.regression_metrics(tiny_eval, {"s": predicate})
    n = int(predicate(tiny_eval).sum())
    assert (sm[sm.slice == "s"]["n"] == n).all() and rm.set_index("slice").loc["s", "n"] == n
    if n == 0:
        assert sm[sm.slice == "s"]["accuracy"].isna().all()
        assert np.isnan(rm.set_index("slice").loc["s", "regression_rate"])


outcomes = st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()), min_size=0, max_size=60)


@settings(max_examples=150, deadline=None)
@given(outcomes)
def test_metric_invariants(rows):
    base_ok = np.array([r[0] for r in rows], dtype=bool)
    cand_ok = np.array([r[1] for r in rows], dtype=bool)
    df = pd.DataFrame({
        "tweet_id": range(len(rows)), "text": [f"t{i}" for i in range(len(rows))], "label": "neutral",
        "flag_a": [r[2] for r in rows], "flag_b": [r[3] for r in rows],
        "baseline_correct": base_ok, "candidate_correct": cand_ok,
        "regressed": base_ok & ~cand_ok, "improved": ~base_ok & cand_ok,
        "both_wrong": ~base_ok & ~cand_ok, "both_correct": base_ok & cand_ok,
        "confident_regression": base_ok & ~cand_ok,
    })
    slices = {"a": lambda d: d.flag_a, "b": lambda d: d.flag_b, "ab": lambda d: d.flag_a & d.flag_b}
    reg = lab.regression_metrics(df, slices).set_index("slice")
    total = reg[["regressions", "fixes", "both_wrong", "both_correct"]].sum(axis=1)
    assert (total == reg["n"]).all()
    for name, fn in slices.items():
        assert reg.loc[name, "n"] == int(fn(df).sum())
    stats = lab.slice_stats(df, slices)
    for model in ("baseline", "candidate"):
        tested = stats[stats["n"] > 0]
        assert ((tested[f"{model}_lo"] <= tested[f"{model}_acc"] + 1e-12)
                & (tested[f"{model}_acc"] <= tested[f"{model}_hi"] + 1e-12)).all()
        assert ((tested[f"{model}_lo"] >= 0) & (tested[f"{model}_hi"] <= 1)).all()


def test_row_accounting_adds_up_end_to_end(write_csv, offline_models):
    models, cache = offline_models
    path = write_csv("text,label\ngood day,positive\n,negative\nbad day,negative\nbad day,negative\nok,maybe_not\n")
    with pytest.raises(ValueError, match="maybe_not"):
        lab.load_tweets(path, verbose=False)
    path = write_csv("text,label\ngood day,positive\n,negative\nbad day,negative\nbad day,negative\nfine,\n")
    tweets, dropped = lab.load_tweets(path, verbose=False)
    df_eval = lab.build_eval_table(lab.run_models(lab.add_slice_metadata(tweets), models, cache_dir=cache,
                                                  progress=False))
    config = lab.run_config(tweets, dropped, models)
    assert len(df_eval) + len(dropped) == 5
    assert config["n_source_rows"] == 5 and config["rows/evaluated"] == 2
    assert sum(v for k, v in config.items() if k.startswith("rows/")) == 5


def _eval_from(labels, base, cand):
    tweets = pd.DataFrame({"tweet_id": range(len(labels)), "text": [f"t{i}" for i in range(len(labels))],
                           "label": labels})
    long = pd.concat([tweets.assign(model="baseline", model_id="b", pred=base, conf=0.9),
                      tweets.assign(model="candidate", model_id="c", pred=cand, conf=0.9)], ignore_index=True)
    return lab.build_eval_table(long)


def test_one_verdict_rule_overall_row_memo_and_headline_agree(capsys):
    # small one-class data: 6 regressions vs 0 fixes, exact p = 0.031 (< 0.05) but no slices to correct for
    labels = ["negative"] * 12
    base = ["negative"] * 12
    cand = ["neutral"] * 6 + ["negative"] * 6
    df_eval = _eval_from(labels, base, cand)
    stats = lab.slice_stats(df_eval, {"half": lambda d: d.tweet_id < 6})
    overall = lab.overall_metrics(df_eval)
    memo = lab.ship_memo(stats, overall).set_index("item")
    all_row = stats.set_index("slice").loc["all"]
    assert all_row["q_bh"] == all_row["p_mcnemar"]              # the overall test is one pre-planned test
    assert all_row["verdict"] == "significant regression"
    assert memo.loc["overall accuracy", "reading"] == "candidate significantly less accurate"
    assert "weigh that against the gain" not in memo.loc["recommendation", "reading"]
    lab.print_headline(overall, df_eval)
    out = capsys.readouterr().out
    assert "significant regression" in out
    assert "no tweet is labelled neutral, positive" in out and "not comparable" in out


def test_memo_names_a_collapsed_class():
    labels = ["positive"] * 40 + ["negative"] * 40 + ["neutral"] * 40
    base = ["positive"] * 30 + ["neutral"] * 10 + ["negative"] * 20 + ["neutral"] * 20 + ["neutral"] * 40
    cand = ["neutral"] * 120                                    # predicts neutral for every tweet
    df_eval = _eval_from(labels, base, cand)
    memo = lab.ship_memo(lab.slice_stats(df_eval, {}), lab.overall_metrics(df_eval)).set_index("item")
    assert "positive recall collapses" in memo.loc["recommendation", "evidence"]
    assert memo.loc["recommendation", "reading"].startswith("Evidence leans against shipping")


def test_memo_names_slices_that_lose_without_significance_as_a_caveat():
    # 200 tweets: the candidate fixes 40 overall; on the first 60 it breaks 8 and fixes 4 (worse, q well above 0.05)
    labels = ["negative"] * 200
    base = ["negative"] * 8 + ["neutral"] * 4 + ["negative"] * 48 + ["neutral"] * 40 + ["negative"] * 100
    cand = ["neutral"] * 8 + ["negative"] * 4 + ["negative"] * 48 + ["negative"] * 40 + ["negative"] * 100
    df_eval = _eval_from(labels, base, cand)
    stats = lab.slice_stats(df_eval, {"first": lambda d: d.tweet_id < 60, "rest": lambda d: d.tweet_id >= 60})
    memo = lab.ship_memo(stats, lab.overall_metrics(df_eval)).set_index("item")
    assert memo.loc["worse, not significantly", "evidence"].startswith("first (delta -0.067, q = ")
    assert memo.loc["significant regressions", "evidence"] == "none"
    reading = memo.loc["recommendation", "reading"]
    assert reading.startswith("Evidence leans towards shipping")
    assert "But the candidate is worse, though not significantly, on first: weigh that against the gain." in reading
    better = lab.ship_memo(lab.slice_stats(df_eval, {"rest": lambda d: d.tweet_id >= 60}),
                           lab.overall_metrics(df_eval)).set_index("item")
    assert better.loc["worse, not significantly", "evidence"] == "none"


@pytest.mark.parametrize("table", ["slice_metrics", "regression_metrics", "slice_stats"])
def test_too_small_is_one_definition(table):
    # 40 tweets (n >= 30) but accuracy near 0.5 gives a Wilson interval wider than 0.30 only below ~40:
    labels = ["negative"] * 35
    base = ["negative"] * 18 + ["neutral"] * 17
    df_eval = _eval_from(labels, base, base)
    got = getattr(lab, table)(df_eval, {})
    flag = bool(got.loc[got["slice"] == "all", "too_small"].iloc[0])
    expected = bool(lab4.metrics.too_small([35], [18], [18])[0])
    assert flag == expected is True


def test_memo_says_when_stress_and_perturbation_tests_could_not_run():
    labels = ["negative", "neutral", "positive"] * 20
    df_eval = _eval_from(labels, labels, labels)
    unscored = pd.DataFrame({"model": ["baseline", "candidate"], "failure_rate": [np.nan, 0.2], "lo": [np.nan, 0.1],
                             "hi": [np.nan, 0.4]})
    skipped = pd.DataFrame({"test": ["add_hashtag"] * 2, "model": ["baseline", "candidate"],
                            "failure_rate": [np.nan, np.nan], "lo": [np.nan] * 2, "hi": [np.nan] * 2})
    memo = lab.ship_memo(lab.slice_stats(df_eval, {}), lab.overall_metrics(df_eval), synthetic_summary=unscored,
                         perturbations=skipped).set_index("item")
    assert memo.loc["stress test failure rate", "evidence"] == "not scored for baseline"
    assert memo.loc["perturbation tests", "evidence"] == "not run"


def test_compare_models_shows_both_models_per_slice_worst_candidate_first():
    df = pd.DataFrame({"x": [True] * 4 + [False] * 4, "y": [True, False] * 4,
                       "baseline_correct": [True, True, False, False, True, True, True, False],
                       "candidate_correct": [False, False, False, True, True, True, True, True]})
    long = lab.slice_metrics(df, {"x": lambda d: d.x, "y": lambda d: d.y}, min_n=2)
    wide = lab.compare_models(long)
    assert wide["slice"].tolist() == ["x", "y", "all"] and len(wide) == long["slice"].nunique()
    assert wide.set_index("slice").loc["x", ["n", "baseline_acc", "candidate_acc"]].tolist() == [4, 0.5, 0.25]
    assert (wide["delta"] == wide["candidate_acc"] - wide["baseline_acc"]).all()
    with pytest.raises(lab.MissingColumnError, match=r"missing column\(s\) \['model'\].*lab.slice_metrics"):
        lab.compare_models(long.drop(columns="model"))
