"""Backends addressed as ``provider/model``: ``mock/scripted``, ``transformers/embedded``,
``transformers/<folder>``, ``vllm/<folder>``, ``openai/<model>``, ``inspect/<inspect model>``.

Providers import their heavy dependencies only when first used, and say which extra to
install when they are missing. A provider is a :class:`Provider` registered by exact name:
alignsim's own here, an installed package's through the ``alignsim.llm_providers``
entry-point group (name: the provider; value: ``package.module:PROVIDER``, a
:class:`Provider`), or in code with :func:`register_provider`. A config names a provider,
never a callable: a name that is not registered is a config error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alignsim.agents.llm.types import Backend
from alignsim.errors import AlignsimError, ConfigError, did_you_mean
from alignsim.registry import Registry
from alignsim.validation import check_choice, check_int, check_keys, check_number


def _mock(model: str, **kwargs: Any) -> Backend:
    """Deterministic scripted stand-in (no model), with fault injection: for tests and dry runs."""
    from alignsim.agents.llm.backends.mock import MockBackend

    return MockBackend(name=model, **kwargs)


def _transformers(model: str, **kwargs: Any) -> Backend:
    """Hugging Face transformers in this process: the embedded model or a local model folder."""
    from alignsim.agents.llm.backends.transformers import TransformersBackend

    return TransformersBackend(model=model, **kwargs)


def _vllm(model: str, **kwargs: Any) -> Backend:
    """vLLM's offline engine in this process (extra [vllm])."""  # noqa: D403 (vLLM is spelled so; shown by `alignsim list`)
    from alignsim.agents.llm.backends.vllm import VLLMBackend

    return VLLMBackend(model=model, **kwargs)


def _openai(model: str, **kwargs: Any) -> Backend:
    """Any OpenAI-compatible server (vllm serve, transformers serve, llama.cpp, hosted APIs)."""
    from alignsim.agents.llm.backends.openai import OpenAIBackend

    return OpenAIBackend(model=model, **kwargs)


def _inspect(model: str, **kwargs: Any) -> Backend:
    """Any model Inspect AI can call, through its model API (extra [inspect])."""
    from alignsim.agents.llm.backends.inspect import InspectBackend

    return InspectBackend(model=model, **kwargs)


def _mock_options(options: Mapping[str, Any]) -> None:
    from alignsim.agents.llm.backends.mock import FAULT_KINDS

    check_keys(options, "", ("faults", "fault_kinds", "script"))
    if "faults" in options:
        check_number(options["faults"], "faults", minimum=0.0, maximum=1.0)
    kinds = options.get("fault_kinds", FAULT_KINDS)
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
        raise ConfigError("fault_kinds", f"must be a non-empty list of {', '.join(FAULT_KINDS)}, got {kinds!r}")
    for kind in kinds:
        check_choice(kind, "fault_kinds", FAULT_KINDS)
    script = options.get("script")
    if script is not None and (
        isinstance(script, str) or not isinstance(script, Sequence) or not all(isinstance(t, str) for t in script)
    ):
        raise ConfigError("script", "must be a list of answer texts")


def _transformers_options(options: Mapping[str, Any]) -> None:
    check_keys(options, "", ("device", "dtype", "max_batch", "threads", "prefix_cache_tokens"))
    if "device" in options and not (isinstance(options["device"], str) and options["device"]):
        raise ConfigError("device", f"must name a torch device (cpu, cuda, cuda:1, mps), got {options['device']!r}")
    if "dtype" in options:
        check_choice(options["dtype"], "dtype", TORCH_DTYPES)
    if "max_batch" in options:
        check_int(options["max_batch"], "max_batch", minimum=1)
    threads = options.get("threads")
    if threads is not None and threads not in ("auto", "torch"):
        check_int(threads, "threads", minimum=1)
    if "prefix_cache_tokens" in options:
        check_int(options["prefix_cache_tokens"], "prefix_cache_tokens", minimum=0)


def _openai_options(options: Mapping[str, Any]) -> None:
    known = ("base_url", "api_key", "concurrency", "attempts", "backoff_s", "timeout_s", "choice_mode")
    check_keys(options, "", known)
    base_url = options.get("base_url")
    if base_url is not None and not (isinstance(base_url, str) and base_url.startswith(("http://", "https://"))):
        raise ConfigError("base_url", f"must be an http:// or https:// URL, got {base_url!r}")
    if options.get("api_key") is not None and not isinstance(options["api_key"], str):
        raise ConfigError("api_key", "must be a string")
    for name in ("concurrency", "attempts"):
        if name in options:
            check_int(options[name], name, minimum=1)
    if "backoff_s" in options:
        check_number(options["backoff_s"], "backoff_s", minimum=0.0)
    if "timeout_s" in options:
        check_number(options["timeout_s"], "timeout_s", above=0.0)
    if "choice_mode" in options:
        check_choice(options["choice_mode"], "choice_mode", ("prompt", "structured"))


VLLM_REFUSED = (
    "trust_remote_code",
    "worker_cls",
    "worker_extension_cls",
    "hf_overrides",
    "distributed_executor_backend",
)
"""vLLM engine options that name code to import or run; a config may not set them."""


