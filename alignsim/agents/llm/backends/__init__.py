"""Backends addressed as ``provider/model``: ``mock/scripted``, ``transformers/embedded``,
``transformers/<folder>``, ``vllm/<folder>``, ``openai/<model>``, ``inspect/<inspect model>``.

Providers import their heavy dependencies only when first used, and say which extra to
install when they are missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alignsim.agents.llm.types import Backend
from alignsim.errors import ConfigError


def _mock(model: str, **kwargs: Any) -> Backend:
    from alignsim.agents.llm.backends.mock import MockBackend

    return MockBackend(name=model, **kwargs)


def _transformers(model: str, **kwargs: Any) -> Backend:
    from alignsim.agents.llm.backends.transformers import TransformersBackend

    return TransformersBackend(model=model, **kwargs)


def _vllm(model: str, **kwargs: Any) -> Backend:
    from alignsim.agents.llm.backends.vllm import VLLMBackend

    return VLLMBackend(model=model, **kwargs)


def _openai(model: str, **kwargs: Any) -> Backend:
    from alignsim.agents.llm.backends.openai import OpenAIBackend

    return OpenAIBackend(model=model, **kwargs)


def _inspect(model: str, **kwargs: Any) -> Backend:
    from alignsim.agents.llm.backends.inspect import InspectBackend

    return InspectBackend(model=model, **kwargs)


PROVIDERS: dict[str, Callable[..., Backend]] = {
    "mock": _mock,
    "transformers": _transformers,
    "vllm": _vllm,
    "openai": _openai,
    "inspect": _inspect,
}


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
        key = f"{spec}|{sorted(kwargs.items())!r}"
        if key not in self._backends:
            self._backends[key] = make_backend(spec, **kwargs)
        return self._backends[key]

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()


__all__ = ["PROVIDERS", "BackendPool", "make_backend"]
