"""Tests of Step 7: prompt, parser, scoring, perturbations. Fake keyword models only."""
import random
import warnings

import numpy as np
import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.perturb
import lab4.stress
# ------------------------------------------------------------------------------------------------
# fixtures: keyword "models" and a small df_eval built with the module's own Step 3-5 functions
# ------------------------------------------------------------------------------------------------

POSITIVE_WORDS = ("love", "great", "good", "best", "amazing", "happy", "fine")
NEGATIVE_WORDS = ("hate", "worst", "bad", "awful", "terrible", "disappointed")


def keyword_predict(texts, *, reads_negation=False):
    """positive / negative by keyword, else neutral; ``reads_negation`` flips polarity after 'not'/n't."""
    out = []
    for text in texts:
        low = text.lower()
        pos = any(w in low for w in POSITIVE_WORDS)
        neg = any(w in low for w in NEGATIVE_WORDS)
        label = "positive" if pos and not neg else "negative" if neg and not pos else "neutral"
        if reads_negation and label != "neutral" and ("not " in low or "n't" in low or "never" in low):
            label = "negative" if label == "positive" else "positive"
        out.append((label, 0.9 if label != "neutral" else 0.6))
    return out


def make_models(calls=None):
    """baseline reads negation, candidate does not (the lab's hypothesis, in miniature)."""
    def counted(role, **kw):
        def predict(texts):
            if calls is not None:
                calls.append((role, list(texts)))
            return keyword_predict(texts, **kw)
        return predict

    return {"baseline": lab.SentimentModel("baseline", "kw-neg", "fake", "kw-neg-1",
                                           counted("baseline", reads_negation=True)),
            "candidate": lab.SentimentModel("candidate", "kw", "fake", "kw-1", counted("candidate"))}


EVAL_TWEETS = [
    ("not bad at all, I liked it", "positive"), ("the movie was not good", "negative"),
    ("I don't love this update", "negative"), ("never disappointed by this band", "positive"),
    ("great game tonight #win", "positive"), ("worst service ever @user", "negative"),
    ("the bus leaves at 9 http://t.co/abc", "neutral"), ("I love Mondays", "positive"),
    ("the store is open today", "neutral"), ("it isn't open on Sunday", "neutral"),
]


@pytest.fixture
def df_eval():
    tweets = lab.add_slice_metadata(pd.DataFrame({"tweet_id": range(len(EVAL_TWEETS)),
                                                  "text": [t for t, _ in EVAL_TWEETS],
                                                  "label": [y for _, y in EVAL_TWEETS]}))
    models = make_models()
    parts = []
    for role, model in models.items():
        preds = model.predict_batch(list(tweets["text"]))
        parts.append(tweets.assign(model=role, model_id=model.model_id, pred=[p for p, _ in preds],
                                   conf=[c for _, c in preds]))
    return lab.build_eval_table(pd.concat(parts, ignore_index=True))


@pytest.fixture
def slices():
    return lab.default_slices()


# ------------------------------------------------------------------------------------------------
# build_generation_prompt
# ------------------------------------------------------------------------------------------------

def test_prompt_names_hypothesis_slice_examples_and_format(df_eval, slices):
    prompt = lab.build_generation_prompt("SAMPLE: The candidate ignores negation.", "has_negation", df_eval, slices)
    assert "Hypothesis about where it fails: The candidate ignores negation." in prompt  # SAMPLE: dropped
    assert '"has_negation"' in prompt and "Tweets with a negation" in prompt
    assert "exactly 4 negative, 3 neutral, 3 positive" in prompt
    assert "1. <tweet text> | <label>" in prompt and "@user" in prompt and "http://t.co/" in prompt
    shown = [line for line in prompt.splitlines() if line.startswith('- "')]
    assert len(shown) == lab4.stress.PROMPT_EXAMPLES
    regressions = set(df_eval.loc[df_eval["regressed"] & df_eval["has_negation"], "text"])
    assert regressions and {line.split('"')[1] for line in shown[:len(regressions)]} == regressions
    assert all("(true label: " in line for line in shown)


