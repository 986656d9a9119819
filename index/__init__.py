"""Hybrid Chinese retrieval: jieba BM25 + dense vectors in Chroma, aggregated to documents.

    from index.retriever import HybridRetriever
    hits = HybridRetriever.from_settings(settings).search("孩子出生了要办哪些证", k=5)

Build first with ``daoban index build``. Whoever needs a retriever builds and owns one (the assistant, the
API runtime, the CLI): there is no process-wide instance."""
