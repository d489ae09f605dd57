"""alignsim: populations of LLM agents in social-deduction, principal-agent and
self-evolution games, with typed episode logs for measuring deception, trust and drift."""

__version__ = "0.1.0"