def test_prompt_options_and_determinism(df_eval, slices):
    one = lab.build_generation_prompt("h", "has_negation", df_eval, slices, n_cases=5, n_examples=2, seed=1)
    assert one == lab.build_generation_prompt("h", "has_negation", df_eval, slices, n_cases=5, n_examples=2, seed=1)
    assert "Write 5 new" in one and "exactly 2 negative, 2 neutral, 1 positive" in one
    assert sum(line.startswith('- "') for line in one.splitlines()) == 2
    free = lab.build_generation_prompt("h", "has_negation", df_eval, slices, balanced=False)
    assert "any mix" in free and "exactly" not in free.split("Labels:")[1].split("\n")[0]


@pytest.mark.parametrize("hypothesis, slice_name, message", [
    ("h", "has_negatoin", "unknown slice 'has_negatoin'; known slices: 'has_hashtag'"),
    ("h", "emoji_dense", "slice 'emoji_dense' has no tweets"),
    ("  ", "has_negation", "HYPOTHESIS is empty"),
    ("SAMPLE:", "has_negation", "HYPOTHESIS is empty"),
])
def test_prompt_errors(df_eval, slices, hypothesis, slice_name, message):
    with pytest.raises(ValueError, match=message):
        lab.build_generation_prompt(hypothesis, slice_name, df_eval, slices)


# ------------------------------------------------------------------------------------------------
# parse_generated_cases: realistic pastes
# ------------------------------------------------------------------------------------------------

THREE = [("not bad at all", "positive"), ("never again", "negative"), ("doors at 7", "neutral")]
TWO = THREE[:2]
PASTES = {
    "numbered_dot_pipe": ("# SAMPLE\n1. not bad at all | positive\n2. never again | Negative\n3. doors at 7 | neutral",
                          THREE),
    "numbered_paren_arrow": ("1) not bad at all -> pos\n2) never again → neg\n(3) doors at 7 => neutral", THREE),
    "bullets_dash_label": ("- not bad at all - positive\n* never again – negative\n• doors at 7 — neutral", THREE),
    "paren_label": ("not bad at all (positive)\nnever again [Negative]\ndoors at 7 (Sentiment: neutral)", THREE),
    "leading_label": ("[positive] not bad at all\nNegative: never again\n(neutral) doors at 7", THREE),
    "quotes_straight_curly": ("1. \"not bad at all\" | positive\n2. “never again” - negative\n"
                              "3. 'doors at 7' (neutral)", THREE),
    "chatty_fenced": ("Sure! Here are 3 tweets:\n\n```\n1. not bad at all | positive\n2. never again | negative\n"
                      "3. doors at 7 | neutral\n```\nHope this helps!", THREE),
    "json_objects_fenced": ("Here you go:\n```json\n[\n {\"tweet\": \"not bad at all\", \"sentiment\": \"Positive\"},\n"
                            " {\"text\": \"never again\", \"label\": \"neg\"},\n"
                            " {\"text\": \"doors at 7\", \"expected_label\": \"neutral\"}\n]\n```", THREE),
    "json_strings": ("[\"not bad at all | positive\", \"never again (negative)\", \"doors at 7\"]",
                     [*TWO, ("doors at 7", None)]),
    "json_lines_python_quotes": ("{\"text\": \"not bad at all\", \"label\": \"positive\"}\n"
                                 "{'text': \"never again\", 'label': 'negative'}", TWO),
    "csv_header": ("text,label\n\"not bad, at all\",positive\nnever again, ugh,negative\ndoors at 7,neutral",
                   [("not bad, at all", "positive"), ("never again, ugh", "negative"), ("doors at 7", "neutral")]),
    "markdown_table": ("| # | Tweet | Label |\n|---|---|---|\n| 1 | not bad at all | **Positive** |\n"
                       "| 2 | never again | negative |", TWO),
    "tweet_and_label_lines": ("1. Tweet: not bad at all\n   Label: positive\n2. Tweet: never again\n"
                              "   Sentiment: Negative", TWO),
    "label_sections": ("Here they are:\nPositive\n1. not bad at all\n2. love it\n### Negative tweets\n3. never again",
                       [("not bad at all", "positive"), ("love it", "positive"), ("never again", "negative")]),
    "label_line_under_plain_tweet": ("not bad at all\npositive\nnever again\nnegative", TWO),
    "plain_lines_with_intro": ("Here are three tweets:\nnot bad at all\n#MondayMotivation never again\ndoors at 7\n"
                               "Let me know!", [(t, None) for t in ("not bad at all", "#MondayMotivation never again",
                                                                     "doors at 7")]),
    "tweet_n_prefix_bold": ("**Tweet 1:** not bad at all | positive\n**Tweet 2:** never again | negative", TWO),
}


