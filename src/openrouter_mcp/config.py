"""One validated `Settings` object, read from the environment (and CLI flags) once at start-up.

A bad value stops the server with a message that names the variable, the value's problem and the
values allowed. The API key is kept in a `Secret` that never prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_MODEL = "openai/gpt-4o-mini"
SIMULATOR_KEY = "sk-or-sim-local-0000"
DEFAULT_REFERER = "https://github.com/openrouter-mcp/openrouter-mcp"
DEFAULT_TITLE = "openrouter-mcp"
DEFAULT_REQUEST_TIMEOUT_S = 600.0
DEFAULT_RETRY_MAX_WAIT_S = 30.0

TOOLSETS = ("chat", "models", "media", "usage", "collective", "bench", "free", "jobs", "retrieval")
# Toolsets only a name turns on: `all` never includes them.
NAMED_ONLY_TOOLSETS = ("compat",)
PROVIDER_SORTS = ("price", "throughput", "latency")
QUANTIZATIONS = ("int4", "int8", "fp4", "fp6", "fp8", "fp16", "bf16", "fp32", "unknown")
DATA_COLLECTION = ("allow", "deny")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A setting has a value the server cannot run with."""


class Secret:
    """A string that shows only its last four characters, so it cannot leak through a log or a repr."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def masked(self) -> str:
        return "…" + self._value[-4:] if len(self._value) >= 8 else "(set)"

    def __repr__(self) -> str:
        return f"Secret({self.masked()})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class Settings:
    api_key: Secret | None
    base_url: str = DEFAULT_BASE_URL
    default_model: str = DEFAULT_MODEL
    max_tokens: int | None = None
    provider_defaults: dict[str, Any] = field(default_factory=dict)
    home: Path = Path(".")
    input_dir: Path = Path(".")
    output_dir: Path = Path(".")
    database_url: str = ""
    toolsets: tuple[str, ...] = TOOLSETS
    http_referer: str = DEFAULT_REFERER
    app_title: str = DEFAULT_TITLE
    connect_timeout_s: float = 10.0
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    max_retries: int = 3
    retry_max_wait_s: float = DEFAULT_RETRY_MAX_WAIT_S
    daily_budget_usd: Decimal | None = None
    monthly_budget_usd: Decimal | None = None
    # A paid call whose worst case is above this asks the person first (elicitation); None: never asks.
    confirm_above_usd: Decimal | None = None
    reconcile_interval_s: float = 5.0
    # After this long, a call whose cost OpenRouter never reported is marked unreconciled (it keeps
    # counting at its estimate) and no longer asked about.
    reconcile_give_up_s: float = 86400.0
    catalog_ttl_s: float = 3600.0
    job_stale_after_s: float = 30.0
    simulate: bool = False
    # Set only when the state is sealed off for simulation (`for_simulation`): the home whose real state
    # (database, cache, output) the simulated runs never touch.
    real_home: Path | None = None
    log_level: str = "INFO"
    media: MediaSettings = field(default_factory=lambda: MediaSettings())
    collective: CollectiveSettings = field(default_factory=lambda: CollectiveSettings())
    team: TeamSettings = field(default_factory=lambda: TeamSettings())

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# Under the home, the folder that holds everything a simulated run keeps: its database, catalog cache and output.
SIMULATED_DIR = "simulated"
DATABASE_FILE = "openrouter-mcp.db"


def _user_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("openrouter-mcp", appauthor=False))


def home_from_env(env: Mapping[str, str] | None = None) -> Path:
    """OPENROUTER_MCP_HOME, or the per-user data folder, without reading any other setting."""
    env = os.environ if env is None else env
    raw = env.get("OPENROUTER_MCP_HOME", "").strip()
    return _folder("OPENROUTER_MCP_HOME", raw) if raw else _user_home()


def for_simulation(settings: Settings) -> Settings:
    """The settings of a simulated run (`--simulate`), sealed off from real use: every piece of state moves
    into `<home>/simulated/`, so simulated spend never reaches the real ledger or its budgets, and simulated
    benchmarks, jobs, media and catalog never mix with real ones.

    - the database is `<home>/simulated/openrouter-mcp.db`, whatever OPENROUTER_MCP_DATABASE_URL names;
    - the home (the catalog cache) is `<home>/simulated/`;
    - the output folder (generated media, benchmark reports) is `<home>/simulated/output/`, even when
      OPENROUTER_OUTPUT_DIR names another;
    - the input folder stays: it only holds files the user lets the server read.

    Applying it twice changes nothing."""
    if settings.real_home is not None:
        return settings
    home = settings.home / SIMULATED_DIR
    return settings.with_overrides(
        simulate=True, real_home=settings.home, home=home, output_dir=home / "output", database_url=f"sqlite:///{home / DATABASE_FILE}"
    )


def _csv(name: str, raw: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    return _allowed(name, raw, [x.strip() for x in raw.split(",") if x.strip()], allowed)


def _allowed(name: str, raw: str, items: list[str], allowed: tuple[str, ...] | None) -> list[str]:
    if allowed is not None:
        bad = [x for x in items if x not in allowed]
        if bad:
            raise ConfigError(f"{name}={raw!r}: {', '.join(bad)} not allowed; use a comma list of {', '.join(allowed)}")
    return items


def _list(name: str, raw: str, example: tuple[str, ...], allowed: tuple[str, ...] | None = None) -> list[str]:
    """A comma list (`anthropic,openai`) or a JSON array of strings (`["anthropic","openai"]`, the form
    stabgan's server documents for OPENROUTER_PROVIDER_ORDER)."""
    text = raw.strip()
    if not text.startswith("["):
        return _csv(name, text, allowed)
    try:
        items = json.loads(text)
        problem = "" if isinstance(items, list) and all(isinstance(i, str) for i in items) else "not an array of strings"
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at character {exc.pos + 1}"
    if problem:
        array = json.dumps(list(example), separators=(",", ":"))
        raise ConfigError(
            f"{name}={raw!r}: not a valid JSON array ({problem}); write a JSON array of strings such as {array} "
            f"(in a shell: {name}='{array}') or a comma list such as {','.join(example)}"
        )
    return _allowed(name, raw, [i.strip() for i in items if i.strip()], allowed)


def _bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name}={raw!r}: not allowed; use one of {', '.join(allowed)}")
    return value


