"""Tests of lab4.perturb (Step 7): the test types, each perturbation, the name and place lists, and
run_perturbation_tests with keyword models (and a precomputed model that cannot score new tweets)."""
import dataclasses
import random
import re

import pandas as pd
import pytest
from keyword_models import EVAL_TWEETS, eval_table, fresh_skip_messages, make_models, precomputed_model  # noqa: F401 (autouse fixture)

import lab4_helpers as lab
import lab4.perturb
from lab4.perturb import CITIES, COUNTRIES, DIR, INV, MFT, PERSON_NAMES, PERTURBATION_TESTS, change_name, change_place


@pytest.fixture
def df_eval():
    return eval_table()


@pytest.fixture
def slices():
    return lab.default_slices()


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


ALL_PERTURBATIONS = [test.perturb for test in PERTURBATION_TESTS]


@pytest.mark.parametrize("fn", ALL_PERTURBATIONS, ids=lambda f: f.__name__)
def test_perturbations_are_deterministic_and_skip_blank_text(fn):
    text = "@user The Movie is GREAT in London, Sarah #win http://t.co/abc"
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
    assert tests[:11] == ["add_hashtag", "remove_hashtags", "add_mention", "remove_mentions", "add_url", "remove_urls",
                          "add_neutral_emoji", "change_case", "add_typo", "change_name", "change_place"]
    assert tests[11:] == ["add_negation", "append_negative_clause", "append_positive_clause", "mft_negation"]
    assert (results.groupby("test", sort=False)["model"].apply(list) == pd.Series([["baseline", "candidate"]] * 15,
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


# ------------------------------------------------------------------------------------------------
# names and places
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, text, originals", [
    (change_name, "Sarah loved the show, right Sarah?", {"Sarah": PERSON_NAMES}),
    (change_name, "Aisha and Liam won again", {"Aisha": PERSON_NAMES, "Liam": PERSON_NAMES}),
    (change_name, "Sarah's birthday party", {"Sarah": PERSON_NAMES}),
    (change_place, "flying from New York to Tokyo", {"New York": CITIES, "Tokyo": CITIES}),
    (change_place, "Mexico City traffic, worst in Mexico", {"Mexico City": CITIES, "Mexico": COUNTRIES}),
    (change_place, "back home in Nigeria", {"Nigeria": COUNTRIES}),
])
@pytest.mark.parametrize("seed", [0, 3, 11])
def test_names_and_places_are_swapped_within_their_own_list(fn, text, originals, seed):
    new = fn(text, random.Random(seed))
    template = text
    for k, word in enumerate(sorted(originals, key=len, reverse=True)):
        template = template.replace(word, f"\0{k}\0")
    pattern = re.escape(template)
    for k, word in enumerate(sorted(originals, key=len, reverse=True)):  # -> another word of its own list
        others = "|".join(re.escape(w) for w in originals[word] if w not in originals)
        pattern = pattern.replace(re.escape(f"\0{k}\0"), f"(?P<w{k}>{others})", 1).replace(
            re.escape(f"\0{k}\0"), f"(?P=w{k})")  # the same word, the same replacement
    match = re.fullmatch(pattern, new)
    assert match, new
    assert len(set(match.groupdict().values())) == len(originals)  # two words never become one


def test_the_same_name_gets_the_same_replacement():
    new = change_name("Sarah, Sarah, Sarah!", random.Random(0))
    assert len(set(new.replace("!", "").split(", "))) == 1 and "Sarah" not in new


@pytest.mark.parametrize("fn, text", [
    (change_name, "no names in this one"), (change_name, "@Sarah thanks!"), (change_name, "#Sarah trending"),
    (change_name, "sarah in lower case is not matched"), (change_name, "Sarahs are not Sarah-like"),
    (change_place, "a paris hilton lookalike"), (change_place, "@London hello"), (change_place, ""),
])
def test_name_and_place_not_applicable(fn, text):
    assert fn(text, random.Random(0)) is None


def test_word_lists_are_varied_unique_and_unambiguous():
    for words, least in ((PERSON_NAMES, 30), (CITIES, 30), (COUNTRIES, 25)):
        assert len(words) >= least and len(set(words)) == len(words)
        assert all(w[0].isupper() for w in words)
    assert not set(PERSON_NAMES) & set(CITIES + COUNTRIES) and not set(CITIES) & set(COUNTRIES)


# ------------------------------------------------------------------------------------------------
# the test types
# ------------------------------------------------------------------------------------------------

def test_test_types_document_themselves_and_check_only_what_they_use():
    kinds = {type(t).kind for t in PERTURBATION_TESTS}
    assert kinds == {"INV", "DIR"} and MFT.kind == "MFT"
    for cls in (INV, DIR, MFT):
        assert cls.__doc__ and len(cls.__doc__.split()) > 15
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    names = [t.name for t in PERTURBATION_TESTS]
    assert len(set(names)) == len(names) and {"change_name", "change_place"} <= set(names)
    assert all(t.name == t.perturb.__name__ for t in PERTURBATION_TESTS)
    inv = INV("x", lab4.perturb.add_hashtag)
    assert inv.passes(("positive", 0.9), ("positive", 0.5)) and not inv.passes(("positive", 0.9), ("neutral", 0.5))
    negation = next(t for t in PERTURBATION_TESTS if t.name == "add_negation")
    assert negation.passes(("neutral", 0.9), ("neutral", 0.9)) is None  # not applicable
    assert negation.passes(("positive", 0.9), ("negative", 0.8)) is True
    assert MFT("m", (("t", "positive"),)).passes(("positive", 0.6), "positive")
    with pytest.raises(dataclasses.FrozenInstanceError):
        inv.name = "y"


