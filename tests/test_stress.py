"""Tests of lab4.stress (Step 7): prompt, generating or pasting, parser, label review, scoring. Keyword models."""
import warnings

import numpy as np
import pandas as pd
import pytest
from keyword_models import eval_table, fresh_skip_messages, make_models, precomputed_model  # noqa: F401 (autouse fixture)

import lab4_helpers as lab
import lab4.stress


@pytest.fixture
def df_eval():
    return eval_table()


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
# score_generated_cases
# ------------------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ["model", "n_cases", "labels_changed", "failures", "failure_rate", "lo", "hi", "slice_n",
                   "slice_error_rate", "slice_lo", "slice_hi", "regressions", "regression_rate"]


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
# parse_generated_cases: bugs from pasted answers (issue 11 item 6)
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ('[{"text": "love it \ud83d\ude0d", "label": "positive"}]', [("love it 😍", "positive")]),  # Python literal
    (r'[{"text": "love it \ud83d\ude0d", "label": "positive"}]', [("love it 😍", "positive")]),  # raw string
    ("1. love it \ud83d\ude0d | positive", [("love it 😍", "positive")]),
    (r"1. love it \ud83d\ude0d | positive", [("love it 😍", "positive")]),
    ('[{"text": "half \ud83d", "label": "neutral"}]', [("half \ufffd", "neutral")]),  # a lone half: U+FFFD
], ids=["json-literal", "json-raw", "line-literal", "line-raw", "lone-surrogate"])
def test_escaped_emoji_become_emoji_and_every_text_encodes(raw, expected, tmp_path):
    cases = lab.parse_generated_cases(raw, expected_n=None)
    assert list(zip(cases["text"], cases["expected_label"])) == expected
    cases["text"].str.encode("utf-8")  # what the prediction cache and Jupyter do with it
    scored, _ = lab.score_generated_cases(cases, make_models(), cache_dir=tmp_path)
    assert len(scored) == 1


@pytest.mark.parametrize("line, label", [
    ("1. great day | Positive 😊", "positive"),
    ("1. great day | 😊 positive", "positive"),
    ("1. oh great, another delay | Negative (sarcasm)", "negative"),
    ("1. oh great, another delay -> Negative (sarcasm) 🙄", "negative"),
    ("1. oh great, another delay | negative - sarcastic", "negative"),
    ("1. the bus is at 9 | Neutral 🚌", "neutral"),
    ("1. great day | Label: positive!", "positive"),
    ("1. meh whatever | positive (or neutral)", None),
    ("1. meh whatever | positive/negative", None),
    ("1. meh whatever | not positive", None),
    ("1. meh whatever | positively", None),
])
def test_labels_with_a_note_or_emoji(line, label):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = lab.parse_generated_cases(line, expected_n=1)
    got = cases["expected_label"].iloc[0]
    assert (None if pd.isna(got) else got) == label
    assert cases["text"].iloc[0] in {"great day", "oh great, another delay", "the bus is at 9", "meh whatever"}
    if label is None:
        assert "not understood" in cases["issues"].iloc[0]


def test_label_notes_in_json_and_tables_too():
    json_paste = '[{"text": "a", "label": "Negative (sarcasm)"}, {"text": "b", "label": "Positive 😊"}]'
    table = "| tweet | label |\n|---|---|\n| a | Negative (sarcasm) |\n| b | Positive 😊 |"
    csv_paste = "text,label\na,Negative (sarcasm)\nb,Positive 😊"
    for raw in (json_paste, table, csv_paste):
        assert lab.parse_generated_cases(raw, expected_n=2)["expected_label"].tolist() == ["negative", "positive"]