@pytest.mark.parametrize("raw, expected", PASTES.values(), ids=PASTES.keys())
def test_parser_reads_realistic_pastes(raw, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # count / missing-label / ignored-line warnings are tested below
        cases = lab.parse_generated_cases(raw, expected_n=None)
    assert list(cases.columns) == ["text", "expected_label", "line", "issues"]
    got = [(t, None if pd.isna(y) else y) for t, y in zip(cases["text"], cases["expected_label"])]
    assert got == expected
    assert cases["line"].is_monotonic_increasing and cases["line"].min() >= 1


def test_parser_line_numbers_and_dtypes():
    raw = "\n# SAMPLE\n1. not bad at all | positive\n\n2. never again"
    with pytest.warns(UserWarning, match="line 5: no label"):
        cases = lab.parse_generated_cases(raw, expected_n=2)
    assert cases["line"].tolist() == [3, 5]
    assert str(cases["expected_label"].dtype) == "string" and pd.isna(cases["expected_label"].iloc[1])
    assert cases["issues"].tolist() == ["", "no label"]


def test_clean_paste_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cases = lab.parse_generated_cases("1. a | positive\n2. b | negative\n3. c | neutral", expected_n=3)
    assert (cases["issues"] == "").all()


def test_trailing_dash_only_splits_on_a_label_word():
    with pytest.warns(UserWarning, match="no label"):
        cases = lab.parse_generated_cases("1. a well-known fact - the store is closed\n2. test result: positive",
                                          expected_n=2)
    assert cases["text"].tolist() == ["a well-known fact - the store is closed", "test result: positive"]
    assert cases["expected_label"].isna().all()


@pytest.mark.parametrize("raw, kwargs, pattern, issue", [
    ("1. same tweet | positive\n2. Same  tweet | negative", {}, "line 2: duplicate of line 1", "duplicate of line 1"),
    ("1. " + "x" * 281 + " | neutral", {}, "281 characters \\(over 280\\)", "281 characters (over 280)"),
    ("1. I love Mondays | positive", {"reference_texts": pd.Series(["i love  mondays"])},
     "copied from a reference tweet", "copied from a reference tweet"),
    ("1. no label here", {}, "(?s)no label.*Add labels", "no label"),
    ("1. meh | sarcastic", {}, "label 'sarcastic' not understood", "label 'sarcastic' not understood"),
    ("1. | positive", {}, "empty text", "empty text"),
])
def test_parser_warns_about_row_problems(raw, kwargs, pattern, issue):
    with pytest.warns(UserWarning, match=pattern):
        cases = lab.parse_generated_cases(raw, expected_n=None, **kwargs)
    assert issue in cases["issues"].iloc[-1]


def test_parser_warns_about_count_and_ignored_chat_in_one_warning():
    raw = "Sure! Here are 10 tweets:\n1. a | positive\n2. b | negative\nI hope these help."
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cases = lab.parse_generated_cases(raw, expected_n=10)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "found 2 cases, expected 10" in message
    assert "ignored line 1: 'Sure! Here are 10 tweets:'" in message and "ignored line 4" in message
    assert cases.attrs["ignored_lines"] == [(1, "Sure! Here are 10 tweets:"), (4, "I hope these help.")]


@pytest.mark.parametrize("raw", ["", "   \n\n", "# SAMPLE only\n```\n```", "Sure, here you go:"])
def test_parser_empty_paste_is_a_clear_error(raw):
    with pytest.raises(ValueError, match="Paste the LLM's answer into GENERATED_CASES_TEXT"):
        lab.parse_generated_cases(raw)


def test_parser_rejects_non_text():
    with pytest.raises(TypeError, match="one string"):
        lab.parse_generated_cases(["a | positive"])


# ------------------------------------------------------------------------------------------------
# perturbation functions
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, text, expected", [
    (lab4.perturb.remove_hashtags, "so #blessed today #tbt", "so blessed today tbt"),
    (lab4.perturb.remove_hashtags, "no tags", None),
    (lab4.perturb.add_mention, "love it", "@user love it"),
    (lab4.perturb.remove_mentions, "RT @user: love it @bob", "RT love it"),
    (lab4.perturb.remove_mentions, "love it", None),
    (lab4.perturb.remove_urls, "look http://t.co/xyz now www.x.com", "look now"),
    (lab4.perturb.remove_urls, "just http://t.co/xyz", "just"),
    (lab4.perturb.remove_urls, "http://t.co/xyz", None),  # nothing left: not applicable
    (lab4.perturb.change_case, "Not BAD", "not bad"),
    (lab4.perturb.change_case, "already lower", None),
    (lab4.perturb.add_typo, "ok so", None),  # no word of 4+ letters
    (lab4.perturb.add_typo, "@someone #hashtag http://t.co/abcdef", None),  # only handles, tags and links
    (lab4.perturb.add_negation, "the movie is good", "the movie is not good"),
    (lab4.perturb.add_negation, "I can do it", "I cannot do it"),
    (lab4.perturb.add_negation, "it's great", "it's not great"),
    (lab4.perturb.add_negation, "I love it", "I don't love it"),
    (lab4.perturb.add_negation, "it is not bad, it was fine", "it is not bad, it was not fine"),
    (lab4.perturb.add_negation, "great stuff", None),
    (lab4.perturb.add_negation, "and here I am.", None),  # an auxiliary that ends the clause is left alone
    (lab4.perturb.add_negation, "it isn't good", None),
])
def test_perturbation_functions(fn, text, expected):
    assert fn(text, random.Random(0)) == expected


