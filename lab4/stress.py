"""Step 7: the generation prompt, getting the LLM's answer (generated here or pasted), and scoring the cases;
the parser lives in ``lab4.paste``, the label review in ``lab4.review``.

The flow in the notebook: :func:`build_generation_prompt` -> :func:`generate_cases` (the ``GENERATOR``
parameter: an LLM writes the tweets, see ``lab4.generate``; or the student pastes them) -> :func:`review_cases`
(flags labels to check, duplicates, copies of real tweets, off-slice cases) -> :func:`apply_label_fixes`
(``LABEL_FIXES``, the student's corrections) -> :func:`score_generated_cases`. Precomputed models (columns of
saved predictions) cannot score new tweets: Step 7 scores them with the hub model that made the column
(``lab4.models.PRECOMPUTED_HUB_MODELS``) when the hub answers, and skips them with a message otherwise.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Callable, Iterable, Mapping, NamedTuple

import numpy as np
import pandas as pd

from .cache import PredictionCache
from .config import _MODELS, CACHE_DIR, LABELS
from .data import normalise_labels
from .generate import DEFAULT_TIMEOUT_S, generate_text
from .models import PRECOMPUTED_HUB_MODELS, SentimentModel, _transformers_model
from .paste import MAX_TWEET_CHARS, N_GENERATED_CASES, _parse, _warn_problems
from .runtime import SEED
from .slicing import _describe, add_slice_metadata, slice_masks
from .stats import _proportion
from .validate import _require_table

PROMPT_EXAMPLES = 5  # real slice tweets shown in the prompt: they set the style without inviting copies


NEAR_COPY_RATIO = 0.9  # difflib similarity (links and @mentions removed) from which a case is a near-copy

GENERATED_MIMETYPE = "application/vnd.lab4.generated+json"  # the record generate_cases displays for the TA summary

# --- Patterns of the parser -----------------------------------------------------------------------------


_SYNTHETIC_SUMMARY_COLUMNS = ["model", "n_cases", "labels_changed", "failures", "failure_rate", "lo", "hi",
                              "slice_n", "slice_error_rate", "slice_lo", "slice_hi", "regressions",
                              "regression_rate"]


# --- Shared checks --------------------------------------------------------------------------------------

def _require_models(models) -> None:
    if not isinstance(models, Mapping) or not set(_MODELS) <= set(models):
        found = sorted(models) if isinstance(models, Mapping) else type(models).__name__
        raise ValueError(f"models must be a dict with 'baseline' and 'candidate' (from lab.load_models); "
                         f"found {found}.")


def _slice_predicate(slices, slice_name: str) -> Callable:
    """The predicate of ``slice_name`` in the registry, or an error listing the known slices."""
    slices = dict(slices or {})
    if slice_name not in slices:
        known = ", ".join(map(repr, slices)) or "none (pass slices=slices)"
        raise ValueError(f"unknown slice {slice_name!r}; known slices: {known}. Set WEAK_SLICE to one of them "
                         "or add it with @lab.add_slice(slices).")
    return slices[slice_name]


def _slice_rows(df: pd.DataFrame, slices, slice_name: str) -> pd.DataFrame:
    """The rows of ``df`` in the slice; a clear error when the slice is empty."""
    mask = slice_masks(df, {slice_name: _slice_predicate(slices, slice_name)})[slice_name]
    if not mask.any():
        sizes = {k: int(m.sum()) for k, m in slice_masks(df, slices).items() if m.any()}
        raise ValueError(f"slice {slice_name!r} has no tweets in df_eval; pick a slice with tweets "
                         f"(name: tweets): {sizes}.")
    return df[mask.to_numpy()]


def _prompt_examples(rows: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` rows: regressions first, then other candidate errors, then the rest (random within each)."""
    def flag(col, default):
        return rows[col].fillna(default).astype(bool).to_numpy() if col in rows else np.full(len(rows), default)

    rank = np.select([flag("regressed", False), ~flag("candidate_correct", True)], [0, 1], 2)
    shuffled = rows.assign(_rank=rank).sample(frac=1, random_state=seed)
    return shuffled.sort_values("_rank", kind="stable").head(n)


# --- Models for new tweets (precomputed columns cannot score them) --------------------------------------

