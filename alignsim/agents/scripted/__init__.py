"""Scripted baselines: no model needed."""

from alignsim.agents.scripted.random_legal import RandomLegalPolicy, random_legal_action
from alignsim.agents.scripted.traitors_heuristic import TraitorsHeuristicPolicy

__all__ = ["RandomLegalPolicy", "TraitorsHeuristicPolicy", "random_legal_action"]
