"""Optional second stage: the local LLM judges yes/no whether a guide answers the question.

``HybridRetriever(..., llm_judge=...)`` accepts any ``(query, document text) -> probability`` callable; the agent
can pass its own LLM. This module builds one from ``settings.llm`` with llama-cpp-python when the GGUF exists."""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from daoban.settings import Settings

PROMPT = ("判断下面的政务服务事项是否能回答用户的问题。只回答“是”或“否”。\n"
          "用户问题：{query}\n事项：{doc}\n回答：")


def llm_judge_from_settings(settings: "Settings") -> Callable[[str, str], float]:
    path = settings.llm.model_path
    if not path:
        found = sorted(Path(settings.model_dir).glob("*.gguf"))
        path = str(found[0]) if found else None
    if not path or not Path(path).exists():
        raise FileNotFoundError(f"no GGUF model for the LLM reranker under {settings.model_dir}; "
                                "run `daoban model assemble` or set DAOBAN_LLM__MODEL_PATH")
    from llama_cpp import Llama  # lazy: llama.cpp is an optional, heavy backend (the reranker is off by default)

    llm = Llama(model_path=str(path), n_ctx=1024, n_threads=settings.llm.n_threads, verbose=False)
    yes_id = llm.tokenize("是".encode(), add_bos=False)[0]
    no_id = llm.tokenize("否".encode(), add_bos=False)[0]
    lock = threading.Lock()

    def judge(query: str, doc: str) -> float:
        tokens = llm.tokenize(PROMPT.format(query=query, doc=doc[:300]).encode())
        with lock:
            # The candidates of one query share the prompt up to the document: keep that part of the KV cache.
            keep = Llama.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens[:-1])
            llm._ctx.kv_cache_seq_rm(-1, keep, -1)
            llm.n_tokens = keep
            llm.eval(tokens[keep:])
            # The next-token logits of the last position (logprobs would need logits for every position).
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
            yes, no = float(logits[yes_id]), float(logits[no_id])
        return 1.0 / (1.0 + math.exp(no - yes))  # softmax over the two answers

    return judge