_NEW_TEXT_MODELS: dict = {}  # (role, hub id) -> the loaded hub model: re-running a Step 7 cell loads it once

_SKIPPED_BEFORE: set = set()  # (role, model id) already explained at length: later calls say it in one line


def models_for_new_texts(models: Mapping[str, SentimentModel], *, hub_models: Mapping[str, str] | None = None,
                         verbose: bool = True) -> dict[str, SentimentModel | None]:
    """The model each role uses on tweets that are not in the loaded data (generated or perturbed ones).

    A model that runs on any text is itself. A precomputed model (``precomputed:<column>``: saved predictions,
    which exist only for the loaded CSV's tweets) is replaced by the hub model ``hub_models`` (default
    ``lab4.models.PRECOMPUTED_HUB_MODELS``) names for its column, loaded once, when the hub answers (or the
    name is a local folder); otherwise it is ``None`` and the caller skips its scores. ``verbose`` prints
    which model stands in, or why none does.
    """
    table = PRECOMPUTED_HUB_MODELS if hub_models is None else hub_models
    out = {}
    for role in _MODELS:
        model = models[role]
        if model.kind != "precomputed":
            out[role] = model
            continue
        column = model.model_id.split(":", 1)[-1]
        hub_id = table.get(column)
        why = None
        if hub_id is None:
            why = f"no hub model is listed for column {column!r} in PRECOMPUTED_HUB_MODELS"
        elif (role, hub_id) not in _NEW_TEXT_MODELS:
            try:
                _NEW_TEXT_MODELS[role, hub_id] = _transformers_model(role, hub_id)
            except ConnectionError:
                why = f"the model behind it, {hub_id}, needs the Hugging Face hub, which does not answer"
            except (ValueError, OSError, ImportError) as err:
                why = f"the model behind it, {hub_id}, could not be loaded: {str(err).splitlines()[0][:200]}"
        out[role] = None if why else _NEW_TEXT_MODELS[role, hub_id]
        if not verbose:
            continue
        if why is None:
            print(f"{role} is {model.model_id}: new tweets are scored by {hub_id} (PRECOMPUTED_HUB_MODELS).")
        elif (role, model.model_id) in _SKIPPED_BEFORE:
            print(f"{role} is {model.model_id} and cannot score new tweets: its scores are skipped (<NA>/NaN).")
        else:
            _SKIPPED_BEFORE.add((role, model.model_id))
            print(f"{role} is {model.model_id}: saved predictions exist only for the loaded tweets, and {why}. Its "
                  "scores on new tweets are skipped (<NA>/NaN); the notebook goes on. To score them, set "
                  f"{role.upper()} to a model that runs (a hub id or folder, 'vader', 'minilm-logreg').")
    return out


def _predict_new(models: Mapping[str, SentimentModel | None], texts, cache_dir) -> dict[str, pd.DataFrame | None]:
    """Each role's predictions (columns pred, conf) on ``texts``, None for a role without a runnable model."""
    cache, out = PredictionCache(cache_dir), {}
    try:
        for role in _MODELS:
            model = models[role]
            out[role] = None if model is None else model.predict(list(texts), cache=cache, progress=False)
    finally:
        cache.close()
    return out