ALL_PERTURBATIONS = [lab4.perturb.add_hashtag, lab4.perturb.remove_hashtags, lab4.perturb.add_mention, lab4.perturb.remove_mentions, lab4.perturb.add_url,
                     lab4.perturb.remove_urls, lab4.perturb.add_neutral_emoji, lab4.perturb.change_case, lab4.perturb.add_typo, lab4.perturb.add_negation,
                     lab4.perturb.append_negative_clause, lab4.perturb.append_positive_clause]


@pytest.mark.parametrize("fn", ALL_PERTURBATIONS, ids=lambda f: f.__name__)
def test_perturbations_are_deterministic_and_skip_blank_text(fn):
    text = "@user The Movie is GREAT #win http://t.co/abc"
    first = [fn(text, random.Random(7)) for _ in range(3)]
    assert first[0] is not None and len(set(first)) == 1 and first[0] != text
    assert fn(text) == fn(text)  # default rng is seeded too
    assert fn("", random.Random(7)) is None and fn("   ", random.Random(7)) is None


def test_random_additions_use_the_documented_pools():
    rng = random.Random(3)
    assert lab4.perturb.add_hashtag("x", rng).split()[-1] in lab4.perturb.PERTURB_HASHTAGS
    assert lab4.perturb.add_neutral_emoji("x", rng).split()[-1] in lab4.perturb.PERTURB_EMOJI
    assert lab4.perturb.add_url("x", rng).split()[-1].startswith("http://t.co/")
    assert lab4.perturb.append_negative_clause("x", rng)[2:] in lab4.perturb.NEGATIVE_CLAUSES
    assert lab4.perturb.append_positive_clause("x", rng)[2:] in lab4.perturb.POSITIVE_CLAUSES
    typo = lab4.perturb.add_typo("terrible", rng)
    assert sorted(typo) == sorted("terrible") and typo != "terrible" and typo[0] + typo[-1] == "te"


