"""lab4.generate: generator specs, the OpenAI-compatible backend (against a loopback stub server), the hub
backend (against a tiny random chat LM built here), the cache, and the fallbacks to the copy-paste flow."""
import json
import os
import time
import warnings

import pytest
from openai_stub import serve

import lab4_helpers as lab
from lab4 import generate as gen
from lab4.generate import Backend, generate_text, resolve_generator

KEY = "sk-test-SECRETKEY-0123456789abcdef"  # must never show up in anything the module returns or prints
TWEETS = [("finally home after a 12 hour shift 😩😩😩", "negative"), ("new kicks just arrived 😍🔥🔥", "positive"),
          ("coffee run before the 9am lecture ☕📚", "neutral"), ("train delayed again 😤😤 #commute", "negative"),
          ("grandma's apple pie 🥧😋😋", "positive"), ("packing for the trip tomorrow 🧳✈️", "neutral"),
          ("another monday 🙄🙄💀", "negative"), ("my sister got into med school!!! 🎉🎉😭❤️", "positive"),
          ("the match tonight 👀⚽ who's watching?", "neutral"), ("wifi died mid-game 🙃🙃🙃", "negative")]
ANSWERS = {
    "numbered": "\n".join(f"{i}. {t} | {label}" for i, (t, label) in enumerate(TWEETS, 1)),
    "json": "```json\n" + json.dumps([{"text": t, "label": label} for t, label in TWEETS], ensure_ascii=False) + "\n```",
    "table": "Sure! Here they are:\n\n| tweet | label |\n|---|---|\n"
             + "\n".join(f"| {t} | {label} |" for t, label in TWEETS) + "\n\nHope this helps!",
}
PROMPT = "Write 10 new, realistic tweets. Answer with exactly 10 lines like: 1. <tweet text> | <label>"


@pytest.fixture
def stub():
    """The loopback OpenAI-compatible server of openai_stub.py, answering ANSWERS["numbered"] unless told."""
    with serve(ANSWERS, "numbered") as server:
        yield server


def _env(stub, **extra):
    return {"OPENAI_BASE_URL": stub.url, "OPENAI_API_KEY": KEY, **extra}


def _call(stub, tmp_path, generator="openai:stub-model", **kwargs):
    options = dict(env=_env(stub), cache_dir=tmp_path / "cache", secrets={}, interactive=False, progress=False)
    return generate_text(PROMPT, generator, **{**options, **kwargs})


def _shows_no_key(result, capsys=None):
    seen = [result.text, result.message, repr(result)]
    if capsys is not None:
        seen += list(capsys.readouterr())
    assert not any(KEY in s or KEY[:16] in s or KEY[-12:] in s for s in seen), seen


# --------------------------------------------------------------------------------------------------
# resolve_generator
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, env, reachable, expected", [
    (None, {}, False, [("paste", None)]),
    ("offline", {}, False, [("offline", gen.OFFLINE_MODEL)]),
    (" OFFLINE ", {}, False, [("offline", gen.OFFLINE_MODEL)]),
    ("hub:Qwen/Qwen2.5-0.5B-Instruct", {}, False, [("hub", "Qwen/Qwen2.5-0.5B-Instruct")]),
    ("hub:/tmp/my model", {}, False, [("hub", "/tmp/my model")]),
    ("openai:gpt-4o-mini", {}, False, [("openai", "gpt-4o-mini")]),
    ("openai:llama3.2:1b", {}, False, [("openai", "llama3.2:1b")]),  # Ollama tags keep their colon
    ("auto", {}, False, [("offline", gen.OFFLINE_MODEL)]),
    ("auto", {}, True, [("hub", gen._default_hub_model()), ("offline", gen.OFFLINE_MODEL)]),
    ("auto", {"OPENAI_BASE_URL": "http://localhost:11434/v1"}, False,
     [("openai", gen.DEFAULT_OPENAI_MODEL), ("offline", gen.OFFLINE_MODEL)]),
    ("auto", {"OPENAI_BASE_URL": "http://localhost:11434/v1", "OPENAI_MODEL": "qwen2.5:1.5b"}, True,
     [("openai", "qwen2.5:1.5b"), ("hub", gen._default_hub_model()), ("offline", gen.OFFLINE_MODEL)]),
])
def test_resolve_generator_table(spec, env, reachable, expected):
    plan = resolve_generator(spec, env=env, hub_reachable=lambda: reachable)
    assert [(b.kind, b.model) for b in plan] == expected
    assert all(isinstance(b, Backend) for b in plan)