def test_own_tests_can_be_passed(tmp_path, df_eval):
    shout = INV("shout", lambda text, rng: text.upper() + "!!!")
    results, _ = lab.run_perturbation_tests(df_eval, make_models(), tests=(shout,), n_per_test=4, cache_dir=tmp_path)
    assert results["test"].tolist() == ["shout", "shout", "mft_basic", "mft_basic"]
    assert results.loc[results["test"] == "shout", "n"].tolist() == [4, 4]


# ------------------------------------------------------------------------------------------------
# names and places in run_perturbation_tests and the ship memo
# ------------------------------------------------------------------------------------------------

SEEN_NAMES = ["Sarah", "David", "Aisha", "Omar", "Priya", "Emma", "Liam", "Mateo", "Yuki", "Kwame", "Olga", "Noah"]
NAMED_TWEETS = [(f"{name} {what}", label) for name, (what, label) in zip(
    SEEN_NAMES, [("loved the game", "positive"), ("is at the office", "neutral")] * 6)]


def _name_biased_models():
    """The candidate calls every tweet with a listed name it has not seen (SEEN_NAMES) negative: a biased model."""
    unseen = lab4.perturb._word_pattern(set(PERSON_NAMES) - set(SEEN_NAMES))

    def biased(texts):
        return [("negative", 0.95) if unseen.search(text) else pred
                for text, pred in zip(texts, make_models()["baseline"].predict_batch(texts))]
    models = make_models()
    models["candidate"] = lab.SentimentModel("candidate", "biased", "fake", "biased-1", biased)
    return models


def test_name_bias_shows_in_results_and_flows_into_the_ship_memo(tmp_path):
    df = eval_table(NAMED_TWEETS + EVAL_TWEETS, models=_name_biased_models())
    results, examples = lab.run_perturbation_tests(df, _name_biased_models(), n_per_test=50, cache_dir=tmp_path)
    names = results[results["test"] == "change_name"].set_index("model")
    assert names.loc["baseline", "n"] == names.loc["candidate", "n"] == len(NAMED_TWEETS)  # others: not applicable
    expected = sum(unseen not in SEEN_NAMES for unseen in re.findall(r"^\S+", "\n".join(
        examples.loc[(examples["test"] == "change_name") & (examples["model"] == "candidate"), "perturbed"]), re.M))
    assert names.loc["baseline", "failures"] == 0 and names.loc["candidate", "failures"] >= len(NAMED_TWEETS) // 3
    assert expected == names.loc["candidate", "failures"]  # every failure is a swap to an unseen name
    assert not examples[examples["test"] == "change_name"].empty
    places = results[results["test"] == "change_place"]
    assert (places["n"] == 0).all() and places["failure_rate"].isna().all()  # no listed place: not applicable
    slices = lab.default_slices()
    memo = lab.ship_memo(lab.slice_stats(df, slices), lab.overall_metrics(df), perturbations=results)
    row = memo.set_index("item").loc["perturbation tests"]
    assert "change_name" in row["evidence"] and "less robust" in row["reading"]


# ------------------------------------------------------------------------------------------------
# models that cannot score new tweets (precomputed columns)
# ------------------------------------------------------------------------------------------------

def test_precomputed_model_without_hub_is_skipped_with_a_message(tmp_path, df_eval, capsys):
    models = {**make_models(), "candidate": precomputed_model("candidate", "gpt2")}  # HF_HUB_OFFLINE=1 in tests
    results, examples = lab.run_perturbation_tests(df_eval, models, n_per_test=3, cache_dir=tmp_path)
    out = capsys.readouterr().out
    assert "candidate is precomputed:gpt2" in out and "skipped" in out
    cand, base = results[results["model"] == "candidate"], results[results["model"] == "baseline"]
    assert (cand["n"] == 0).all() and cand["failure_rate"].isna().all()
    assert cand["example"].str.startswith("not run: precomputed:gpt2").all()
    assert (base["n"] > 0).any() and set(examples["model"]) <= {"baseline"}


def test_precomputed_model_is_replaced_by_its_hub_model(tmp_path, df_eval, capsys):
    pytest.importorskip("transformers")
    from tiny_classifier import build_tiny_classifier

    folder = str(build_tiny_classifier(tmp_path / "gpt2-standin"))
    models = {**make_models(), "candidate": precomputed_model("candidate", "gpt2")}
    results, _ = lab.run_perturbation_tests(df_eval, models, n_per_test=3, cache_dir=tmp_path,
                                            hub_models={"gpt2": folder})
    assert f"new tweets are scored by {folder}" in capsys.readouterr().out
    cand = results[results["model"] == "candidate"]
    assert (cand["n"] > 0).any() and not cand["example"].str.startswith("not run").any()
