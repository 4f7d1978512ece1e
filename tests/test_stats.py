"""Step 5 evidence: intervals, McNemar, BH, slice discovery, plots and the ship memo."""
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import lab4_helpers as lab
import lab4.discovery
import lab4.metrics

def make_eval(base_ok, cand_ok, **metadata):
    """A minimal df_eval from two correctness vectors (labels all 'positive')."""
    base_ok, cand_ok = np.asarray(base_ok, bool), np.asarray(cand_ok, bool)
    n = len(base_ok)
    df = pd.DataFrame({"tweet_id": np.arange(n), "text": ["t"] * n, "label": ["positive"] * n})
    for col, val in metadata.items():
        df[col] = val
    df["baseline_pred"] = np.where(base_ok, "positive", "negative")
    df["candidate_pred"] = np.where(cand_ok, "positive", "neutral")
    df["baseline_conf"] = df["candidate_conf"] = 0.9
    df["baseline_correct"], df["candidate_correct"] = base_ok, cand_ok
    df["regressed"], df["improved"] = base_ok & ~cand_ok, ~base_ok & cand_ok
    return df


SLICES = {
    "negation": lambda df: df["has_negation"],
    "question": lambda df: df["is_question"],
}


def planted_eval(n=600, seed=0):
    """Candidate fails 80% on has_negation & is_question, 10% elsewhere; baseline 85% everywhere."""
    rng = np.random.default_rng(seed)
    neg, q = rng.random(n) < 0.5, rng.random(n) < 0.5
    weak = neg & q
    cand_ok = rng.random(n) >= np.where(weak, 0.8, 0.1)
    base_ok = rng.random(n) < 0.85
    return make_eval(base_ok, cand_ok, has_negation=neg, is_question=q,
                     length_bucket=rng.choice(["short", "medium", "long"], n),
                     n_chars=rng.integers(5, 280, n))


# --- known values -------------------------------------------------------------------------

@pytest.mark.parametrize("b, c, expected", [(8, 2, 0.109375), (2, 8, 0.109375), (0, 0, 1.0),
                                            (5, 5, 1.0), (10, 0, 2 / 1024)])
def test_mcnemar_known_values(b, c, expected):
    assert lab.mcnemar_exact_p(b, c) == pytest.approx(expected)


@pytest.mark.parametrize("k, n, lo, hi", [(7, 10, 0.40, 0.89), (0, 10, 0.0, 0.28), (10, 10, 0.72, 1.0)])
def test_wilson_known_values(k, n, lo, hi):
    got = lab.wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=0.005)


@pytest.mark.parametrize("call", [lambda: lab.wilson_interval(11, 10), lambda: lab.mcnemar_exact_p(-1, 3)])
def test_bad_counts_raise(call):
    with pytest.raises(ValueError, match="expected"):
        call()


# --- slice_stats --------------------------------------------------------------------------

def test_slice_stats_counts_and_columns():
    #          regressions (4)    fixes (1)  both right (3)  both wrong (2)
    base_ok = [1, 1, 1, 1] + [0] + [1, 1, 1] + [0, 0]
    cand_ok = [0, 0, 0, 0] + [1] + [1, 1, 1] + [0, 0]
    df = make_eval(base_ok, cand_ok, has_negation=[True] * 5 + [False] * 5, is_question=False)
    st = lab.slice_stats(df, SLICES).set_index("slice")
    assert list(st.reset_index().columns) == lab4.metrics._SLICE_STATS_COLUMNS
    assert st.loc["all", ["n", "regressions", "fixes"]].tolist() == [10, 4, 1]
    assert st.loc["all", "delta"] == pytest.approx(0.4 - 0.7)
    assert st.loc["negation", ["n", "regressions", "fixes"]].tolist() == [5, 4, 1]
    assert st.loc["all", "description"] == "every tweet"
    assert st.loc["all", "p_mcnemar"] == pytest.approx(lab.mcnemar_exact_p(4, 1))
    assert st["too_small"].all() and (st["verdict"] == "too small to judge").all()