@pytest.mark.parametrize("spec", ["gpt4", "hub:", "hub: ", "openai:", "hub", "openai", "", "auto:x", "offline:x",
                                  "huggingface:Qwen/Qwen2.5-1.5B-Instruct", 3, True])
def test_bad_specs_raise_listing_the_valid_spellings(spec):
    with pytest.raises(ValueError) as info:
        resolve_generator(spec, env={}, hub_reachable=lambda: False)
    message = str(info.value)
    assert f"unknown generator {spec!r}" in message
    for spelling in ("None", "'auto'", "'offline'", "'hub:<model id>'", "'openai:<model>'"):
        assert spelling in message
    with pytest.raises(ValueError):
        generate_text(PROMPT, spec, env={}, cache_dir=None, progress=False)


def test_only_auto_asks_whether_the_hub_answers():
    def never():
        raise AssertionError("hub_reachable must not be called")
    for spec in (None, "offline", "hub:x/y", "openai:m"):
        resolve_generator(spec, env={"OPENAI_BASE_URL": "http://x"}, hub_reachable=never)


def test_default_hub_probe_respects_hf_hub_offline_and_asks_with_a_short_timeout(monkeypatch):
    import lab4.runtime

    asked = []
    monkeypatch.setattr(lab4.runtime, "_answers", lambda url, *, timeout: asked.append((url, timeout)) or True)
    assert gen.default_hub_reachable({"HF_HUB_OFFLINE": "1"}) is False and asked == []
    assert gen.default_hub_reachable({}) is True
    assert asked == [("https://huggingface.co", 3.0)]


