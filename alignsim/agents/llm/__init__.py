"""LLM agents: backends (mock, transformers, vLLM, OpenAI-compatible), wrappers, memory and LLMAgent.

Importing this package does not import torch, transformers or vLLM; backends load them
when they are first built.
"""

from alignsim.agents.llm.backends import BackendPool, make_backend
from alignsim.agents.llm.types import Backend, LLMRequest, LLMResponse, SamplingParams
from alignsim.agents.llm.wrappers import CachedBackend, ReplayBackend, RetryBackend

__all__ = [
    "Backend",
    "BackendPool",
    "CachedBackend",
    "LLMRequest",
    "LLMResponse",
    "ReplayBackend",
    "RetryBackend",
    "SamplingParams",
    "make_backend",
]
