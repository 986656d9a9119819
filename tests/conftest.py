import os

# Tests never reach a model hub, and Chroma never phones home.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def local_model_path():
    """The assembled local GGUF (assembled now if its part packages are installed); skips when it cannot be."""
    from daoban.model_files import ModelUnavailable, ensure_model
    from daoban.settings import load_settings
    try:
        return ensure_model(load_settings())
    except (ModuleNotFoundError, ModelUnavailable) as exc:  # pragma: no cover - model parts not installed
        pytest.skip(f"local model not installed: {exc}")


@pytest.fixture(scope="session")
def llama_server(local_model_path):
    """llama-cpp-python's OpenAI-compatible server over the local GGUF, one per session: a small context and two
    threads keep it light. Needs the `llm-server` extra (installed by setup)."""
    from daoban.servers import start_llama_server
    with start_llama_server(local_model_path, n_ctx=2048, n_threads=2) as server:
        yield server


# The services a several-worker set-up shares (PostgreSQL, Redis), started once per run when a test asks, and
# the shared API servers kept per database for the run (tests/conftest_api.py).
from conftest_api import _api_servers  # noqa: E402,F401
from conftest_services import postgres, redis_url  # noqa: E402,F401