def _vllm_options(options: Mapping[str, Any]) -> None:
    if not isinstance(options, Mapping):
        raise ConfigError("", f"must be a mapping of engine options, got {options!r}")
    for name in options:
        if name in VLLM_REFUSED:
            raise ConfigError(str(name), "names code for vLLM to import or run; a config may not set it")


def _inspect_options(options: Mapping[str, Any]) -> None:
    # Passed to Inspect's get_model as model arguments: plain data only.
    if not isinstance(options, Mapping):
        raise ConfigError("", f"must be a mapping of Inspect model arguments, got {options!r}")


TORCH_DTYPES = ("float32", "float16", "bfloat16", "float64")


@dataclass(frozen=True)
class Provider:
    """A backend provider, registered under the name that starts ``provider/model``."""

    make: Callable[..., Backend]
    """``make(model, **backend_options)``: the backend for ``model`` (the text after ``provider/``)."""
    check_options: Callable[[Mapping[str, Any]], None]
    """Checks ``backend_options`` without building anything (no model, no server); ConfigError naming the option."""
    description: str = ""


PROVIDER_GROUP = "alignsim.llm_providers"
"""The entry-point group through which installed packages add providers."""


def _on_plugin(name: str, loaded: object) -> None:
    if not isinstance(loaded, Provider):
        raise AlignsimError(f"LLM provider plug-in {name!r} must load a Provider, got {loaded!r}")
    _providers.add(name, loaded)


_providers: Registry[Provider] = Registry("LLM provider", PROVIDER_GROUP, _on_plugin)


def register_provider(name: str, provider: Provider) -> None:
    """Register a backend provider under ``name`` (models are then named ``name/MODEL``)."""
    _providers.add(name, provider)


for _name, _make, _check in (
    ("mock", _mock, _mock_options),
    ("transformers", _transformers, _transformers_options),
    ("vllm", _vllm, _vllm_options),
    ("openai", _openai, _openai_options),
    ("inspect", _inspect, _inspect_options),
):
    register_provider(_name, Provider(_make, _check, (_make.__doc__ or "").strip()))


class _Factories(Mapping[str, Callable[..., Backend]]):
    """Provider name -> ``make``, over every registered provider (plug-ins included)."""

    def __getitem__(self, name: str) -> Callable[..., Backend]:
        if name not in _providers:
            raise KeyError(name)
        return _providers.get(name).make

    def __iter__(self) -> Iterator[str]:
        return iter(_providers.names())

    def __len__(self) -> int:
        return len(_providers.names())


PROVIDERS: Mapping[str, Callable[..., Backend]] = _Factories()
"""Provider name -> backend factory, for every registered provider (read-only; register with
:func:`register_provider` or the ``alignsim.llm_providers`` entry points)."""


def providers() -> dict[str, Provider]:
    """Every registered provider by name (plug-ins included)."""
    return {name: _providers.get(name) for name in _providers.names()}


def check_model(spec: Any) -> tuple[str, str]:
    """``provider/model`` with a known provider; ConfigError (field ``model``) otherwise."""
    if not isinstance(spec, str):
        raise ConfigError("model", f"must be 'provider/model', got {spec!r}")
    provider, _, model = spec.partition("/")
    if provider not in PROVIDERS or not model:
        hint = did_you_mean(provider, PROVIDERS) if provider not in PROVIDERS else ""
        raise ConfigError(
            "model",
            f"{spec!r} is not 'provider/model' with provider in {sorted(PROVIDERS)}{hint}; "
            "see `alignsim list backends`",
        )
    return provider, model


def check_backend_options(spec: str, options: Mapping[str, Any] | None) -> None:
    """Check ``backend_options`` for the provider of ``spec``: ConfigError with a field relative to them."""
    provider, _ = check_model(spec)
    try:
        _providers.get(provider).check_options(options or {})
    except ConfigError as exc:
        field = "backend_options" + (f".{exc.field}" if exc.field else "")
        raise ConfigError(field, str(exc).split(": ", 1)[1]) from None


def make_backend(spec: str, **kwargs: Any) -> Backend:
    """Build the backend named ``provider/model`` (the model part may itself contain slashes)."""
    provider, _, model = spec.partition("/")
    if provider not in PROVIDERS or not model:
        raise ConfigError("llm.model", f"{spec!r} is not 'provider/model' with provider in {sorted(PROVIDERS)}")
    try:
        return PROVIDERS[provider](model, **kwargs)
    except TypeError as exc:
        raise ConfigError("llm.backend", f"bad options for {provider}: {exc}") from exc


class BackendPool:
    """One backend instance per (model, options), shared by every seat that names it."""

    def __init__(self) -> None:
        self._backends: dict[str, Backend] = {}

    def get(self, spec: str, **kwargs: Any) -> Backend:
        """The backend for ``spec`` with these options, created on first request."""
        key = f"{spec}|{sorted(kwargs.items())!r}"
        if key not in self._backends:
            self._backends[key] = make_backend(spec, **kwargs)
        return self._backends[key]

    def close(self) -> None:
        """Close every backend created and forget them."""
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()


__all__ = [
    "PROVIDERS",
    "BackendPool",
    "Provider",
    "check_backend_options",
    "check_model",
    "make_backend",
    "providers",
    "register_provider",
]
