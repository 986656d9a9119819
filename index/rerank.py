"""Optional second stage: the local LLM judges yes/no whether a guide answers the question.

``HybridRetriever(..., llm_judge=...)`` accepts any ``(query, document text) -> probability`` callable; the agent
can pass its own LLM. This module builds one from ``settings.llm`` with llama-cpp-python when the GGUF exists."""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

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
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=1024, n_threads=settings.llm.n_threads, logits_all=False, verbose=False)
    lock = threading.Lock()

    def judge(query: str, doc: str) -> float:
        prompt = PROMPT.format(query=query, doc=doc[:300])
        with lock:
            out = llm.create_completion(prompt, max_tokens=1, temperature=0.0, logprobs=10)
        top = (out["choices"][0].get("logprobs") or {}).get("top_logprobs") or [{}]
        yes = sum(math.exp(v) for k, v in top[0].items() if k.strip().startswith("是"))
        no = sum(math.exp(v) for k, v in top[0].items() if k.strip().startswith("否"))
        return yes / (yes + no) if yes + no > 0 else 0.5

    return judge