@pytest.mark.parametrize("raw, text", [
    ("| tweet | label |\n|---|---|\n| love it \\| hate it | positive |", "love it | hate it"),
    ("| # | tweet | label |\n|---|---|---|\n| 1 | a \\| b \\| c | neutral |", "a | b | c"),
    ("1. love it \\| hate it | positive", "love it | hate it"),
    ("1. love it \\| hate it -> positive", "love it | hate it"),
])
def test_markdown_escaped_pipe_is_a_pipe_in_the_tweet(raw, text):
    cases = lab.parse_generated_cases(raw, expected_n=1)
    assert cases["text"].tolist() == [text] and cases["expected_label"].notna().all()


@pytest.mark.parametrize("raw, expected", [
    ("1. this is a long tweet that the chat window\nwrapped onto a second line | positive\n2. short one | negative",
     [("this is a long tweet that the chat window wrapped onto a second line", "positive"), ("short one", "negative")]),
    ("1. a tweet\nthat wraps\ntwice over | positive\n2. b | negative",
     [("a tweet that wraps twice over", "positive"), ("b", "negative")]),
    ("- first half of a tweet\n  indented second half\n- another tweet",
     [("first half of a tweet indented second half", None), ("another tweet", None)]),
    ("1. \"quoted tweet that\nwraps\" | neutral", [("quoted tweet that wraps", "neutral")]),
    # not wraps: a labelled tweet, a blank line, a label line, chat, and plain unnumbered lines
    ("1. a | positive\nb | negative", [("a", "positive"), ("b", "negative")]),
    ("1. a\n\nb | negative", [("a", None), ("b", "negative")]),
    ("1. Tweet: a\n   Label: positive\n2. Tweet: b\n   Label: negative", [("a", "positive"), ("b", "negative")]),
    ("1. a\n2. b\nI hope these help.", [("a", None), ("b", None)]),
    ("not bad at all\npositive\nnever again\nnegative", [("not bad at all", "positive"), ("never again", "negative")]),
], ids=["two-lines", "three-lines", "indented", "quoted", "labelled-above", "blank-line", "label-lines", "chat",
        "plain-lines"])
