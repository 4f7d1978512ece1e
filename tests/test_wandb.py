"""Step 6: W&B mode decision (wandb's own key lookup and server), Colab secrets, offline logging read back
from disk, the resolved config, and never a hang. Tables and the self-check's reading: test_wandb_tables.py;
the notebook path: test_wandb_notebook.py."""
import base64
import http.server
import os
import secrets
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.runtime
import lab4.tracking

WANDB_CLI = Path(sys.executable).with_name("wandb")


@pytest.fixture
def no_wandb_env(monkeypatch, tmp_path):
    """A temporary HOME with no W&B variables; wandb reads its environment once per process, so its
    process-wide state is torn down before (and after) the test and rebuilt from this environment."""
    import wandb

    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_DIR", "WANDB_CONFIG_DIR", "NETRC"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    wandb.teardown()
    yield tmp_path
    wandb.teardown()


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A loopback W&B stand-in: answers every request with 404 and records (method, path, auth)."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def wandb_stub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _wandb_cli(home, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_") and k != "NETRC"}
    env["HOME"] = str(home)
    return subprocess.run([str(WANDB_CLI), *args], env=env, cwd=home, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("requested, env, expected", [
    ("offline", {}, "offline"), ("disabled", {}, "disabled"), ("dryrun", {}, "offline"),
    (None, {"WANDB_MODE": "disabled"}, "disabled"), (None, {}, "offline"),
])
def test_mode_decision(no_wandb_env, monkeypatch, requested, env, expected):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert lab.decide_wandb_mode(requested)[0] == expected


def test_key_without_network_goes_offline_quickly(no_wandb_env, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    start = time.monotonic()
    mode, reason = lab.decide_wandb_mode(timeout=2)
    assert mode == "offline" and "did not answer" in reason
    assert time.monotonic() - start < 5


def test_unknown_mode_is_a_clear_error(no_wandb_env):
    with pytest.raises(ValueError, match="expected 'online', 'offline', 'disabled'"):
        lab.decide_wandb_mode("cloud")


def test_offline_run_logs_tables_that_read_back(tmp_path, no_wandb_env, capsys):
    session = lab.start_wandb_run(project="lab4-test", run_name="t", directory=tmp_path)
    frame = pd.DataFrame({"slice": ["a", "b"], "n": [3, 0], "accuracy": [0.5, float("nan")],
                          "ok": [True, False], "label": pd.array(["x", None], dtype="string")})
    info = lab.log_to_wandb(session, {"slice_metrics": frame, "df_eval": frame.head(1)}, summary={"acc": 0.5})
    assert info["tables"] == ["slice_metrics", "df_eval"]
    info = lab.finish_wandb_run(session)
    out = capsys.readouterr().out
    assert "W&B run: offline" in out and f"wandb sync {info['run_dir']}" in out
    tables = lab.read_offline_tables(info["run_dir"])
    assert list(tables["slice_metrics"].columns) == list(frame.columns)
    assert len(tables["slice_metrics"]) == 2 and len(tables["df_eval"]) == 1


def test_disabled_run_logs_nothing_and_says_so(tmp_path, no_wandb_env, capsys):
    session = lab.start_wandb_run(project="p", mode="disabled", directory=tmp_path)
    info = lab.log_to_wandb(session, {"df_long": pd.DataFrame({"a": [1]})})
    assert info["mode"] == "disabled" and info["run_dir"] is None
    lab.finish_wandb_run(session)
    assert "disabled" in capsys.readouterr().out


def test_online_start_failure_falls_back_to_offline(tmp_path, no_wandb_env, monkeypatch):
    import wandb

    real_init = wandb.init

    def init(*args, mode=None, **kwargs):
        if mode == "online":
            raise TimeoutError("init timed out")
        return real_init(*args, mode=mode, **kwargs)

    monkeypatch.setattr(wandb, "init", init)
    monkeypatch.setattr(lab4.tracking, "decide_wandb_mode", lambda requested, **kw: ("online", "test"))
    session = lab.start_wandb_run(project="p", directory=tmp_path)
    assert session.mode == "offline" and "online start failed" in session.reason
    lab.finish_wandb_run(session)


def test_notes_table_flags_todo_and_missing():
    slices = {"a": lambda d: d, "b": lambda d: d}
    table = lab.notes_table({"a": "TODO", "c": "negation hurts the candidate a lot"}, slices)
    assert table.set_index("slice")["status"].to_dict() == {"a": "TODO", "b": "missing", "c": "ok"}


def test_the_key_is_never_printed(tmp_path, no_wandb_env, monkeypatch, capsys):
    key = "0123456789abcdef" * 2 + "01234567"
    monkeypatch.setenv("WANDB_API_KEY", key)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    session = lab.start_wandb_run(project="p", directory=tmp_path)
    info = lab.finish_wandb_run(session)
    assert session.mode == "offline"
    assert key not in capsys.readouterr().out and key not in str(info)


def test_reachability_needs_an_http_answer_within_the_bound():
    """Loopback only: a server that answers (even 404) counts; one that accepts and stays silent does not."""
    import http.server
    import socket
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        assert lab4.runtime._answers(f"http://127.0.0.1:{server.server_port}/", timeout=3)
        start = time.monotonic()
        assert not lab4.runtime._answers(f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=1)
        assert time.monotonic() - start < 2
    finally:
        server.server_close()
        silent.close()


# ----------------------------------------------------------------------------- key and server: wandb's own

def test_a_key_from_the_wandb_login_cli_is_recognised(no_wandb_env):
    """`wandb login` files the key under wandb's current default server (not api.wandb.ai): the lab asks
    wandb which server and which netrc entry, so it finds the key and probes that server."""
    key = secrets.token_hex(20)
    done = _wandb_cli(no_wandb_env, "login", "--no-verify", key)
    assert done.returncode == 0, done.stderr
    netrc_text = (no_wandb_env / ".netrc").read_text()
    host = urlsplit(lab4.tracking._wandb_url()).hostname
    assert f"machine {host}" in netrc_text and key in netrc_text
    assert lab4.tracking._wandb_key_status() == (True, "")
    start = time.monotonic()
    mode, reason = lab.decide_wandb_mode(timeout=1)
    assert time.monotonic() - start < 5
    assert mode == "offline" and reason == f"an API key is configured but {host} did not answer within 1 s"


def test_the_server_from_wandb_login_host_is_the_one_probed(no_wandb_env, wandb_stub):
    """`wandb login --host URL` stores the server in wandb's settings file; the lab probes that server."""
    url = f"http://127.0.0.1:{wandb_stub.server_port}"
    done = _wandb_cli(no_wandb_env, "login", "--host", url, "--no-verify", secrets.token_hex(20))
    assert done.returncode == 0, done.stderr
    assert lab.decide_wandb_mode(timeout=3) == ("online", "API key configured and W&B reachable")
    assert ("HEAD", "/", None) in wandb_stub.seen


def test_an_older_wandb_without_wbauth_still_finds_the_key(no_wandb_env, monkeypatch):
    """Colab may keep an older wandb (no wandb.sdk.lib.wbauth): the lab falls back to the lookup those
    versions did (WANDB_API_KEY, else the netrc entry for the server's host) instead of failing."""
    monkeypatch.setitem(sys.modules, "wandb.sdk.lib.wbauth", None)  # import now raises ImportError
    assert lab4.tracking._wandb_key_status() == (False, "")
    host = urlsplit(lab4.tracking._wandb_url()).netloc
    (no_wandb_env / ".netrc").write_text(f"machine {host}\n  login user\n  password {secrets.token_hex(20)}\n")
    (no_wandb_env / ".netrc").chmod(0o644)  # as some tools leave it; wandb reads it all the same
    assert lab4.tracking._wandb_key_status() == (True, "")


@pytest.mark.parametrize("key, problem", [("abc", "40+ characters"), ("a b" * 20, "letters A-Z")])
def test_a_malformed_key_goes_offline_and_says_why(no_wandb_env, monkeypatch, key, problem):
    monkeypatch.setenv("WANDB_API_KEY", key)
    mode, reason = lab.decide_wandb_mode(timeout=1)
    assert mode == "offline" and "configured W&B key cannot be used" in reason and problem in reason
    assert key not in reason


# ----------------------------------------------------------------------------- Colab

class SecretNotFoundError(Exception):
    """As google.colab.userdata raises when the secret does not exist."""


class NotebookAccessError(Exception):
    """As google.colab.userdata raises when the notebook may not read the secret."""


@pytest.fixture
def colab(monkeypatch):
    """Colab as the lab sees it: ``google.colab`` imported, ``userdata.get`` reading the secrets panel.
    ``colab.secrets`` maps name -> key or an exception to raise (absent: SecretNotFoundError)."""
    import google  # the namespace package protobuf installs; google.colab joins it as on Colab

    userdata = types.ModuleType("google.colab.userdata")
    userdata.secrets = {}

    def get(name):
        value = userdata.secrets.get(name, SecretNotFoundError(f"Secret {name} does not exist."))
        if isinstance(value, Exception):
            raise value
        return value

    userdata.get, userdata.SecretNotFoundError, userdata.NotebookAccessError = get, SecretNotFoundError, NotebookAccessError
    package = types.ModuleType("google.colab")
    package.userdata = userdata
    monkeypatch.setattr(google, "colab", package, raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setitem(sys.modules, "google.colab.userdata", userdata)
    return userdata


def test_colab_secret_key_goes_to_wandb_init_only(no_wandb_env, colab, wandb_stub, monkeypatch, tmp_path, capsys):
    """The key in Colab's secrets is used before any prompt, reaches W&B (the stub sees it in wandb's
    request), and lands in no environment variable, no file and no output."""
    key = secrets.token_hex(20)
    colab.secrets["WANDB_API_KEY"] = key
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{wandb_stub.server_port}")
    monkeypatch.chdir(tmp_path)
    lab.login_wandb_in_colab()
    session = lab.start_wandb_run(project="p", init_timeout=10)
    info = lab.finish_wandb_run(session)
    out = capsys.readouterr().out
    assert "using the key in Colab's secret WANDB_API_KEY" in out
    sent = [base64.b64decode(a.split()[1]).decode() for _, _, a in wandb_stub.seen if a and a.startswith("Basic")]
    assert f"api:{key}" in sent
    assert session.mode == "offline" and "online start failed" in session.reason  # the stub is no W&B server
    assert os.environ.get("WANDB_API_KEY") is None and not (no_wandb_env / ".netrc").exists()
    assert key not in out and key not in str(info) and key not in repr(session)
    assert "Colab: this machine's files vanish" in out and ".lab4_cache" in out


@pytest.mark.parametrize("secret", [SecretNotFoundError("no such secret"), NotebookAccessError("not allowed"), "  "])
def test_colab_without_a_usable_secret_falls_back_quietly(no_wandb_env, colab, monkeypatch, tmp_path, capsys, secret):
    if not isinstance(secret, SecretNotFoundError):
        colab.secrets["WANDB_API_KEY"] = secret
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    lab.login_wandb_in_colab()  # no terminal here: wandb's hidden prompt cannot be shown
    session = lab.start_wandb_run(project="p")
    lab.finish_wandb_run(session)
    out = capsys.readouterr().out
    assert time.monotonic() - start < 60
    assert "W&B login skipped" in out and "Traceback" not in out and "not allowed" not in out
    assert session.mode == "offline" and "no W&B API key is configured" in session.reason


# ----------------------------------------------------------------------------- WANDB_DIR, config

def test_wandb_dir_is_honoured_and_the_sync_command_is_absolute(tmp_path):
    """wandb reads WANDB_DIR when it starts, so this runs the user's way: a fresh process with it set."""
    work, runs = tmp_path / "work", tmp_path / "runs"
    work.mkdir()
    code = ("import lab4_helpers as lab\n"
            "s = lab.start_wandb_run(project='p', mode='offline')\n"
            "print(lab.finish_wandb_run(s)['run_dir'])\n")
    env = {**os.environ, "WANDB_DIR": str(runs), "HOME": str(tmp_path),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    assert run_dir.is_absolute() and run_dir.parent == runs / "wandb" and run_dir.is_dir()
    assert f"Upload it later with: wandb sync {run_dir}" in done.stdout
    assert not (work / "wandb").exists()


def test_run_config_logs_the_models_that_ran(offline_models, tiny_eval):
    models, _ = offline_models
    tweets = tiny_eval[["tweet_id", "text", "label"]]
    config = lab.run_config(tweets, tweets.iloc[:0], models)
    assert config["model_source"] == "offline"
    assert config["baseline/kind"] == "vader" and config["candidate/kind"] == "minilm-logreg"
    assert config["candidate/model_id"] == models["candidate"].model_id


def test_make_clean_says_where_wandbs_own_files_are_and_how_to_remove_them(tmp_path):
    """W&B keeps table staging copies and service logs outside the run (no wandb.Settings field moves
    them); after a real offline run, `make clean` names them with their size, and its command removes them."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(root)}
    env.pop("WANDB_DIR", None)
    code = ("import pandas as pd, lab4_helpers as lab\n"
            "s = lab.start_wandb_run(project='p', mode='offline')\n"
            "lab.log_to_wandb(s, {'df_eval': pd.DataFrame({'text': ['a b c'] * 5000})})\n"
            "lab.finish_wandb_run(s)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    staging = tmp_path / ".local" / "share" / "wandb" / "artifacts" / "staging"
    assert any(staging.iterdir())  # W&B's copies, outside the run folder
    done = subprocess.run(["make", "-f", str(root / "Makefile"), "clean", f"PY={sys.executable}"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "wandb").exists()
    size_line = next(l for l in done.stdout.splitlines() if str(staging) in l and "MB" in l)
    assert float(size_line.split()[1]) > 0.05
    remove = next(l for l in done.stdout.splitlines() if "rm -rf" in l and str(staging) in l)
    subprocess.run(remove.split(": ", 1)[1], shell=True, check=True, env=env)
    assert not staging.exists() and not (tmp_path / ".cache" / "wandb" / "logs").exists()
