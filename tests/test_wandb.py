"""Step 6: W&B mode decision, offline logging read back from disk, and never a hang."""
import time

import pandas as pd
import pytest

import lab4_helpers as lab
import lab4.runtime
import lab4.tracking

@pytest.fixture
def no_wandb_env(monkeypatch, tmp_path):
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))


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
    monkeypatch.setattr(lab4.tracking, "decide_wandb_mode", lambda requested: ("online", "test"))
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