def test_slice_stats_sorted_worst_first_and_empty_last():
    rng = np.random.default_rng(1)
    n = 300
    neg = rng.random(n) < 0.5
    base_ok = rng.random(n) < 0.8
    cand_ok = np.where(neg, rng.random(n) < 0.4, base_ok)
    df = make_eval(base_ok, cand_ok, has_negation=neg, is_question=False)
    slices = {**SLICES, "long": lambda df: df["n_chars"] > 100}
    df["n_chars"] = 50
    st = lab.slice_stats(df, slices)
    assert st["slice"].tolist() == ["negation", "all", "question", "long"]  # empty ones last
    assert st.loc[0, "verdict"] == "significant regression" and st.loc[0, "significant_regression"]
    for _, empty in st.iloc[2:].iterrows():
        assert empty["n"] == 0 and math.isnan(empty["delta"]) and math.isnan(empty["q_bh"])
        assert empty["too_small"] and not empty["significant_regression"]


def test_slice_stats_tie_broken_by_n():
    df = make_eval([1] * 40, [1] * 40, has_negation=[True] * 35 + [False] * 5, is_question=False)
    st = lab.slice_stats(df, {"small": lambda d: ~d["has_negation"], "big": lambda d: d["has_negation"]})
    assert st["slice"].tolist() == ["all", "big", "small"]


def test_descriptions_from_docstrings():
    def has_neg(df):
        """Tweets with a negation word.

        More text.
        """
        return df["has_negation"]

    df = make_eval([1, 0], [1, 1], has_negation=[True, False])
    st = lab.slice_stats(df, {"neg": has_neg, "anon": lambda d: d["has_negation"]}).set_index("slice")
    assert st.loc["neg", "description"] == "Tweets with a negation word."
    assert st.loc["anon", "description"] == ""


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("base_ok, cand_ok, case", [
    ([], [], "empty table"),
    ([1] * 50, [1] * 50, "all correct, b = c = 0"),
    ([0] * 50, [0] * 50, "all wrong, b = c = 0"),
])
def test_edge_cases_defined_without_warnings(base_ok, cand_ok, case):
    n = len(base_ok)
    df = make_eval(base_ok, cand_ok, has_negation=[False] * n, is_question=[False] * n)
    st = lab.slice_stats(df, SLICES)
    assert len(st) == 3
    tested = st[st["n"] > 0]
    assert (tested["p_mcnemar"] == 1.0).all() and (tested["q_bh"] == 1.0).all()
    assert not st["significant_regression"].any()
    empty = st[st["n"] == 0]
    assert empty[["baseline_acc", "candidate_acc", "delta", "p_mcnemar", "q_bh"]].isna().all().all()
    assert set(st["verdict"]) <= {"too small to judge", "no significant difference"}
    overall = lab.overall_metrics(df)
    assert overall["model"].tolist() == ["baseline", "candidate"]
    if n:
        assert overall["accuracy"].tolist() == [sum(base_ok) / n, sum(cand_ok) / n]
    else:
        assert overall["accuracy"].isna().all()


def test_bh_q_at_least_p():
    df = planted_eval()
    st = lab.slice_stats(df, {**SLICES, "long": lambda d: d["length_bucket"] == "long",
                              "weak": lambda d: d["has_negation"] & d["is_question"]})
    assert (st["q_bh"] >= st["p_mcnemar"] - 1e-12).all()
    assert st.set_index("slice").loc["weak", "significant_regression"]


def test_missing_column_message():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['candidate_correct'\]; found"):
        lab.slice_stats(pd.DataFrame({"baseline_correct": [True]}), {})


def test_reserved_all_name():
    df = make_eval([1], [1], has_negation=[True])
    with pytest.raises(ValueError, match="reserved"):
        lab.slice_stats(df, {"all": lambda d: d["has_negation"]})


# --- overall_metrics ----------------------------------------------------------------------