def test_auto_picks_the_smaller_hub_model_without_a_gpu(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gen._default_hub_model() == gen.DEFAULT_HUB_MODEL_CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gen._default_hub_model() == gen.DEFAULT_HUB_MODEL


# --------------------------------------------------------------------------------------------------
# None and "offline": the copy-paste flow
# --------------------------------------------------------------------------------------------------

def test_none_is_the_paste_flow_and_writes_no_cache(tmp_path):
    result = generate_text(PROMPT, None, cache_dir=tmp_path / "cache", progress=False)
    assert (result.text, result.source, result.ok) == ("", "paste", False)
    assert "GENERATED_CASES_TEXT" in result.message
    assert not (tmp_path / "cache").exists()


def test_offline_says_why_and_falls_back_to_paste(tmp_path):
    result = generate_text(PROMPT, "offline", cache_dir=tmp_path, progress=False)
    assert (result.text, result.source) == ("", "paste")
    assert "no offline generator is good enough" in result.message
    assert "GENERATED_CASES_TEXT" in result.message


def test_auto_without_endpoint_or_hub_ends_in_the_paste_flow(tmp_path):
    result = generate_text(PROMPT, "auto", env={}, hub_reachable=lambda: False, cache_dir=tmp_path, progress=False)
    assert result.source == "paste" and not result.ok
    assert "hub: huggingface.co does not answer" in result.message
    assert "no offline generator is good enough" in result.message and "GENERATED_CASES_TEXT" in result.message


def test_empty_prompt_is_a_clear_error():
    with pytest.raises(ValueError, match="build_generation_prompt"):
        generate_text("  ", None)


# --------------------------------------------------------------------------------------------------
# openai: the OpenAI-compatible backend against the stub
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", sorted(ANSWERS))
def test_endpoint_answer_parses_into_ten_cases(stub, tmp_path, mode, capsys):
    stub.mode = mode
    result = _call(stub, tmp_path)
    assert (result.source, result.model, result.generator) == ("openai", "stub-model", "openai:stub-model")
    assert result.ok and result.seconds >= 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table answer's chat lines are listed in a warning, by design
        cases = lab.parse_generated_cases(result.text, expected_n=10)
    assert len(cases) == 10
    assert cases["expected_label"].tolist() == [label for _, label in TWEETS]
    request = stub.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == f"Bearer {KEY}"
    assert request["body"]["model"] == "stub-model"
    assert request["body"]["messages"] == [{"role": "user", "content": PROMPT}]
    assert request["body"]["seed"] == 42 and request["body"]["temperature"] == gen.TEMPERATURE
    _shows_no_key(result, capsys)


def test_key_comes_from_the_env_mapping_not_os_environ(stub, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    before = dict(os.environ)
    result = _call(stub, tmp_path)
    assert result.ok and stub.requests[-1]["auth"] == f"Bearer {KEY}"
    assert dict(os.environ) == before  # nothing written to the process environment


def test_key_from_secrets_when_env_has_none(stub, tmp_path):
    result = _call(stub, tmp_path, env={"OPENAI_BASE_URL": stub.url}, secrets={"OPENAI_API_KEY": KEY})
    assert result.ok and stub.requests[-1]["auth"] == f"Bearer {KEY}"


def test_missing_key_falls_back_without_prompting(tmp_path, monkeypatch):
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda *a, **k: pytest.fail("must not prompt in a test session"))
    started = time.perf_counter()
    result = generate_text(PROMPT, "openai:gpt-4o-mini", env={}, secrets={}, cache_dir=tmp_path, progress=False)
    assert time.perf_counter() - started < 2  # no request was sent to api.openai.com
    assert (result.text, result.source) == ("", "paste")
    assert "OPENAI_API_KEY" in result.message and "GENERATED_CASES_TEXT" in result.message


def test_no_prompt_under_ci_or_papermill():
    assert gen._can_ask({"CI": "true"}) is False
    assert gen._can_ask({"PAPERMILL_INPUT_PATH": "lab4.ipynb"}) is False


def test_local_server_without_key_is_asked_without_authorization(stub, tmp_path):
    result = _call(stub, tmp_path, env={"OPENAI_BASE_URL": stub.url})
    assert result.ok and stub.requests[-1]["auth"] is None


def test_http_401_reports_the_server_message_without_the_key(stub, tmp_path, capsys):
    stub.mode = "401"
    result = _call(stub, tmp_path, progress=True)
    assert (result.text, result.source) == ("", "paste")
    assert "HTTP 401" in result.message and "Incorrect API key provided" in result.message
    assert "check OPENAI_API_KEY" in result.message
    _shows_no_key(result, capsys)


def test_http_500_falls_back_with_the_reason(stub, tmp_path):
    stub.mode = "500"
    result = _call(stub, tmp_path)
    assert not result.ok and "HTTP 500" in result.message and "server had an error" in result.message


def test_answer_without_choices_falls_back(stub, tmp_path):
    stub.mode = "nochoices"
    result = _call(stub, tmp_path)
    assert not result.ok and "choices[0].message.content" in result.message


def test_model_that_refuses_temperature_is_asked_again_without_it(stub, tmp_path):
    stub.mode = "temperature"
    result = _call(stub, tmp_path)
    assert result.ok
    assert [("temperature" in r["body"]) for r in stub.requests] == [True, False]


def test_slow_server_times_out_quickly(stub, tmp_path):
    stub.mode = "slow"
    started = time.perf_counter()
    result = _call(stub, tmp_path, timeout_s=0.5)
    assert time.perf_counter() - started < 2.5
    assert not result.ok and "did not answer within 0.5 s" in result.message


def test_unreachable_server_falls_back(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = generate_text(PROMPT, "openai:m", env={"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"},
                           cache_dir=tmp_path, timeout_s=2, progress=False)
    assert not result.ok and "could not reach" in result.message


def test_auto_uses_the_endpoint_when_openai_base_url_is_set(stub, tmp_path, capsys):
    result = _call(stub, tmp_path, generator="auto", env=_env(stub, OPENAI_MODEL="stub-model"),
                   hub_reachable=lambda: pytest.fail("the endpoint answered; the hub is not needed"), progress=True)
    assert (result.source, result.model) == ("openai", "stub-model")
    assert "Generated by openai:stub-model" in capsys.readouterr().out


def test_auto_falls_through_a_failing_endpoint_and_says_what_failed(stub, tmp_path):
    stub.mode = "500"
    result = _call(stub, tmp_path, generator="auto", hub_reachable=lambda: False)
    assert not result.ok and "HTTP 500" in result.message and "offline" in result.message


# --------------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------------

def test_cache_hit_with_same_arguments_and_miss_with_another_seed(stub, tmp_path):
    first = _call(stub, tmp_path)
    stub.mode = "json"  # a new request would now get another answer
    again = _call(stub, tmp_path)
    assert (again.source, again.cached, first.cached) == ("openai", True, False)
    assert again.text == first.text and again.model == "stub-model"
    assert len(stub.requests) == 1
    other = _call(stub, tmp_path, seed=7)
    assert other.source == "openai" and other.text != first.text and len(stub.requests) == 2
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2


def test_failed_generations_are_not_cached(stub, tmp_path):
    stub.mode = "500"
    assert not _call(stub, tmp_path).ok
    stub.mode = "numbered"
    assert _call(stub, tmp_path).source == "openai"


def test_corrupt_cache_entry_is_regenerated(stub, tmp_path):
    _call(stub, tmp_path)
    (entry,) = (tmp_path / "cache").rglob("*.json")
    entry.write_text("{not json")
    assert _call(stub, tmp_path).source == "openai" and len(stub.requests) == 2


def test_cache_dir_none_turns_the_cache_off(stub, tmp_path):
    _call(stub, tmp_path, cache_dir=None)
    assert _call(stub, tmp_path, cache_dir=None).source == "openai" and len(stub.requests) == 2


# --------------------------------------------------------------------------------------------------
# hub: a tiny random chat LM in a local folder
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    pytest.importorskip("transformers")
    from standins_llm import build_tiny_chat_lm

    root = tmp_path_factory.mktemp("llm")
    return build_tiny_chat_lm(root / "chat"), build_tiny_chat_lm(root / "plain", chat_template=None)


def _hub(folder, tmp_path, **kwargs):
    options = dict(n=1, max_new_tokens=12, cache_dir=None, progress=False,
                   hub_reachable=lambda: pytest.fail("a local folder needs no hub"))
    return generate_text(PROMPT, f"hub:{folder}", **{**options, **kwargs})


def test_hub_model_applies_the_chat_template_and_bounds_tokens(tiny_lm, tmp_path, monkeypatch):
    import torch
    from transformers import PreTrainedTokenizerBase
    from transformers.generation.utils import GenerationMixin

    rendered, generated = [], []
    apply, generate = PreTrainedTokenizerBase.apply_chat_template, GenerationMixin.generate

    def spy_apply(self, conversation, *args, **kwargs):
        rendered.append(apply(self, conversation, tokenize=False, add_generation_prompt=True))
        return apply(self, conversation, *args, **kwargs)

    def spy_generate(self, *args, **kwargs):
        output = generate(self, *args, **kwargs)
        generated.append((kwargs, output.shape[1] - kwargs["input_ids"].shape[1]))
        return output

    monkeypatch.setattr(PreTrainedTokenizerBase, "apply_chat_template", spy_apply)
    monkeypatch.setattr(GenerationMixin, "generate", spy_generate)
    gen._LOADED.clear()
    rng = torch.get_rng_state()
    result = _hub(tiny_lm[0], tmp_path)
    assert result.ok and (result.source, result.model) == ("hub", str(tiny_lm[0]))
    assert rendered == [f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n"]
    (options, new_tokens), = generated
    assert new_tokens == 12 and options["max_new_tokens"] == 12 and options["max_time"] == gen.DEFAULT_TIMEOUT_S
    assert options["do_sample"] is True
    assert torch.equal(torch.get_rng_state(), rng)  # the caller's torch RNG is untouched


def test_hub_seed_gives_the_same_text_twice_and_another_seed_another(tiny_lm, tmp_path):
    first, second = _hub(tiny_lm[0], tmp_path, seed=3), _hub(tiny_lm[0], tmp_path, seed=3)
    assert first.ok and first.text == second.text
    assert _hub(tiny_lm[0], tmp_path, seed=4).text != first.text
    greedy = _hub(tiny_lm[0], tmp_path, seed=None)
    assert greedy.ok and greedy.text == _hub(tiny_lm[0], tmp_path, seed=None).text


def test_hub_result_is_cached(tiny_lm, tmp_path):
    first = _hub(tiny_lm[0], tmp_path, cache_dir=tmp_path / "cache")
    again = _hub(tiny_lm[0], tmp_path, cache_dir=tmp_path / "cache")
    assert (first.source, again.source, again.cached, again.text) == ("hub", "hub", True, first.text)


def test_hub_model_without_chat_template_is_refused_with_advice(tiny_lm, tmp_path):
    result = _hub(tiny_lm[1], tmp_path)
    assert not result.ok and "no chat template" in result.message and gen.DEFAULT_HUB_MODEL in result.message


def test_missing_hub_model_without_network_falls_back(tmp_path):
    pytest.importorskip("transformers")
    started = time.perf_counter()
    result = generate_text(PROMPT, "hub:lab4-test/no-such-model", hub_reachable=lambda: False, cache_dir=None,
                           progress=False)
    assert time.perf_counter() - started < 30
    assert not result.ok and "could not load 'lab4-test/no-such-model'" in result.message
    assert "not in the local cache" in result.message
