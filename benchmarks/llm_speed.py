"""Raw llama.cpp speed on this machine: prompt reading and writing, in tokens per second.

    .venv/bin/python benchmarks/llm_speed.py [--model FILE] [--prompt-tokens 300] [--gen-tokens 48] [--runs 3]

It prints the CPU features the installed llama-cpp-python was compiled for, so a build without the machine's
best instructions (AVX-512, VNNI) shows up here before it shows up as a slow first token.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    import llama_cpp

    from daoban.model_files import default_model_path
    from daoban.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="GGUF file (default: the configured local model)")
    ap.add_argument("--prompt-tokens", type=int, default=300)
    ap.add_argument("--gen-tokens", type=int, default=48)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    settings = get_settings()
    cfg = settings.llm
    model = args.model or Path(cfg.model_path or default_model_path(settings))
    threads = args.threads or cfg.n_threads
    print(f"llama-cpp-python {llama_cpp.__version__}: {llama_cpp.llama_print_system_info().decode().strip()}")
    llm = llama_cpp.Llama(model_path=str(model), n_threads=threads, n_ctx=2048, n_batch=512, flash_attn=True,
                          verbose=False)
    text = "办理出生医学证明需要父母双方的居民身份证、结婚证和医院出具的分娩记录，可在爱山东APP网上申请。"
    tokens = llm.tokenize(text.encode(), add_bos=False)
    prompt = (tokens * (args.prompt_tokens // len(tokens) + 1))[: args.prompt_tokens]
    read, write = [], []
    for _ in range(args.runs):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        read.append(len(prompt) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(args.gen_tokens):
            tok = llm.sample(temp=0.0)
            llm.eval([tok])
        write.append(args.gen_tokens / (time.perf_counter() - t0))
    print(f"model {model.name}, {threads} threads, {args.runs} runs")
    print(f"prompt reading  {statistics.median(read):6.1f} tok/s  ({len(prompt)} tokens: "
          f"{len(prompt) / statistics.median(read):.2f} s)")
    print(f"writing         {statistics.median(write):6.1f} tok/s  ({args.gen_tokens} tokens: "
          f"{args.gen_tokens / statistics.median(write):.2f} s)")


if __name__ == "__main__":
    main()