def test_overall_metrics_values_and_absent_class():
    df = pd.DataFrame({
        "label": ["negative", "negative", "positive", "positive"],
        "baseline_pred": ["negative", "positive", "positive", "positive"],
        "candidate_pred": ["negative", "negative", "positive", "negative"],
    })
    for m in ("baseline", "candidate"):
        df[f"{m}_correct"] = df[f"{m}_pred"] == df["label"]
    om = lab.overall_metrics(df).set_index("model")
    assert om.loc["baseline", "accuracy"] == 0.75
    assert om.loc["baseline", "recall_negative"] == 0.5 and om.loc["candidate", "recall_positive"] == 0.5
    assert om["recall_neutral"].isna().all()
    # baseline: F1 negative 2/3, positive 0.8, neutral 0 (absent) -> macro (2/3 + 0.8) / 3
    assert om.loc["baseline", "macro_f1"] == pytest.approx((2 / 3 + 0.8) / 3)
    assert om.loc["baseline", "accuracy_lo"] < 0.75 < om.loc["baseline", "accuracy_hi"]


# --- discovery ----------------------------------------------------------------------------

def test_discovery_finds_planted_slice():
    df = planted_eval()
    found = lab.discover_slices(df, slices=SLICES)
    assert list(found.columns) == lab4.discovery._DISCOVERY_COLUMNS
    top = found.iloc[0]
    assert top["slice"] == "has_negation & is_question"
    assert top["error_rate"] > 0.6 and top["rank"] == 1 and top["target"] == "candidate_error"
    assert top["candidate_acc"] == pytest.approx(1 - top["error_rate"])
    assert (found["n"] >= lab4.discovery.MIN_DISCOVERY_SUPPORT).all()
    assert (found["q_bh"] >= found["p_mcnemar"] - 1e-12).all()
    hyp = lab.rediscovered_hypotheses(found, SLICES)
    assert hyp.columns.tolist() == ["slice", "rediscovered", "by"]
    assert set(hyp["rediscovered"]) <= {"yes", "no"}
    # the planted slice is half of each hand-written slice: Jaccard ~0.5, so 'negation' is
    # found by the 1-predicate slice "has_negation" at least
    neg = hyp.set_index("slice").loc["negation"]
    assert neg["rediscovered"] == "yes" and "has_negation" in neg["by"]


@pytest.mark.parametrize("min_support", [100, 200])
def test_discovery_respects_min_support(min_support):
    found = lab.discover_slices(planted_eval(), min_support=min_support, target="regression")
    assert (found["n"] >= min_support).all()
    if min_support == 200:  # the planted slice has ~150 tweets: it cannot be reported
        assert "has_negation & is_question" not in set(found["slice"])


def test_discovery_nothing_to_find_and_bad_target():
    df = make_eval([1] * 60, [1] * 60, has_negation=[True, False] * 30)
    empty = lab.discover_slices(df)
    assert empty.empty and list(empty.columns) == lab4.discovery._DISCOVERY_COLUMNS
    assert lab.rediscovered_hypotheses(empty, ["negation"])["rediscovered"].tolist() == ["no"]
    with pytest.raises(ValueError, match="target must be"):
        lab.discover_slices(df, target="errors")


@pytest.mark.parametrize("value", [lambda i: ["#a", "#b"][: i % 3], lambda i: {"k": i % 2}, lambda i: {i % 2}])
def test_discovery_skips_container_columns_with_a_warning_naming_them(value):
    df = planted_eval()
    df["tags"] = [value(i) for i in range(len(df))]
    with pytest.warns(UserWarning, match=r"skipped column\(s\) \['tags'\]: they hold lists, dicts or sets"):
        found = lab.discover_slices(df, slices=SLICES)
    assert found.iloc[0]["slice"] == "has_negation & is_question"  # the rest is searched as before


def test_discretise_numeric_bins_are_readable():
    codes, texts = lab4.discovery._discretise(pd.Series(np.arange(100)), "n_chars")
    assert texts[0].startswith("n_chars <= ") and texts[3].startswith("n_chars > ")
    assert np.bincount(codes).tolist() == [25, 25, 25, 25]


# --- plots --------------------------------------------------------------------------------

@pytest.mark.parametrize("plot", [lab.plot_slice_accuracy, lab.plot_regressions])
def test_plots_one_group_per_slice(plot):
    df = planted_eval()
    slices = {f"s{i}": (lambda d, i=i: d["n_chars"] % 13 == i) for i in range(12)}
    slices["weak"] = lambda d: d["has_negation"] & d["is_question"]
    st = lab.slice_stats(df, slices)
    fig = plot(st)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.get_yticks()) == len(st) == 14
    assert all(len(c.patches) == len(st) for c in ax.containers if hasattr(c, "patches"))
    assert ax.get_yticklabels()[0].get_text().startswith(f"{st['slice'].iloc[0]} (n=")
    fig.savefig(__import__("io").BytesIO(), format="png")


