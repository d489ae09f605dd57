"""Analysis: pure functions of episode logs. Nothing here imports an env or a policy."""

from alignsim.analysis.transcript import transcript

__all__ = ["transcript"]