def test_a_wrapped_tweet_is_one_case(raw, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = lab.parse_generated_cases(raw, expected_n=None)
    assert [(t, None if pd.isna(y) else y) for t, y in zip(cases["text"], cases["expected_label"])] == expected


def test_cases_are_numbered_from_one():
    cases = lab.parse_generated_cases("1. a | positive\n2. b | negative", expected_n=2)
    assert cases.index.name == "case" and cases.index.tolist() == [1, 2]


# ------------------------------------------------------------------------------------------------
# generate_cases: the GENERATOR parameter, against the loopback OpenAI-compatible stub
# ------------------------------------------------------------------------------------------------

ANSWER = "\n".join(f"{i}. {t} | {y}" for i, (t, y) in enumerate(
    [("not bad at all", "positive"), ("I hate it", "negative"), ("bus at 9", "neutral")], 1))
PASTED = "1. pasted tweet | neutral\n2. another pasted one | positive\n3. and a third | negative"


def test_generate_cases_with_an_endpoint(tmp_path, capsys):
    from openai_stub import serve

    with serve({"three": ANSWER}) as stub:
        env = {"OPENAI_BASE_URL": stub.url}
        text, by, cases = lab.generate_cases("prompt", "openai:stub-model", pasted=PASTED, n=3, cache_dir=tmp_path,
                                             env=env)
        assert (text, by) == (ANSWER, "openai:stub-model")
        assert cases["text"].tolist() == ["not bad at all", "I hate it", "bus at 9"]
        out = capsys.readouterr().out
        assert "Generated by stub-model (openai) for GENERATOR='openai:stub-model'" in out and ANSWER in out
        stub.answers["three"] = PASTED  # the server would now answer otherwise: a re-run keeps the first tweets
        again = lab.generate_cases("prompt", "openai:stub-model", pasted=PASTED, n=3, cache_dir=tmp_path, env=env)
        assert again.text == ANSWER and len(stub.requests) == 1 and "reused from the cache" in capsys.readouterr().out
        other_seed = lab.generate_cases("prompt", "openai:stub-model", n=3, seed=7, cache_dir=tmp_path, env=env)
        assert other_seed.text == PASTED and len(stub.requests) == 2


def test_generate_cases_without_generator_parses_the_paste(tmp_path, capsys):
    text, by, cases = lab.generate_cases("prompt", None, pasted=PASTED, n=3, cache_dir=tmp_path)
    assert (text, by) == (PASTED, "pasted") and cases["text"].iloc[0] == "pasted tweet"
    assert capsys.readouterr().out.strip() == "Parsed the pasted GENERATED_CASES_TEXT: 3 cases."
    assert not (tmp_path / "generations").exists()


def test_failed_generation_falls_back_to_the_paste_with_the_reason(tmp_path, capsys):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    text, by, _ = lab.generate_cases("prompt", "openai:m", pasted=PASTED, n=3, cache_dir=tmp_path,
                                     env={"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}, timeout_s=2)
    out = capsys.readouterr().out
    assert (text, by) == (PASTED, "pasted")
    assert "could not reach" in out and "Parsing the pasted GENERATED_CASES_TEXT instead" in out


@pytest.mark.parametrize("pasted", [None, "", "   "])
def test_nothing_generated_and_nothing_pasted_is_a_clear_error(tmp_path, pasted):
    with pytest.raises(ValueError, match="Nothing is pasted either"):
        lab.generate_cases("prompt", "offline", pasted=pasted, cache_dir=tmp_path)


def test_generate_cases_rejects_an_unknown_generator(tmp_path):
    with pytest.raises(ValueError, match="unknown generator 'gpt4'"):
        lab.generate_cases("prompt", "gpt4", pasted=PASTED, cache_dir=tmp_path)


def test_generate_cases_warns_about_the_generated_text(tmp_path):
    with pytest.warns(UserWarning, match="found 3 cases, expected 10"):
        lab.generate_cases("prompt", None, pasted=PASTED, cache_dir=tmp_path)


# ------------------------------------------------------------------------------------------------
# review_cases and apply_label_fixes
# ------------------------------------------------------------------------------------------------

REVIEW_PASTE = "\n".join([
    "1. I hate it | positive",                       # both models say negative: check this label
    "2. not good at all | negative",                 # the models disagree: no flag
    "3. i hate  IT | negative",                      # duplicate of case 1
    "4. @user I love Mondays http://t.co/xyz | positive",  # a real tweet, with a new mention and link
    "5. I love Monday's!! | positive",               # near-copy of a real tweet
    "6. meh | sarcastic",                            # label not understood
])


@pytest.fixture
def review_inputs(df_eval, slices):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = lab.parse_generated_cases(REVIEW_PASTE, expected_n=None)
    return cases, df_eval, slices


def test_review_flags_labels_duplicates_copies_and_off_slice(review_inputs, tmp_path):
    cases, df_eval, slices = review_inputs
    review = lab.review_cases(cases, make_models(), slices=slices, slice_name="has_negation",
                              reference_texts=df_eval["text"], cache_dir=tmp_path)
    assert review.index.name == "case" and review.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert list(review.columns) == ["text", "llm_label", "baseline_pred", "baseline_conf", "candidate_pred",
                                    "candidate_conf", "in_slice", "check"]
    check = review["check"]
    assert check[1].startswith("check this label: both models say negative")
    assert "check this label" not in check[2] and "off-slice" not in check[2]  # "not good" is in has_negation
    assert "duplicate of case 1" in check[3]
    assert "copy of a real tweet" in check[4]
    assert check[5].startswith("near-copy of a real tweet (") and "I love Mondays" in check[5]
    assert "label 'sarcastic' not understood" in check[6] and pd.isna(review.loc[6, "llm_label"])
    assert all("off-slice: not in has_negation" in check[k] for k in (1, 3, 4, 5, 6))
    assert review["in_slice"].tolist() == [False, True, False, False, False, False]


def test_review_without_slice_or_references_flags_less(review_inputs, tmp_path):
    cases, _, _ = review_inputs
    review = lab.review_cases(cases, make_models(), cache_dir=tmp_path)
    assert review["in_slice"].isna().all() and not review["check"].str.contains("off-slice|copy").any()


@pytest.mark.parametrize("fixes, llm, expected, changed", [
    ({}, ["positive", "negative"], ["positive", "negative"], [False, False]),
    (None, ["positive", "negative"], ["positive", "negative"], [False, False]),
    ({1: "negative"}, ["positive", "negative"], ["negative", "negative"], [True, False]),
    ({2: " Negative "}, ["positive", "negative"], ["positive", "negative"], [False, False]),  # confirmed
    ({1: "neutral", 2: "positive"}, ["positive", "negative"], ["neutral", "positive"], [True, True]),
])
def test_apply_label_fixes(fixes, llm, expected, changed):
    cases = lab.parse_generated_cases("1. meh | positive\n2. ugh | negative", expected_n=2)
    reviewed = lab.apply_label_fixes(cases, fixes)
    assert reviewed["llm_label"].tolist() == llm and reviewed["expected_label"].tolist() == expected
    assert reviewed["label_changed"].tolist() == changed
    assert list(reviewed.columns) == ["text", "llm_label", "expected_label", "label_changed", "line", "issues"]
    assert cases["expected_label"].tolist() == ["positive", "negative"]  # the input is unchanged
    again = lab.apply_label_fixes(reviewed, {})  # re-applying keeps what the LLM said
    assert again["llm_label"].tolist() == llm and again["expected_label"].tolist() == llm


def test_a_fix_gives_a_missing_label():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = lab.parse_generated_cases("1. meh | sarcastic\n2. ugh", expected_n=2)
    reviewed = lab.apply_label_fixes(cases, {1: "negative"})
    assert reviewed["expected_label"].tolist()[0] == "negative" and pd.isna(reviewed["expected_label"].iloc[1])
    assert reviewed["label_changed"].tolist() == [True, False]


@pytest.mark.parametrize("fixes, error, message", [
    ({12: "negative"}, ValueError, "case 12 does not exist; the review table numbers them 1-2"),
    ({0: "negative"}, ValueError, "case 0 does not exist"),
    ({"1": "negative"}, ValueError, "write {1: ...} without quotes"),
    ({True: "negative"}, ValueError, "case True does not exist"),
    ({1: "negatve"}, ValueError, "LABEL_FIXES\\[1\\] = 'negatve' is not a label; use one of 'negative'"),
    ({1: "neg"}, ValueError, "'neg' is not a label"),
    ({1: None}, ValueError, "LABEL_FIXES\\[1\\] = None is not a label"),
    ({9: "x", 1: "y"}, ValueError, "case 9 does not exist.*LABEL_FIXES\\[1\\] = 'y'"),  # every problem at once
    ([(1, "negative")], TypeError, "LABEL_FIXES must be a dict of case number -> label"),
])
def test_bad_label_fixes_are_clear_errors(fixes, error, message):
    cases = lab.parse_generated_cases("1. meh | positive\n2. ugh | negative", expected_n=2)
    with pytest.raises(error, match=message):
        lab.apply_label_fixes(cases, fixes)


def test_case_numbers_survive_dropping_a_case():
    cases = lab.parse_generated_cases("1. a | positive\n2. b | negative\n3. c | neutral", expected_n=3).drop(index=2)
    reviewed = lab.apply_label_fixes(cases, {3: "positive"})
    assert reviewed.index.tolist() == [1, 3] and reviewed.loc[3, "expected_label"] == "positive"
    with pytest.raises(ValueError, match="case 2 does not exist"):
        lab.apply_label_fixes(cases, {2: "positive"})


def test_scores_use_the_reviewed_labels_and_count_the_changes(tmp_path):
    cases = lab.parse_generated_cases("1. I hate it | positive\n2. I love it | positive", expected_n=2)
    _, before = lab.score_generated_cases(cases, make_models(), cache_dir=tmp_path)
    scored, after = lab.score_generated_cases(lab.apply_label_fixes(cases, {1: "negative"}), make_models(),
                                              cache_dir=tmp_path)
    assert before.set_index("model")["failures"].tolist() == [1, 1]
    assert after.set_index("model")["failures"].tolist() == [0, 0]
    assert before["labels_changed"].isna().all() and after["labels_changed"].tolist() == [1, 1]
    assert scored.index.name == "case" and scored["llm_label"].tolist() == ["positive", "positive"]


# ------------------------------------------------------------------------------------------------
# precomputed models in Step 7 (issue 12)
# ------------------------------------------------------------------------------------------------

def test_precomputed_course_columns_map_to_the_course_models():
    from lab4.models import ONLINE_BASELINE, ONLINE_CANDIDATE, PRECOMPUTED_HUB_MODELS

    assert PRECOMPUTED_HUB_MODELS == {"roberta": ONLINE_BASELINE, "gpt2": ONLINE_CANDIDATE}


def test_precomputed_models_without_hub_skip_their_scores(tmp_path, df_eval, capsys):
    models = {"baseline": precomputed_model("baseline", "roberta"), "candidate": make_models()["candidate"]}
    cases = lab.parse_generated_cases("1. I hate it | negative\n2. I love it | positive", expected_n=2)
    review = lab.review_cases(cases, models, cache_dir=tmp_path)
    scored, summary = lab.score_generated_cases(cases, models, df_eval=df_eval, cache_dir=tmp_path)
    out = capsys.readouterr().out
    assert "baseline is precomputed:roberta" in out and "cardiffnlp/twitter-roberta-base-sentiment-latest" in out
    assert out.count("saved predictions exist only") == 1  # said once at length, then in one line
    assert "baseline is precomputed:roberta and cannot score new tweets: its scores are skipped" in out
    assert review["baseline_pred"].isna().all() and review["candidate_pred"].notna().all()
    assert scored["baseline_pred"].isna().all() and scored["baseline_fails"].isna().all()
    assert scored["agree"].isna().all()  # and a regression is <NA> unless the candidate is right (then False)
    assert scored["regression"].tolist() == [pd.NA if f else False for f in scored["candidate_fails"]]
    s = summary.set_index("model")
    assert s.loc["baseline", ["failures", "failure_rate", "regressions"]].isna().all()
    assert s.loc["candidate", "failures"] == 0 and pd.isna(s.loc["candidate", "regressions"])
    assert s.loc["baseline", "slice_n"] == len(df_eval)  # the real data's numbers stay


def test_precomputed_column_without_a_listed_model_says_so(tmp_path, capsys):
    models = {"baseline": precomputed_model("baseline", "my_model"), "candidate": make_models()["candidate"]}
    lab.score_generated_cases(lab.parse_generated_cases("1. a | negative", expected_n=1), models, cache_dir=tmp_path)
    assert "no hub model is listed for column 'my_model' in PRECOMPUTED_HUB_MODELS" in capsys.readouterr().out


def test_precomputed_model_is_scored_by_its_hub_model(tmp_path):
    pytest.importorskip("transformers")
    from tiny_classifier import build_tiny_classifier

    folder = str(build_tiny_classifier(tmp_path / "roberta-standin"))
    models = {"baseline": precomputed_model("baseline", "roberta"), "candidate": make_models()["candidate"]}
    cases = lab.parse_generated_cases("1. I hate it | negative\n2. I love it | positive", expected_n=2)
    scored, summary = lab.score_generated_cases(cases, models, cache_dir=tmp_path, hub_models={"roberta": folder})
    assert scored["baseline_pred"].isin(lab.LABELS).all() and summary["failure_rate"].notna().all()