def _prediction_columns(frame: pd.DataFrame, preds: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """``frame`` with ``<role>_pred`` (string, <NA> when skipped) and ``<role>_conf`` for both roles."""
    for role in _MODELS:
        got = preds[role]
        frame[f"{role}_pred"] = (pd.array([pd.NA] * len(frame), dtype="string") if got is None
                                 else pd.array(got["pred"].to_numpy(), dtype="string"))
        frame[f"{role}_conf"] = np.full(len(frame), np.nan) if got is None else got["conf"].to_numpy(dtype=float)
    return frame


# --- Reading the paste: text, labels, records -----------------------------------------------------------


# The notebook's sample hypothesis claims the candidate's tokenizer maps emoji to its unknown token; it is shown
# as true only when at least this share of the slice's emoji really do (checked on the loaded tokenizer).
UNK_CLAIM_SHARE = 0.5


def emoji_unknown_share(model: SentimentModel, texts: Iterable[str]) -> tuple[float, int] | None:
    """(share of the emoji in ``texts`` that ``model``'s tokenizer encodes to its unknown token, emoji counted),
    or None for a model without a tokenizer (VADER, precomputed columns). Loads the model if needed."""
    from .slicing import _emoji_spans

    tokenizer = model.tokenizer()
    if tokenizer is None:
        return None
    emoji = [text[a:b] for text in texts for a, b in _emoji_spans(str(text))]
    if not emoji:
        return 0.0, 0
    unk = getattr(tokenizer, "unk_token_id", None)
    unknown = sum(1 for e in emoji if unk is not None
                  and unk in tokenizer(e, add_special_tokens=False)["input_ids"])
    return unknown / len(emoji), len(emoji)


def check_sample_claim(hypothesis: str, models: Mapping[str, SentimentModel], df_eval: pd.DataFrame,
                       slices: Mapping[str, Callable], slice_name: str) -> str:
    """Say whether the notebook's sample hypothesis is true for the candidate actually loaded (Step 7).

    Only while ``hypothesis`` is still our [UNK] sample: measures the share of the slice's emoji that the
    candidate's tokenizer encodes to its unknown token. When the claim does not hold (a byte-level BPE such as
    GPT-2's or RoBERTa's keeps every emoji; VADER and precomputed columns have no tokenizer), it shows a sample
    that makes no tokenizer claim. Returns the hypothesis the prompt should state: ``hypothesis`` itself, or
    that sample when our claim does not hold (so no false claim reaches the LLM); prints nothing for a
    hypothesis of the student's own.
    """
    from .deliverables import SAMPLE_HYPOTHESIS, SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM

    if not isinstance(hypothesis, str) or hypothesis.strip() != SAMPLE_HYPOTHESIS:
        return hypothesis
    _require_models(models)
    candidate = models["candidate"]
    measured = emoji_unknown_share(candidate, _slice_rows(df_eval, slices, slice_name)["text"])
    holds = measured is not None and measured[1] and measured[0] >= UNK_CLAIM_SHARE
    if holds:
        message = (f"Our sample's claim holds for this candidate ({candidate.model_id}): {measured[0]:.0%} of the "
                   f"{measured[1]} emoji in {slice_name!r} encode to its unknown token.")
    else:
        why = ("it has no tokenizer" if measured is None else
               f"its tokenizer encodes {measured[0]:.0%} of the {measured[1]} emoji in {slice_name!r} as unknown")
        message = (f"Our sample's claim does not hold for this candidate ({candidate.model_id}): {why}. "
                   f"The prompt below states a sample that makes no tokenizer claim:\n  "
                   f"{SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM}")
    print(message)
    return hypothesis if holds else SAMPLE_HYPOTHESIS_NO_TOKENIZER_CLAIM


def build_generation_prompt(hypothesis: str, slice_name: str, df_eval: pd.DataFrame,
                            slices: Mapping[str, Callable], *, n_cases: int = N_GENERATED_CASES,
                            n_examples: int = PROMPT_EXAMPLES, balanced: bool = True, seed: int = SEED) -> str:
    """A prompt to paste into any chat LLM: it asks for ``n_cases`` new tweets that test ``hypothesis``.

    The prompt names the slice and its description, shows up to ``n_examples`` real tweets of the slice
    from ``df_eval`` with their true labels (regressions first, then other candidate errors, then the rest;
    sampled with ``seed``), asks for TweetEval-style tweets (@user, http://t.co/... links), labels balanced
    over negative / neutral / positive unless ``balanced=False``, and exactly one ``N. tweet text | label``
    line per tweet, which :func:`parse_generated_cases` reads. A leading "SAMPLE:" in the hypothesis is
    dropped. Raises ``ValueError`` for an empty hypothesis, an unknown slice or an empty slice.
    """
    if not isinstance(hypothesis, str) or not re.sub(r"^\s*SAMPLE:", "", hypothesis).strip():
        raise ValueError("HYPOTHESIS is empty; write one sentence on why the candidate fails on the slice, e.g. "
                         "'The candidate misreads negated praise such as \"not bad\".'")
    if int(n_cases) < 1:
        raise ValueError(f"n_cases={n_cases}; ask for at least 1 tweet (the lab asks for {N_GENERATED_CASES}).")
    _require_table(df_eval, ["text", "label"], "build_generation_prompt", "df_eval from lab.build_eval_table")
    rows = _slice_rows(df_eval, slices, slice_name)
    description = _describe(slices[slice_name])
    examples = [f'- "{" ".join(str(t).split())}" (true label: {label})'
                for t, label in _prompt_examples(rows, n_examples, seed)[["text", "label"]].itertuples(index=False)]
    if balanced:
        counts = [(n_cases // len(LABELS) + (i < n_cases % len(LABELS)), label) for i, label in enumerate(LABELS)]
        labels = "exactly " + ", ".join(f"{k} {label}" for k, label in counts if k)
    else:
        labels = "any mix that fits the hypothesis"
    hypothesis = re.sub(r"^\s*SAMPLE:\s*", "", hypothesis).strip()
    return "\n".join([
        "I am stress-testing a tweet sentiment classifier (labels: negative, neutral, positive).",
        "",
        f"Hypothesis about where it fails: {hypothesis}",
        f'The tweets that matter form the slice "{slice_name}": {description}',
        "",
        "Real tweets from this slice with their true labels (for style only; do not copy or paraphrase them):",
        *examples,
        "",
        f"Write {n_cases} new, realistic tweets that test this hypothesis. Rules:",
        f"- Every tweet fits the slice: {description.rstrip('.')}.",
        "- Include tweets where the hypothesis predicts a mistake, and similar ones where it predicts none.",
        f"- Labels: {labels}. The label is the sentiment most readers would agree on; avoid unclear tweets.",
        "- Write like the TweetEval data set: casual tweets by ordinary users, mentions written as @user, "
        "links as http://t.co/ plus 10 random letters, hashtags and emoji only where natural.",
        f"- Each tweet fits on one line, has at most {MAX_TWEET_CHARS} characters and no '|' character.",
        "",
        f"Answer with exactly {n_cases} lines and nothing else (no introduction, notes or markdown), like this:",
        "1. <tweet text> | <label>",
        "2. <tweet text> | <label>",
        "where <label> is one of: negative, neutral, positive.",
    ])


class GeneratedCases(NamedTuple):
    """What :func:`generate_cases` returns; the notebook unpacks it as ``GENERATED_CASES_TEXT, GENERATED_BY, cases``."""

    text: str  # the text that was parsed: the generated answer, or the pasted one
    generated_by: str  # "<source>:<model>" that wrote it (e.g. "openai:gpt-4o-mini"), or "pasted"
    cases: pd.DataFrame  # the parsed cases (parse_generated_cases)


def _display_record(record: dict, plain: str) -> None:
    """Show ``plain`` in the cell output, with ``record`` under GENERATED_MIMETYPE for tools that read notebooks."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover -- Jupyter always has IPython
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(plain)
        return
    display({GENERATED_MIMETYPE: record, "text/plain": plain}, raw=True)


def generate_cases(prompt: str, generator: str | None = None, *, pasted: str | None = None,
                   n: int = N_GENERATED_CASES, seed: int | None = SEED, reference_texts: Iterable[str] | None = None,
                   cache_dir: str | os.PathLike | None = CACHE_DIR, env: Mapping[str, str] | None = None,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> GeneratedCases:
    """Have ``generator`` write the tweets ``prompt`` asks for, or take the ``pasted`` answer; parse it (Step 7).

    ``generator``: the notebook's GENERATOR (see ``lab4.generate``): None (the copy-paste flow: ``pasted`` is
    parsed), ``"auto"``, ``"hub:<model id>"``, ``"openai:<model>"`` (OPENAI_BASE_URL and OPENAI_API_KEY are read
    from ``env``, default the process environment, never written) or ``"offline"``. Answers are cached by
    (prompt, generator, n, ``seed``) in ``cache_dir``, so re-running the cell gives the same tweets and the
    label fixes keep referring to them. When generation fails, the message says why and ``pasted`` is parsed.

    The text that is parsed is shown in the cell output, headed "Generated by <model> (<source>)" (or a line
    saying the paste was parsed), together with a record under the mimetype GENERATED_MIMETYPE:
    ``{"generator": "<source>:<model>" or "pasted", "model": model or None, "source": "hub" / "openai" /
    "paste", "cached": bool, "text": the parsed text}``.

    Returns ``GeneratedCases(text, generated_by, cases)``: ``cases`` as :func:`parse_generated_cases` gives them
    (``expected_n=n``, ``reference_texts`` flags copies), with its warning. Raises ``ValueError`` for an unknown
    generator spec, and when nothing was generated and nothing pasted.
    """
    generation = generate_text(prompt, generator, n=n, seed=seed, cache_dir=cache_dir, env=env, timeout_s=timeout_s)
    if generation.ok:
        text, by = generation.text, f"{generation.source}:{generation.model}"
        reused = "; reused from the cache, pass another seed for new tweets" if generation.cached else ""
        plain = (f"Generated by {generation.model} ({generation.source}) for GENERATOR={generator!r}{reused}. "
                 f"Check every label below:\n{text}")
    else:
        if not isinstance(pasted, str) or not pasted.strip():
            raise ValueError(f"{generation.message} Nothing is pasted either: paste the LLM's answer into "
                             "GENERATED_CASES_TEXT and pass it as pasted=GENERATED_CASES_TEXT.")
        if generator is not None:
            print(f"{generation.message}\nParsing the pasted GENERATED_CASES_TEXT instead.")
        text, by = pasted, "pasted"
        plain = "Parsed the pasted GENERATED_CASES_TEXT: {cases}."
    cases, problems = _parse(text, n, reference_texts)
    plain = plain.replace("{cases}", f"{len(cases)} case{'s' * (len(cases) != 1)}")
    _display_record({"generator": by, "model": generation.model if generation.ok else None,
                     "source": generation.source, "cached": generation.cached, "text": text}, plain)
    _warn_problems(problems, cases["issues"], stacklevel=2)
    cases.attrs["generated_by"] = by
    return GeneratedCases(text, by, cases)


# --- Reviewing the labels -------------------------------------------------------------------------------


def _numbered(cases: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``cases`` indexed by case number: its own index when named ``case``, else 1, 2, ..."""
    out = cases.copy()
    if out.index.name != "case" or not out.index.is_unique:
        out.index = pd.RangeIndex(1, len(out) + 1, name="case")
    return out
def _in_slice(frame: pd.DataFrame, slices, slice_name: str | None, who: str):
    """Whether each row (with slice metadata) satisfies the slice; <NA> without a slice or when the predicate
    needs columns the rows lack (with a warning)."""
    unknown = pd.array([pd.NA] * len(frame), dtype="boolean")
    if slice_name is None:
        return unknown
    predicate = _slice_predicate(slices, slice_name)
    try:
        return pd.array(slice_masks(frame, {slice_name: predicate})[slice_name].to_numpy(), dtype="boolean")
    except ValueError as err:
        warnings.warn(f"{who}: in_slice left <NA>: {err}", UserWarning, stacklevel=3)
        return unknown


# --- Scoring --------------------------------------------------------------------------------------------

def score_generated_cases(cases: pd.DataFrame, models: Mapping[str, SentimentModel], *,
                          df_eval: pd.DataFrame | None = None, slices: Mapping[str, Callable] | None = None,
                          slice_name: str | None = None, cache_dir: str | os.PathLike | None = CACHE_DIR,
                          hub_models: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run both models on the generated cases and compare their failure rate with the real slice (Step 7).

    Pass the reviewed cases (:func:`apply_label_fixes`): failure rates are computed on ``expected_label``.
    Returns ``(scored, summary)``.

    ``scored`` (indexed by ``case``): the cases' columns, the slice metadata of :func:`add_slice_metadata`,
    ``baseline_pred``, ``baseline_conf``, ``candidate_pred``, ``candidate_conf`` (<NA>/NaN for a model that cannot
    run on new tweets, see :func:`models_for_new_texts`), ``agree`` (same prediction), ``baseline_fails`` /
    ``candidate_fails`` (pred != expected_label; <NA> without a label), ``regression`` (candidate fails where
    the baseline is right; <NA> without a label) and ``in_slice`` (the slice's predicate holds for the
    generated tweet; <NA> without ``slice_name`` or when the predicate needs columns the cases lack).

    ``summary``: one row per model. ``n_cases`` labelled cases; ``labels_changed`` labels the student changed
    in review (NaN when the cases were not reviewed); ``failures``; ``failure_rate`` = failures / n_cases in
    [0, 1], lower is better, with 95% Wilson interval ``lo`` / ``hi``; ``slice_n`` tweets of the slice in
    ``df_eval`` (all of df_eval without ``slice_name``; NaN without df_eval), ``slice_error_rate`` (share the
    model gets wrong there) with ``slice_lo`` / ``slice_hi``; ``regressions`` = labelled cases this model gets
    wrong and the other model right (for the candidate: its regressions; for the baseline: the candidate's
    fixes) and ``regression_rate`` = regressions / n_cases. Compare the candidate's regression_rate with the
    slice's (Step 5's regression_metrics, also in ``summary.attrs``) to see whether the generated tweets repeat
    the slice's regressions. NaN = nothing to count (no labelled case, no df_eval, a model that cannot run on
    new tweets); zero labelled cases give a warning, not an error.
    """
    _require_table(cases, ["text", "expected_label"], "score_generated_cases", "cases from lab.parse_generated_cases")
    _require_models(models)
    predicate = _slice_predicate(slices, slice_name) if slice_name is not None else None
    frame = _numbered(cases)
    expected = normalise_labels(frame["expected_label"])
    scored = add_slice_metadata(frame.reset_index(drop=True).assign(expected_label=expected.to_numpy()))
    scored.index = frame.index
    runnable = models_for_new_texts(models, hub_models=hub_models)
    _prediction_columns(scored, _predict_new(runnable, scored["text"], cache_dir))
    scored["agree"] = (scored["baseline_pred"] == scored["candidate_pred"]).astype("boolean")
    for role in _MODELS:
        scored[f"{role}_fails"] = (scored[f"{role}_pred"] != expected).astype("boolean")
    scored["regression"] = scored["candidate_fails"] & ~scored["baseline_fails"]
    scored["in_slice"] = _in_slice(scored.reset_index(drop=True), slices, slice_name, "score_generated_cases")
    labelled = expected.notna().to_numpy()
    n = int(labelled.sum())
    if n == 0:
        warnings.warn(f"score_generated_cases: none of the {len(scored)} cases has an expected label, so failure "
                      "rates are NaN; label them ('1. tweet text | positive') and parse again.",
                      UserWarning, stacklevel=2)
    in_eval = None
    if df_eval is not None:
        _require_table(df_eval, [f"{m}_correct" for m in _MODELS], "score_generated_cases (df_eval)",
                       "df_eval from lab.build_eval_table")
        in_eval = df_eval if predicate is None else df_eval[
            slice_masks(df_eval, {slice_name: predicate})[slice_name].to_numpy()]
    changed = int(frame["label_changed"].astype(bool).sum()) if "label_changed" in frame else np.nan
    fails = {m: None if runnable[m] is None else scored.loc[labelled, f"{m}_fails"].astype(bool).to_numpy()
             for m in _MODELS}
    rows = []
    for role, other in zip(_MODELS, _MODELS[::-1]):
        if in_eval is None:
            on_slice = (np.nan,) * 4
        else:
            slice_k = int((~in_eval[f"{role}_correct"].astype(bool)).sum())
            on_slice = (len(in_eval), *_proportion(slice_k, len(in_eval)))
        if fails[role] is None:
            rows.append((role, n, changed, np.nan, np.nan, np.nan, np.nan, *on_slice, np.nan, np.nan))
            continue
        k = int(fails[role].sum())
        alone = np.nan if fails[other] is None else int((fails[role] & ~fails[other]).sum())
        rows.append((role, n, changed, k, *_proportion(k, n), *on_slice, alone, alone / n if n else np.nan))
    summary = pd.DataFrame(rows, columns=_SYNTHETIC_SUMMARY_COLUMNS)
    if in_eval is not None and "regressed" in in_eval:
        slice_regressions = int(in_eval["regressed"].astype(bool).sum())
        summary.attrs.update(slice=slice_name or "all", slice_regressions=slice_regressions,
                             slice_regression_rate=slice_regressions / len(in_eval) if len(in_eval) else np.nan)
    return scored, summary