# ------------------------------------------------------------------------------------------------
# score_generated_cases
# ------------------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ["model", "n_cases", "failures", "failure_rate", "lo", "hi", "slice_n", "slice_error_rate",
                   "slice_lo", "slice_hi", "regressions", "regression_rate"]


def cases_frame(rows):
    return pd.DataFrame({"text": [t for t, _ in rows],
                         "expected_label": pd.array([y for _, y in rows], dtype="string")})


def test_scoring_columns_failures_and_regressions(tmp_path, df_eval, slices):
    cases = cases_frame([("not bad at all", "positive"), ("I love it", "positive"), ("the bus is here", "neutral"),
                         ("not good", "negative"), ("meh", None)])
    scored, summary = lab.score_generated_cases(cases, make_models(), df_eval=df_eval, slices=slices,
                                                slice_name="has_negation", cache_dir=tmp_path)
    for col in ("n_chars", "has_negation", "baseline_pred", "baseline_conf", "candidate_pred", "candidate_conf",
                "agree", "baseline_fails", "candidate_fails", "regression", "in_slice"):
        assert col in scored
    assert scored["candidate_fails"].tolist()[:4] == [True, False, False, True]
    assert scored["baseline_fails"].tolist()[:4] == [False, False, False, False]
    assert pd.isna(scored["candidate_fails"].iloc[4]) and pd.isna(scored["regression"].iloc[4])
    assert scored["regression"].tolist()[:4] == [True, False, False, True]
    assert scored["in_slice"].tolist() == [True, False, False, True, False]
    assert scored["agree"].tolist() == [False, True, True, False, True]
    assert list(summary.columns) == SUMMARY_COLUMNS and summary["model"].tolist() == ["baseline", "candidate"]
    cand = summary.set_index("model").loc["candidate"]
    assert (cand["n_cases"], cand["failures"], cand["regressions"]) == (4, 2, 2)
    assert cand["failure_rate"] == cand["regression_rate"] == 0.5
    in_slice = df_eval[df_eval["has_negation"]]
    assert cand["slice_n"] == len(in_slice)
    assert cand["slice_error_rate"] == pytest.approx(1 - in_slice["candidate_correct"].mean())
    assert summary.attrs["slice_regression_rate"] == pytest.approx(in_slice["regressed"].mean())
    base = summary.set_index("model").loc["baseline"]
    assert (base["failures"], base["regressions"]) == (0, 0) and base["lo"] == 0.0


def test_summary_wilson_interval_matches_known_values(tmp_path):
    rows = [("I love it", "negative")] * 7 + [("I love it", "positive")] * 3  # 7 of 10 fail for both models
    _, summary = lab.score_generated_cases(cases_frame(rows), make_models(), cache_dir=tmp_path)
    row = summary.set_index("model").loc["candidate"]
    assert (row["failures"], row["n_cases"], row["failure_rate"]) == (7, 10, 0.7)
    assert (round(row["lo"], 2), round(row["hi"], 2)) == (0.40, 0.89)
    assert np.isnan(row["slice_n"]) and np.isnan(row["slice_error_rate"])  # no df_eval given


def test_scoring_uses_the_prediction_cache(tmp_path):
    calls = []
    models = make_models(calls)
    cases = cases_frame([("not bad", "positive"), ("not bad", "positive"), ("great", "positive")])
    lab.score_generated_cases(cases, models, cache_dir=tmp_path)
    assert sorted(len(texts) for _, texts in calls) == [2, 2]  # deduplicated
    lab.score_generated_cases(cases, models, cache_dir=tmp_path)
    assert len(calls) == 2  # second run: all cached


@pytest.mark.parametrize("rows", [[], [("meh", None), ("hmm", None)]], ids=["zero cases", "no labels"])
def test_scoring_without_labels_warns_and_gives_nan(tmp_path, df_eval, rows):
    with pytest.warns(UserWarning, match="failure rates are NaN"):
        scored, summary = lab.score_generated_cases(cases_frame(rows), make_models(), df_eval=df_eval,
                                                    cache_dir=tmp_path)
    assert len(scored) == len(rows) and list(summary.columns) == SUMMARY_COLUMNS
    assert (summary["n_cases"] == 0).all()
    assert summary[["failure_rate", "lo", "hi", "regression_rate"]].isna().all().all()
    assert (summary["slice_n"] == len(df_eval)).all()  # no slice_name: the slice is all of df_eval


