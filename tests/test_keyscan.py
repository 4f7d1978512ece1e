"""The key rule: provider key formats refused at their real lengths, ordinary text never refused."""

import random
import string

import pytest

import lab4.keyscan
from lab4.models import MAX_TOKENS, TWO_LABEL_NEUTRAL_BELOW
from labnotebooks import KEY, SHA

_RNG = random.Random(20260412)
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"


def _rand(n, alphabet=ALNUM):
    """Random characters in a key's charset (fake keys, made up here)."""
    return "".join(_RNG.choice(alphabet) for _ in range(n))


# Fake keys with each provider's real shape (see lab4.keyscan.KEY_FORMATS for the sources).
FAKE_KEYS = {
    "openai legacy": "sk-" + _rand(20) + "T3BlbkFJ" + _rand(20),
    "openai project 2024": "sk-proj-" + _rand(20) + "T3BlbkFJ" + _rand(20),
    "openai project": "sk-proj-" + _rand(74, URLSAFE) + "T3BlbkFJ" + _rand(74, URLSAFE),
    "openai service account": "sk-svcacct-" + _rand(58, URLSAFE) + "T3BlbkFJ" + _rand(58, URLSAFE),
    "openai admin": "sk-admin-" + _rand(58, URLSAFE) + "T3BlbkFJ" + _rand(58, URLSAFE),
    "anthropic": "sk-ant-api03-" + _rand(93, URLSAFE) + "AA",
    "anthropic admin": "sk-ant-admin01-" + _rand(93, URLSAFE) + "AA",
    "hugging face": "hf_" + _rand(34, string.ascii_letters),
    "google": "AIza" + _rand(35, URLSAFE),
    "github classic": "ghp_" + _rand(36),
    "github oauth": "gho_" + _rand(36),
    "github app": "ghs_" + _rand(36),
    "github fine-grained": "github_pat_" + _rand(22) + "_" + _rand(59),
    "groq": "gsk_" + _rand(48),
    "wandb v1": "wandb_v1_" + _rand(27) + "_" + _rand(49),
    "wandb 40 hex": KEY,
    "wandb local": f"local-{KEY}",
}


def _lines(key):
    """The ways a key ends up in a notebook: source lines and printed output."""
    return [
        f'os.environ["SOME_TOKEN"] = "{key}"',
        f"client = Client(token='{key}')",
        f"!huggingface-cli login --token {key}",
        f"git clone https://{key}@github.com/uni/lab4",
        f"Authorization: Bearer {key}",
        f"{key}\n",                                              # print(key)
        f"\x1b[0;31mAuthenticationError\x1b[0m: invalid key {key}",
    ]


@pytest.mark.parametrize("name", FAKE_KEYS)
def test_every_key_format_is_refused_wherever_it_sits(name):
    key = FAKE_KEYS[name]
    for text in _lines(key):
        found = lab4.keyscan.find_keys(text)
        assert len(found) == 1, (name, text, found)
        line, shown, why = found[0]
        assert line == 1 and shown == key[:4] + "…" and why
        assert key not in str(found) and key[4:12] not in str(found)


# One character short of the real minimum (or, for fixed lengths, one too many): not that key.
@pytest.mark.parametrize("text", [
    "sk-" + _rand(19) + "T3BlbkFJ" + _rand(20),
    "sk-proj-" + _rand(47),
    "sk-ant-api03-" + _rand(39, URLSAFE),
    "hf_" + _rand(33, string.ascii_letters),
    "hf_" + _rand(35, string.ascii_letters),
    "hf_" + _rand(30, string.ascii_letters) + "1234",            # digits: not a HF token
    "AIza" + _rand(34, URLSAFE),
    "AIza" + _rand(36, ALNUM),
    "ghp_" + _rand(35),
    "github_pat_" + _rand(81, ALNUM),
    "gsk_" + _rand(47),
    "wandb_v1_" + _rand(39),
])
def test_one_character_off_the_real_length_is_not_that_key(text):
    assert lab4.keyscan.find_keys(text) == []


FINGERPRINT = (f"hf:cardiffnlp/twitter-roberta-base-sentiment-latest@{SHA}:{MAX_TOKENS}:"
               f"{TWO_LABEL_NEUTRAL_BELOW}")


@pytest.mark.parametrize("text", [
    # git SHAs, digests, ids
    f"commit {SHA}",
    f"roberta@{SHA}:128:0.6",                                           # model fingerprint
    f"baseline/fingerprint: {FINGERPRINT}",
    f"Candidate: {FINGERPRINT} (hub)",
    f"pip install lab4-tools@{SHA}",
    "28b07730-954d-4958-f35a-8c84d69cd588",                             # UUID
    "run id 3f2a9c1e7b4d4e0f9a8b7c6d5e4f3a2b",                          # uuid4().hex
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",   # sha256
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "all-MiniLM-L6-v2:53aa51172d142c89:128+logreg:C=1.0:seed=42:train=9f86d081884c7d65",
    # W&B run ids and paths
    "W&B run: offline run lab4-abc12 (4 tables)",
    "wandb: Run data is saved locally in wandb/offline-run-20260412_101500-k3j2h1g0",
    "https://wandb.ai/uni-ml/lab4-model-testing/runs/k3j2h1g0",
    # ordinary words next to key prefixes
    "from sklearn.linear_model import LogisticRegression  # sk-learn",
    "pip install scikit-learn; sk-learn-compatible estimator",
    "from huggingface_hub import hf_hub_download, hf_hub_url",
    "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",
    "task-sentiment-eval finished",
    "task-" + _rand(48),                                       # a naive sk-<48> match inside task-
    "desk-" + _rand(20) + "T3BlbkFJ" + _rand(20),
    "MyAIzaService" + _rand(30),
    # documentation placeholders
    "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    'OPENAI_API_KEY = "sk-proj-..."',
    "GITHUB_TOKEN=ghp_" + "x" * 36,
    "api key: AIza" + "a" * 35,
    "wandb.login(key=os.environ['WANDB_API_KEY'])",
])
def test_ordinary_text_is_not_refused(text):
    assert lab4.keyscan.find_keys(text) == []


def test_line_numbers_and_several_keys():
    text = "\n".join(["intro", f"a = '{FAKE_KEYS['groq']}'", "", f"b = {FAKE_KEYS['google']}"])
    assert [(line, shown) for line, shown, _ in lab4.keyscan.find_keys(text)] == [
        (2, "gsk_…"), (4, "AIza…")]