def _positive(name: str, raw: str, parse: Callable[[str], float], expected: str) -> float:
    try:
        value = parse(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name}={raw!r}: expected {expected} greater than 0")
    return value


def _positive_int(name: str, raw: str) -> int:
    return int(_positive(name, raw, int, "a whole number"))


def _positive_float(name: str, raw: str) -> float:
    return _positive(name, raw, float, "a number of seconds")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    return _positive_float(name, raw) if raw else default


def _budget(env: Mapping[str, str], name: str) -> Decimal | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ConfigError(f"{name}={raw!r}: expected an amount in USD, e.g. 5 or 0.50") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{name}={raw!r}: expected an amount in USD of 0 or more")
    return value


def _max_price(name: str, raw: str) -> dict[str, float]:
    """`{"prompt": 1, "completion": 2}` (JSON) or `prompt=1,completion=2`: USD per million tokens."""
    text = raw.strip()
    pairs: dict[str, Any]
    if text.startswith("{"):
        try:
            pairs = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}: not valid JSON ({exc.msg})") from None
    else:
        pairs = {}
        for part in _csv(name, text):
            key, sep, value = part.partition("=")
            if not sep:
                raise ConfigError(f"{name}={raw!r}: expected prompt=N,completion=N (USD per million tokens)")
            pairs[key.strip()] = value.strip()
    allowed = ("prompt", "completion", "image", "audio", "request")
    out: dict[str, float] = {}
    for key, value in pairs.items():
        if key not in allowed:
            raise ConfigError(f"{name}: unknown price {key!r}; use {', '.join(allowed)}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ConfigError(f"{name}: {key}={value!r} is not a number") from None
        if number < 0:
            raise ConfigError(f"{name}: {key} must be 0 or more")
        out[key] = float(number)
    return out


def provider_defaults_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The `provider` routing object that every chat request starts from."""
    p = "OPENROUTER_PROVIDER_"
    out: dict[str, Any] = {}
    for suffix, key, example in (("ORDER", "order", ("anthropic", "openai")), ("ONLY", "only", ("azure", "openai")), ("IGNORE", "ignore", ("deepinfra",))):
        if items := _list(p + suffix, env.get(p + suffix, ""), example):
            out[key] = items
    if items := _list(p + "QUANTIZATIONS", env.get(p + "QUANTIZATIONS", "").lower(), ("fp8", "bf16"), QUANTIZATIONS):
        out["quantizations"] = items
    if raw := env.get(p + "SORT", "").strip():
        out["sort"] = _choice(p + "SORT", raw, PROVIDER_SORTS)
    if raw := env.get(p + "DATA_COLLECTION", "").strip():
        out["data_collection"] = _choice(p + "DATA_COLLECTION", raw, DATA_COLLECTION)
    for suffix, key in (("REQUIRE_PARAMETERS", "require_parameters"), ("ALLOW_FALLBACKS", "allow_fallbacks"), ("ZDR", "zdr")):
        if raw := env.get(p + suffix, "").strip():
            out[key] = _bool(p + suffix, raw)
    if raw := env.get(p + "MAX_PRICE", "").strip():
        out["max_price"] = _max_price(p + "MAX_PRICE", raw)
    return out


# Variables of the servers users move from (physics91/openrouter-mcp, stabgan/openrouter-mcp-multimodal) that
# mean what one of ours means: theirs -> ours. Theirs is read only while ours is unset.
SEED_ALIASES: dict[str, str] = {
    "OPENROUTER_APP_NAME": "OPENROUTER_APP_TITLE",  # physics91
    "OPENROUTER_DEFAULT_VIDEO_MODEL": "OPENROUTER_MCP_ANALYZE_VIDEO_MODEL",  # stabgan
    "OPENROUTER_DEFAULT_VIDEO_GEN_MODEL": "OPENROUTER_MCP_GENERATE_VIDEO_MODEL",  # stabgan
}


def _read(env: Mapping[str, str], name: str) -> tuple[str, str]:
    """(the variable the value came from, the value): `name`, else the seed variable that means the same."""
    for var in (name, *(theirs for theirs, ours in SEED_ALIASES.items() if ours == name)):
        if raw := env.get(var, "").strip():
            return var, raw
    return name, ""


def _folder(name: str, raw: str) -> Path:
    path = Path(raw).expanduser().resolve()
    if path == Path(path.anchor):
        raise ConfigError(f"{name}={raw!r}: the root folder is not allowed; name a folder for this server's files")
    return path


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """Limits and defaults of the media tools. Every default model is checked against the catalog when
    used: one that does not accept the medium is replaced by a catalog model that does."""

    max_image_bytes: int = 20_000_000
    max_audio_bytes: int = 25_000_000
    max_video_bytes: int = 100_000_000
    max_document_bytes: int = 100_000_000
    # Larger images are downscaled to fit (the common provider limit); smaller ones are sent as they are.
    max_image_side_px: int = 8000
    # Files up to this size are sent inside an ordinary request; larger ones are streamed from disk.
    inline_upload_max_bytes: int = 4_000_000
    fetch_timeout_s: float = 30.0
    video_poll_interval_s: float = 5.0
    video_wait_s: float = 45.0
    video_wait_max_s: float = 300.0
    max_saved_video_bytes: int = 1_000_000_000
    max_resource_bytes: int = 50_000_000
    preview_max_bytes: int = 100_000
    models: dict[str, str] = field(default_factory=lambda: dict(MEDIA_MODELS))


MEDIA_MODELS: dict[str, str] = {
    "analyze_image": "openai/gpt-4o-mini",
    "analyze_audio": "google/gemini-2.5-flash",
    "analyze_video": "google/gemini-2.5-flash",
    "analyze_document": "google/gemini-2.5-flash",
    "generate_image": "google/gemini-2.5-flash-image",
    "generate_audio": "openai/gpt-4o-mini-tts",
    "generate_video": "google/veo-3.1-fast",
}


def media_settings_from_env(env: Mapping[str, str]) -> MediaSettings:
    """OPENROUTER_MCP_MAX_<MEDIUM>_BYTES, OPENROUTER_MCP_<TASK>_MODEL (e.g. OPENROUTER_MCP_ANALYZE_VIDEO_MODEL,
    or its SEED_ALIASES name) and the other OPENROUTER_MCP_* media knobs named after MediaSettings' fields."""
    changes: dict[str, Any] = {}
    for name in MediaSettings.__dataclass_fields__:
        var = f"OPENROUTER_MCP_{name.upper()}"
        raw = "" if name == "models" else env.get(var, "").strip()
        if not raw:
            continue
        changes[name] = _positive_float(var, raw) if name.endswith("_s") else _positive_int(var, raw)
    models = dict(MEDIA_MODELS)
    for task in MEDIA_MODELS:
        var, raw = _read(env, f"OPENROUTER_MCP_{task.upper()}_MODEL")
        if raw:
            if "/" not in raw:
                raise ConfigError(f"{var}={raw!r}: expected a model id such as {MEDIA_MODELS[task]}")
            models[task] = raw
    return MediaSettings(**changes, models=models)


@dataclass(frozen=True, slots=True)
class CollectiveSettings:
    """Defaults of the collective tools (a call's own arguments win): diverse, affordable model families."""

    models: tuple[str, ...] = (
        "openai/gpt-4o-mini",
        "google/gemini-2.5-flash",
        "deepseek/deepseek-v3.2",
        "meta-llama/llama-3.3-70b-instruct",
        "mistralai/mistral-small-3.2-24b-instruct",
    )
    aggregator: str = "google/gemini-2.5-flash"
    # A jury takes the first three of these whose family differs from the content's author.
    judges: tuple[str, ...] = (
        "openai/gpt-4o-mini",
        "google/gemini-2.5-flash",
        "deepseek/deepseek-v3.2",
        "mistralai/mistral-small-3.2-24b-instruct",
        "meta-llama/llama-3.3-70b-instruct",
    )
    embedding_model: str = "openai/text-embedding-3-small"
    concurrency: int = 8
    timeout_s: float = 120.0
    max_tokens: int = 1024
    # Two free-text answers mean the same when their embeddings' cosine similarity reaches this.
    similarity: float = 0.8


def collective_settings_from_env(env: Mapping[str, str]) -> CollectiveSettings:
    """OPENROUTER_MCP_COLLECTIVE_{MODELS,JUDGES} (comma lists), _AGGREGATOR, _CONCURRENCY, _TIMEOUT_S,
    _MAX_TOKENS, _SIMILARITY and OPENROUTER_MCP_EMBEDDING_MODEL."""
    p = "OPENROUTER_MCP_COLLECTIVE_"
    changes: dict[str, Any] = {}
    for key in ("MODELS", "JUDGES"):
        if raw := env.get(p + key, "").strip():
            ids = _csv(p + key, raw)
            if bad := [x for x in ids if "/" not in x]:
                raise ConfigError(f"{p + key}={raw!r}: {bad[0]!r} is not a model id; use a comma list such as openai/gpt-4o-mini,google/gemini-2.5-flash")
            changes[key.lower()] = tuple(ids)
    for var, name in ((p + "AGGREGATOR", "aggregator"), ("OPENROUTER_MCP_EMBEDDING_MODEL", "embedding_model")):
        if raw := env.get(var, "").strip():
            if "/" not in raw:
                raise ConfigError(f"{var}={raw!r}: expected a model id such as {getattr(CollectiveSettings, name)}")
            changes[name] = raw
    if raw := env.get(p + "CONCURRENCY", "").strip():
        changes["concurrency"] = _positive_int(p + "CONCURRENCY", raw)
    if raw := env.get(p + "MAX_TOKENS", "").strip():
        changes["max_tokens"] = _positive_int(p + "MAX_TOKENS", raw)
    if raw := env.get(p + "TIMEOUT_S", "").strip():
        changes["timeout_s"] = _positive_float(p + "TIMEOUT_S", raw)
    if raw := env.get(p + "SIMILARITY", "").strip():
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value < 1:
            raise ConfigError(f"{p}SIMILARITY={raw!r}: expected a cosine similarity between 0 and 1, e.g. 0.8")
        changes["similarity"] = value
    return CollectiveSettings(**changes)


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """The team server's identity and network edges (see docs/team.md)."""

    # OAuth resource-server mode: JWT access tokens from this issuer, for this audience.
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    oauth_jwks_url: str | None = None  # else read from the issuer's metadata
    oauth_client_id: str | None = None  # the dashboard signs people in through the issuer as this public (PKCE) client
    public_url: str | None = None  # the URL clients use to reach /mcp's server (behind a proxy)
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For is believed
    provisioning_key: Secret | None = None  # OpenRouter key-management key, for per-user OpenRouter keys
    secret_key: Secret | None = None  # encrypts the per-user OpenRouter keys at rest
    max_streams_per_user: int = 8  # open GET/SSE streams one user may hold on one replica
    # The largest saved file kept in PostgreSQL for other replicas to serve (0: none, when every replica
    # mounts the same OPENROUTER_OUTPUT_DIR).
    max_stored_file_bytes: int = 25_000_000

    @property
    def oauth(self) -> bool:
        return self.oauth_issuer is not None


def _url(name: str, raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={raw!r}: expected an http(s) URL such as https://mcp.example.com")
    return raw.rstrip("/")


def team_settings_from_env(env: Mapping[str, str]) -> TeamSettings:
    """OPENROUTER_MCP_OAUTH_{ISSUER,AUDIENCE,JWKS_URL,CLIENT_ID}, OPENROUTER_MCP_PUBLIC_URL,
    OPENROUTER_MCP_ALLOWED_{HOSTS,ORIGINS}, OPENROUTER_MCP_TRUSTED_PROXIES, OPENROUTER_PROVISIONING_KEY,
    OPENROUTER_MCP_SECRET_KEY, OPENROUTER_MCP_MAX_STREAMS_PER_USER and OPENROUTER_MCP_MAX_STORED_FILE_BYTES."""
    import ipaddress

    changes: dict[str, Any] = {}
    for var, name in (
        ("OPENROUTER_MCP_OAUTH_ISSUER", "oauth_issuer"),
        ("OPENROUTER_MCP_OAUTH_JWKS_URL", "oauth_jwks_url"),
        ("OPENROUTER_MCP_PUBLIC_URL", "public_url"),
    ):
        if raw := env.get(var, "").strip():
            changes[name] = _url(var, raw)
    if raw := env.get("OPENROUTER_MCP_OAUTH_AUDIENCE", "").strip():
        changes["oauth_audience"] = raw
    if raw := env.get("OPENROUTER_MCP_OAUTH_CLIENT_ID", "").strip():
        changes["oauth_client_id"] = raw
    if changes.get("oauth_issuer") and not changes.get("oauth_audience"):
        raise ConfigError(
            "OPENROUTER_MCP_OAUTH_ISSUER is set but OPENROUTER_MCP_OAUTH_AUDIENCE is not: set it to the audience your identity provider puts in this server's tokens"
        )
    if (changes.get("oauth_audience") or changes.get("oauth_jwks_url") or changes.get("oauth_client_id")) and not changes.get("oauth_issuer"):
        raise ConfigError("OPENROUTER_MCP_OAUTH_AUDIENCE/_JWKS_URL/_CLIENT_ID need OPENROUTER_MCP_OAUTH_ISSUER (your identity provider's issuer URL)")
    if changes.get("oauth_issuer") and not changes.get("public_url"):
        raise ConfigError("OAuth needs OPENROUTER_MCP_PUBLIC_URL: the URL clients use to reach this server (e.g. https://mcp.example.com)")
    for var, name in (("OPENROUTER_MCP_ALLOWED_HOSTS", "allowed_hosts"), ("OPENROUTER_MCP_ALLOWED_ORIGINS", "allowed_origins")):
        if raw := env.get(var, "").strip():
            changes[name] = tuple(_csv(var, raw))
    for origin in changes.get("allowed_origins", ()):
        if not origin.startswith(("http://", "https://")):
            raise ConfigError(f"OPENROUTER_MCP_ALLOWED_ORIGINS: {origin!r} is not an origin; use e.g. https://app.example.com")
    if raw := env.get("OPENROUTER_MCP_TRUSTED_PROXIES", "").strip():
        cidrs = _csv("OPENROUTER_MCP_TRUSTED_PROXIES", raw)
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(f"OPENROUTER_MCP_TRUSTED_PROXIES: {cidr!r} is not an address or CIDR, e.g. 10.0.0.0/8 or 127.0.0.1") from None
        changes["trusted_proxies"] = tuple(cidrs)
    for var, name in (("OPENROUTER_PROVISIONING_KEY", "provisioning_key"), ("OPENROUTER_MCP_SECRET_KEY", "secret_key")):
        if raw := env.get(var, "").strip():
            changes[name] = Secret(raw)
    if changes.get("provisioning_key") and not changes.get("secret_key"):
        raise ConfigError(
            "OPENROUTER_PROVISIONING_KEY is set but OPENROUTER_MCP_SECRET_KEY is not: per-user OpenRouter keys are stored "
            'encrypted with it. Make one with `python -c "import secrets; print(secrets.token_urlsafe(32))"` and keep it safe'
        )
    if raw := env.get("OPENROUTER_MCP_MAX_STREAMS_PER_USER", "").strip():
        changes["max_streams_per_user"] = _positive_int("OPENROUTER_MCP_MAX_STREAMS_PER_USER", raw)
    if raw := env.get("OPENROUTER_MCP_MAX_STORED_FILE_BYTES", "").strip():
        changes["max_stored_file_bytes"] = 0 if raw == "0" else _positive_int("OPENROUTER_MCP_MAX_STORED_FILE_BYTES", raw)
    return TeamSettings(**changes)


# Where `openrouter-mcp login --save keyring` keeps the key: read when OPENROUTER_API_KEY is not set.
KEYRING_SERVICE = "openrouter-mcp"
KEYRING_NAME = "OPENROUTER_API_KEY"


def keyring_key() -> str:
    """The key `login` saved in the OS keyring, or "" (no `keyring` package, no usable backend, no key).
    Imported only when the environment holds no key, so a configured server never pays for it."""
    try:
        import keyring

        return (keyring.get_password(KEYRING_SERVICE, KEYRING_NAME) or "").strip()
    except Exception:  # not installed, no backend, a locked keyring: as if there were no key
        return ""


def load_settings(env: Mapping[str, str] | None = None, *, require_key: bool = True, **overrides: Any) -> Settings:
    """Read and validate every setting; raises `ConfigError` naming the first bad variable. Commands that
    only read local state (`usage`) pass require_key=False. `simulate=True` only lifts the need for a key:
    a `--simulate` command also seals the state off with `for_simulation`."""
    env = os.environ if env is None else env
    simulate = bool(overrides.pop("simulate", False))

    key_raw = env.get("OPENROUTER_API_KEY", "").strip() or (keyring_key() if env is os.environ and not simulate else "")
    api_key = Secret(key_raw) if key_raw else None

    base_url = env.get("OPENROUTER_BASE_URL", "").strip() or DEFAULT_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"OPENROUTER_BASE_URL={base_url!r}: expected an http(s) URL such as {DEFAULT_BASE_URL}")
    base_url = base_url.rstrip("/")

    max_tokens = None
    if raw := env.get("OPENROUTER_MAX_TOKENS", "").strip():
        max_tokens = _positive_int("OPENROUTER_MAX_TOKENS", raw)

    home = home_from_env(env)
    input_raw = env.get("OPENROUTER_INPUT_DIR", "").strip()
    output_raw = env.get("OPENROUTER_OUTPUT_DIR", "").strip()
    input_dir = _folder("OPENROUTER_INPUT_DIR", input_raw) if input_raw else home / "input"
    output_dir = _folder("OPENROUTER_OUTPUT_DIR", output_raw) if output_raw else home / "output"

    database_url = env.get("OPENROUTER_MCP_DATABASE_URL", "").strip() or f"sqlite:///{home / DATABASE_FILE}"
    if not database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(
            f"OPENROUTER_MCP_DATABASE_URL: unsupported scheme in {database_url.split(':', 1)[0]!r}; "
            "use sqlite:///path/to/file.db or postgresql://user@host:5432/db"
        )

    toolsets_raw = env.get("OPENROUTER_MCP_TOOLSETS", "").strip().lower() or "all"
    toolsets = tuple(_csv("OPENROUTER_MCP_TOOLSETS", toolsets_raw, (*TOOLSETS, *NAMED_ONLY_TOOLSETS, "all")))
    if "all" in toolsets:
        toolsets = (*TOOLSETS, *(t for t in NAMED_ONLY_TOOLSETS if t in toolsets))
    # compat re-registers some tools of the others with their extra argument names, so it goes last.
    toolsets = tuple(dict.fromkeys(sorted(toolsets, key=lambda t: t in NAMED_ONLY_TOOLSETS)))

    settings = Settings(
        api_key=api_key,
        base_url=base_url,
        default_model=env.get("OPENROUTER_DEFAULT_MODEL", "").strip() or DEFAULT_MODEL,
        max_tokens=max_tokens,
        provider_defaults=provider_defaults_from_env(env),
        home=home,
        input_dir=input_dir,
        output_dir=output_dir,
        database_url=database_url,
        toolsets=toolsets,
        http_referer=env.get("OPENROUTER_HTTP_REFERER", "").strip() or DEFAULT_REFERER,
        app_title=_read(env, "OPENROUTER_APP_TITLE")[1] or DEFAULT_TITLE,
        request_timeout_s=_seconds(env, "OPENROUTER_MCP_REQUEST_TIMEOUT_S", DEFAULT_REQUEST_TIMEOUT_S),
        retry_max_wait_s=_seconds(env, "OPENROUTER_MCP_RETRY_MAX_WAIT_S", DEFAULT_RETRY_MAX_WAIT_S),
        daily_budget_usd=_budget(env, "OPENROUTER_MCP_DAILY_BUDGET_USD"),
        monthly_budget_usd=_budget(env, "OPENROUTER_MCP_MONTHLY_BUDGET_USD"),
        confirm_above_usd=_budget(env, "OPENROUTER_MCP_CONFIRM_ABOVE_USD"),
        reconcile_interval_s=_seconds(env, "OPENROUTER_MCP_RECONCILE_INTERVAL_S", 5.0),
        reconcile_give_up_s=_seconds(env, "OPENROUTER_MCP_RECONCILE_GIVE_UP_S", 86400.0),
        catalog_ttl_s=_seconds(env, "OPENROUTER_MCP_CATALOG_TTL_S", 3600.0),
        job_stale_after_s=_seconds(env, "OPENROUTER_MCP_JOB_STALE_AFTER_S", 30.0),
        simulate=simulate,
        log_level=_choice("OPENROUTER_MCP_LOG_LEVEL", env.get("OPENROUTER_MCP_LOG_LEVEL", "info"), ("debug", "info", "warning", "error")).upper(),
        media=media_settings_from_env(env),
        collective=collective_settings_from_env(env),
        team=team_settings_from_env(env),
    )
    if overrides:
        settings = settings.with_overrides(**overrides)
    if settings.api_key is None and not settings.simulate and require_key:
        raise ConfigError(
            "OPENROUTER_API_KEY is not set: get a key at https://openrouter.ai/keys and export it, or run with --simulate to use the built-in simulator"
        )
    return settings
