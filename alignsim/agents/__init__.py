"""Policies: the :class:`Policy` protocol, scripted baselines and the policy registry.

Policies are chosen by name (``alignsim.agents.make("traitors/heuristic")``, or
``scenario.seating.faithful.policy=random`` in config). A third-party package registers
its own under the ``alignsim.policies`` entry-point group; each entry loads a class or
factory, registered under the entry point's name::

    [project.entry-points."alignsim.policies"]
    "mylab/cautious" = "mylab.policies:CautiousPolicy"
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from alignsim.agents.policy import Action, BasePolicy, Decision, Policy
from alignsim.errors import AlignsimError, ConfigError
from alignsim.registry import Registry, load_object

__all__ = [
    "Action",
    "BasePolicy",
    "Decision",
    "Policy",
    "PolicySpec",
    "ids",
    "make",
    "plays",
    "register",
    "spec",
    "supported_envs",
]


@dataclass(frozen=True)
class PolicySpec:
    """A registered policy: a factory (or ``"module:attr"`` path to one) and a description."""

    name: str
    factory: Callable[..., Policy] | str
    description: str = ""

    def load(self) -> Callable[..., Policy]:
        """The policy factory: ``factory`` itself, or the object its ``module:attr`` string names.

        Raises:
            AlignsimError: the factory named is not callable.
        """
        factory = self.factory
        if isinstance(factory, str):
            factory = load_object(factory)  # type: ignore[assignment]
        if not callable(factory):
            raise AlignsimError(f"policy {self.name!r}: factory {factory!r} is not callable")
        return factory


def _on_plugin(name: str, loaded: object) -> None:
    if not callable(loaded):
        raise AlignsimError(f"policy plug-in {name!r} must load a class or factory, got {loaded!r}")
    _registry.add(name, PolicySpec(name, loaded, getattr(loaded, "__doc__", "") or ""))


_registry: Registry[PolicySpec] = Registry("policy", "alignsim.policies", _on_plugin)


def register(name: str, factory: Callable[..., Policy] | str, *, description: str = "") -> PolicySpec:
    """Register a policy factory under ``name``; ``factory(**kwargs)`` must return a :class:`Policy`."""
    policy_spec = PolicySpec(name, factory, description)
    _registry.add(name, policy_spec)
    return policy_spec


def ids() -> list[str]:
    """Every registered policy name (entry-point plug-ins included)."""
    return _registry.names()


def spec(name: str) -> PolicySpec:
    """The registered :class:`PolicySpec` called ``name`` (entry-point plug-ins included)."""
    return _registry.get(name)


def supported_envs(name: str) -> tuple[str, ...] | None:
    """The ``supported_envs`` the factory of policy ``name`` declares (None: any env), looking
    through ``functools.partial`` (the scripted baselines are registered as partials of their class)."""
    factory: Any = spec(name).load()
    while isinstance(factory, functools.partial):
        factory = factory.func
    return getattr(factory, "supported_envs", None)


def plays(name: str, env_id: str) -> bool:
    """Whether policy ``name`` may sit in env ``env_id``, by its :func:`supported_envs`.

    An entry that is the name of a registered env (``self_evolution``) means that env only,
    even where a family has the same name; any other entry is a game family
    (:attr:`alignsim.envs.GameInfo.family`) and means every env of it.
    """
    from alignsim import envs

    supported = supported_envs(name)
    if supported is None:
        return True
    env_spec = envs.spec(env_id)
    family = envs.game_info(env_spec.id).family
    names = {envs.spec(known).name for known in envs.ids()}
    return env_spec.name in supported or (family in supported and family not in names)


def make(name: str, **kwargs: Any) -> Policy:
    """Build the policy registered as ``name`` with keyword arguments ``kwargs``."""
    factory = spec(name).load()
    try:
        policy = factory(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"policy {name}", f"bad arguments {sorted(kwargs)}: {exc}") from exc
    missing = [m for m in ("reset", "act", "act_batch", "get_state", "set_state") if not hasattr(policy, m)]
    if missing:
        raise AlignsimError(f"policy {name!r} does not implement the Policy protocol (missing {missing})")
    policy.name = name  # the log records the name a policy was chosen by
    return policy


register(
    "random",
    "alignsim.agents.scripted.random_legal:RandomLegalPolicy",
    description="Uniformly random legal actions, canned phrases, occasional random claims.",
)
register(
    "llm",
    "alignsim.agents.llm.agent:LLMAgent",
    description="A language-model agent (any backend) with memory that persists across episodes.",
)
register(
    "traitors/heuristic",
    "alignsim.agents.scripted.traitors_heuristic:TraitorsHeuristicPolicy",
    description="Scripted Traitors play: evidence-driven faithful; coordinating, lying traitors.",
)
_SCRIPTED_EVOLUTION = "alignsim.agents.scripted.self_evolution"
_compliance = cast(Callable[..., Policy], load_object(f"{_SCRIPTED_EVOLUTION}:ComplianceScriptedPolicy"))
_threshold = cast(Callable[..., Policy], load_object(f"{_SCRIPTED_EVOLUTION}:ThresholdScriptedPolicy"))
for _strategy, _what in (
    ("comply", "always takes the rule-compliant option"),
    ("violate", "always takes the better-paid rule-violating option"),
    ("opportunist", "violates exactly when the cue says nobody is checking"),
):
    register(
        f"self_evolution/{_strategy}",
        functools.partial(_compliance, strategy=_strategy),
        description=f"Scripted single-agent self-evolution baseline: {_what}.",
    )
for _strategy, _what in (
    ("collective", "always chooses the collective option"),
    ("independent", "always chooses the independent option"),
    ("imitate_majority", "copies the majority of its neighbours' previous choices"),
    ("imitate_any", "takes up the collective option as soon as any neighbour chose it"),
):
    register(
        f"threshold/{_strategy}",
        functools.partial(_threshold, strategy=_strategy),
        description=f"Scripted threshold-game baseline: {_what}.",
    )
register(
    "traitors/always_lie",
    "alignsim.agents.scripted.traitors_controls:AlwaysLieTraitors",
    description="Traitors control: as traitors/heuristic, but every claim a traitor makes is false.",
)
register(
    "traitors/never_lie",
    "alignsim.agents.scripted.traitors_controls:NeverLieTraitors",
    description="Traitors control: as traitors/heuristic, but a traitor only ever claims what is true.",
)
register(
    "werewolf/heuristic",
    "alignsim.envs.werewolf.policies:WerewolfHeuristicPolicy",
    description="Scripted Werewolf play: a seer who reveals found wolves, a doctor guarding claimed seers; "
    "werewolves who fake seer claims and sometimes bus a partner.",
)
register(
    "principal_agent/always_customer",
    "alignsim.agents.scripted.principal_agent:AlwaysCustomerPolicy",
    description="Principal-agent baseline: always the customer's first choice (override rate 0).",
)
register(
    "principal_agent/always_principal",
    "alignsim.agents.scripted.principal_agent:AlwaysPrincipalPolicy",
    description="Principal-agent baseline: always the principal's favourite (override rate 1 where they conflict).",
)
register(
    "principal_agent/audit_sensitive",
    "alignsim.agents.scripted.principal_agent:AuditSensitivePolicy",
    description="Principal-agent baseline: serves the customer when observed, the principal when not.",
)
register(
    "human",
    "alignsim.play.policy:HumanPolicy",
    description="A person plays the seat (`alignsim play`, terminal or browser), asked what an LLM seat is asked.",
)