# --- ship memo ----------------------------------------------------------------------------

def test_ship_memo_leans_against_on_regression():
    df = planted_eval()
    df["label"] = "positive"
    df["baseline_pred"] = np.where(df["baseline_correct"], "positive", "negative")
    df["candidate_pred"] = np.where(df["candidate_correct"], "positive", "negative")
    st = lab.slice_stats(df, {**SLICES, "weak": lambda d: d["has_negation"] & d["is_question"],
                              "tiny": lambda d: d["tweet_id"] < 5})
    synth = pd.DataFrame({"model": ["baseline", "candidate"], "failure_rate": [0.1, 0.5],
                          "lo": [0.05, 0.4], "hi": [0.15, 0.6]})
    memo = lab.ship_memo(st, lab.overall_metrics(df), synthetic_summary=synth)
    assert memo.columns.tolist() == ["item", "evidence", "reading"]
    assert memo["item"].iloc[-1] == "recommendation"
    rec = lab.ship_recommendation(memo)
    assert rec.startswith("Evidence leans against shipping") and "weak" in rec and "stress test" in rec
    items = memo.set_index("item")
    assert "weak" in items.loc["significant regressions", "evidence"]
    assert "tiny (n = 5)" in items.loc["too small to judge", "evidence"]
    assert "McNemar p" in items.loc["overall accuracy", "evidence"]


def test_ship_memo_inconclusive_without_concerns():
    df = make_eval([1, 0] * 50, [1, 0] * 50, has_negation=[True] * 100)
    memo = lab.ship_memo(lab.slice_stats(df, {"negation": lambda d: d["has_negation"]}),
                         lab.overall_metrics(df))
    assert lab.ship_recommendation(memo).startswith("Evidence is inconclusive")
    assert "stress test failure rate" not in set(memo["item"])


@pytest.mark.parametrize("cells, expected", [
    ((36, 2, 12, 0), (0.0569, 0.3404)),   # Newcombe (1998), paired example, method 10
    ((0, 0, 0, 0), (math.nan, math.nan)),
])
def test_paired_delta_interval_known_values(cells, expected):
    lo, hi = lab.paired_delta_interval(*cells)
    assert lo == pytest.approx(expected[0], abs=1e-4, nan_ok=True)
    assert hi == pytest.approx(expected[1], abs=1e-4, nan_ok=True)


@pytest.mark.parametrize("cells", [(5, 0, 0, 0), (0, 0, 0, 5), (3, 4, 0, 0), (0, 0, 7, 0), (10, 3, 5, 2)])
def test_paired_delta_interval_contains_delta_and_stays_in_range(cells):
    a, b, c, d = cells
    delta = (c - b) / sum(cells)
    lo, hi = lab.paired_delta_interval(*cells)
    assert -1 <= lo <= delta <= hi <= 1


def test_ship_memo_reports_perturbation_brittleness():
    df = make_eval([1] * 50 + [0] * 50, [1] * 80 + [0] * 20)
    stats = lab.slice_stats(df, {})
    overall = pd.DataFrame({"model": ["baseline", "candidate"], "macro_f1": [0.5, 0.6],
                            **{f"recall_{l}": [0.5, 0.6] for l in lab.LABELS}})
    perturbations = pd.DataFrame({"test": ["add_url", "add_url", "add_typo", "add_typo"],
                                  "model": ["baseline", "candidate"] * 2,
                                  "failure_rate": [0.0, 0.3, 0.1, 0.12], "lo": [0.0, 0.2, 0.05, 0.06],
                                  "hi": [0.07, 0.42, 0.2, 0.22]})
    memo = lab.ship_memo(stats, overall, perturbations=perturbations).set_index("item")
    assert memo.loc["perturbation tests", "evidence"].startswith("add_url: candidate 30% vs baseline 0%")
    assert "add_typo" not in memo.loc["perturbation tests", "evidence"]
    assert "less robust than the baseline under add_url" in lab.ship_recommendation(memo.reset_index())