def test_scoring_accepts_parser_output_and_label_spellings(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = lab.parse_generated_cases("1. I love it | Pos\n2. I love it | positive")
    scored, _ = lab.score_generated_cases(cases, make_models(), cache_dir=tmp_path)
    assert scored["expected_label"].tolist() == ["positive", "positive"] and "issues" in scored


def test_scoring_errors(tmp_path, df_eval, slices):
    cases = cases_frame([("x", "positive")])
    with pytest.raises(ValueError, match="unknown slice 'nope'; known slices: 'has_hashtag'"):
        lab.score_generated_cases(cases, make_models(), df_eval=df_eval, slices=slices, slice_name="nope")
    with pytest.raises(ValueError, match="'baseline' and 'candidate'"):
        lab.score_generated_cases(cases, {"baseline": make_models()["baseline"]}, cache_dir=tmp_path)
    with pytest.raises(KeyError, match="missing column\\(s\\) \\['expected_label'\\]"):
        lab.score_generated_cases(pd.DataFrame({"text": ["x"]}), make_models(), cache_dir=tmp_path)
    with pytest.raises(TypeError, match="parse_generated_cases"):
        lab.score_generated_cases("1. x | positive", make_models(), cache_dir=tmp_path)


def test_in_slice_is_na_when_the_predicate_needs_columns_the_cases_lack(tmp_path, df_eval, slices):
    slices = {**slices, "from_source": lambda df: df["source"] == "web"}
    df_eval = df_eval.assign(source="web")
    with pytest.warns(UserWarning, match="in_slice left <NA>"):
        scored, summary = lab.score_generated_cases(cases_frame([("x", "neutral")]), make_models(), df_eval=df_eval,
                                                    slices=slices, slice_name="from_source", cache_dir=tmp_path)
    assert scored["in_slice"].isna().all() and summary["slice_n"].tolist() == [len(df_eval)] * 2


# ------------------------------------------------------------------------------------------------
# run_perturbation_tests
# ------------------------------------------------------------------------------------------------

RESULT_COLUMNS = ["test", "kind", "model", "n", "failures", "failure_rate", "lo", "hi", "example"]
EXAMPLE_COLUMNS = ["test", "kind", "model", "expected", "original", "perturbed", "pred_before", "pred_after",
                   "conf_before", "conf_after"]


def test_perturbation_results_shape_and_determinism(tmp_path, df_eval, slices):
    results, examples = lab.run_perturbation_tests(df_eval, make_models(), slices=slices, slice_name="has_negation",
                                                   n_per_test=3, cache_dir=tmp_path)
    assert list(results.columns) == RESULT_COLUMNS and list(examples.columns) == EXAMPLE_COLUMNS
    tests = results["test"].unique().tolist()
    assert tests[:9] == ["add_hashtag", "remove_hashtags", "add_mention", "remove_mentions", "add_url", "remove_urls",
                         "add_neutral_emoji", "change_case", "add_typo"]
    assert tests[9:] == ["add_negation", "append_negative_clause", "append_positive_clause", "mft_negation"]
    assert (results.groupby("test", sort=False)["model"].apply(list) == pd.Series([["baseline", "candidate"]] * 13,
                                                                                   index=tests)).all()
    assert dict(zip(results["test"], results["kind"]))["add_negation"] == "DIR"
    perturbed = results[results["kind"] != "MFT"]
    assert (perturbed["n"] <= 3).all()
    mft = results[results["kind"] == "MFT"]
    assert (mft["n"] == len(lab4.perturb.MFT_SUITES["negation"])).all()
    assert results.loc[results["n"] == 0, "failure_rate"].isna().all()  # e.g. no URL to remove in the slice
    again, again_examples = lab.run_perturbation_tests(df_eval, make_models(), slices=slices,
                                                       slice_name="has_negation", n_per_test=3, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(results, again)
    pd.testing.assert_frame_equal(examples, again_examples)
    assert set(examples["test"]) <= set(results.loc[results["failures"] > 0, "test"])
    assert results.loc[results["failures"] > 0, "example"].str.len().gt(0).all()


def test_negation_blind_candidate_fails_add_negation_and_neutral_is_not_applicable(tmp_path, df_eval):
    results, examples = lab.run_perturbation_tests(df_eval, make_models(), cache_dir=tmp_path)
    neg = results[results["test"] == "add_negation"].set_index("model")
    # neutral predictions are not applicable, so n is below the number of tweets add_negation changes
    assert neg.loc["candidate", "failures"] == neg.loc["candidate", "n"] > 0  # ignores negation: never flips
    assert neg.loc["baseline", "failures"] < neg.loc["baseline", "n"]
    assert neg.loc["candidate", "n"] < sum(lab4.perturb.add_negation(t) is not None for t, _ in EVAL_TWEETS)
    row = examples[(examples["test"] == "add_negation") & (examples["model"] == "candidate")].iloc[0]
    assert row["pred_before"] == row["pred_after"] != "neutral"
    assert "->" in neg.loc["candidate", "example"]


def test_directional_clauses_use_polarity_with_tolerance(tmp_path):
    """A model that turns *more* positive after a negative clause fails; small confidence wobbles pass."""
    df = pd.DataFrame({"text": ["I love it", "it is fine", "meh"]})

    def predict(texts):  # positive 0.7 normally, 0.95 when a negative clause follows, 0.75 with a positive one
        return [("positive", 0.95 if t.endswith(lab4.perturb.NEGATIVE_CLAUSES) else 0.75 if t.endswith(lab4.perturb.POSITIVE_CLAUSES)
                 else 0.7) for t in texts]

    model = lab.SentimentModel("candidate", "odd", "fake", "odd-1", predict)
    results, _ = lab.run_perturbation_tests(df, {"baseline": model, "candidate": model}, cache_dir=tmp_path)
    r = results.set_index(["test", "model"])
    assert r.loc[("append_negative_clause", "candidate"), ["n", "failures"]].tolist() == [3, 3]  # +0.25 > 0.1
    assert r.loc[("append_positive_clause", "candidate"), ["n", "failures"]].tolist() == [3, 0]
    assert r.loc[("mft_basic", "candidate"), "n"] == len(lab4.perturb.MFT_SUITES["basic"])  # no slice: basic suite


@pytest.mark.parametrize("slice_name, doc, suite", [
    ("has_negation", "Negation.", "negation"), ("has_contrast", "But/though.", "contrast"),
    ("lots_of_icons", "Emoji-heavy tweets.", "emoji"), ("short", "Short tweets.", "basic")])
def test_mft_suite_follows_the_slice_name_or_description(tmp_path, slice_name, doc, suite):
    def predicate(df):
        return df["text"].str.len() > 0
    predicate.__doc__ = doc
    df = pd.DataFrame({"text": ["I love it"]})
    results, examples = lab.run_perturbation_tests(df, make_models(), slices={slice_name: predicate},
                                                   slice_name=slice_name, n_per_test=1, cache_dir=tmp_path)
    assert results["test"].iloc[-1] == f"mft_{suite}"
    mft = examples[examples["kind"] == "MFT"]
    assert mft["perturbed"].isna().all() and mft["expected"].isin(lab.LABELS).all()


def test_perturbation_errors(tmp_path, df_eval, slices):
    with pytest.raises(ValueError, match="has no tweets"):
        lab.run_perturbation_tests(df_eval, make_models(), slices=slices, slice_name="emoji_dense", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown slice"):
        lab.run_perturbation_tests(df_eval, make_models(), slices=slices, slice_name="nope", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n_per_test=0"):
        lab.run_perturbation_tests(df_eval, make_models(), n_per_test=0, cache_dir=tmp_path)
    with pytest.raises(KeyError, match="missing column"):
        lab.run_perturbation_tests(df_eval.drop(columns="text"), make_models(), cache_dir=tmp_path)
