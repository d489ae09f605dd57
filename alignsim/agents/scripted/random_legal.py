"""Uniformly random legal actions for any env whose action space is a ``Dict`` of masked parts."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from alignsim.agents.policy import BasePolicy

_PHRASES = (
    "I have nothing to add yet.",
    "Let's hear from the others first.",
    "I am keeping an open mind.",
    "Something feels off, but I cannot say what.",
    "I will vote with my gut today.",
)


_LEGAL_CACHE: dict[bytes, tuple[int, ...]] = {}


def _legal(mask: np.ndarray) -> tuple[int, ...]:
    """Legal values of a 0/1 mask. Masks repeat a lot, so results are cached by content."""
    key = mask.tobytes()
    legal = _LEGAL_CACHE.get(key)
    if legal is None:
        legal = tuple(np.flatnonzero(mask).tolist())
        if len(_LEGAL_CACHE) < 4096:
            _LEGAL_CACHE[key] = legal
    return legal


_BY_IDENTITY: dict[int, tuple[Any, Any]] = {}


def _cached(mask: Any, compute: Any) -> Any:
    """``compute(mask)``, cached by the identity of ``mask``.

    Envs hand out the same mask objects again and again. The cache keeps a reference to
    each mask, so an id cannot be reused by another object while its entry lives.
    """
    hit = _BY_IDENTITY.get(id(mask))
    if hit is not None and hit[0] is mask:
        return hit[1]
    value = compute(mask)
    if len(_BY_IDENTITY) >= 2048:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(mask)] = (mask, value)
    return value


def _open_parts(mask: Sequence[np.ndarray]) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """(position, legal values) of a MultiDiscrete mask, skipping positions fixed at 0."""
    return tuple((j, legal) for j, part in enumerate(mask) if (legal := _legal(part)) != (0,))


def _pick(mask: np.ndarray, rng: random.Random) -> int:
    legal = _cached(mask, _legal)
    if not legal:
        return 0
    return legal[rng.randrange(len(legal))]


_DISCRETE, _TEXT, _MULTI, _OTHER = range(4)


def _dict_plan(action_space: spaces.Dict, mask: Mapping[str, Any]) -> tuple[tuple[str, int, Any], ...]:
    """What each key of a masked ``Dict`` action allows, computed once per mask object."""
    plan: list[tuple[str, int, Any]] = []
    for key, sub in action_space.spaces.items():
        part = mask[key]
        if isinstance(sub, spaces.Discrete):
            plan.append((key, _DISCRETE, (int(sub.start), _cached(part, _legal))))
        elif isinstance(sub, spaces.Text):
            plan.append((key, _TEXT, bool(part[0]) and bool(_cached(part[1], _legal))))
        elif isinstance(sub, spaces.MultiDiscrete) and sub.nvec.ndim == 1:
            plan.append((key, _MULTI, (len(part), _cached(part, _open_parts))))
        else:
            plan.append((key, _OTHER, (sub, part)))
    return tuple(plan)


def random_legal_action(
    action_space: spaces.Space,
    mask: Any,
    rng: random.Random,
    *,
    text: str = "",
    silent: frozenset[str] = frozenset(),
    sparse: Mapping[str, float] | None = None,
    sparse_prob: float | None = None,
) -> Any:
    """A random action inside ``mask``, in plain Python types (``MultiDiscrete`` as lists).

    Discrete parts draw uniformly among legal values, and so do the components of
    ``MultiDiscrete`` parts, except for ``Dict`` keys listed in ``sparse`` (key -> p): those
    components stay 0 and, with probability p, take a uniformly drawn legal non-zero value
    (this is how claims stay occasional). Text parts get ``text`` where text is taken,
    except ``Dict`` keys in ``silent``, which stay empty.
    """
    if type(action_space) is spaces.Dict and mask is not None:
        hit = _BY_IDENTITY.get(id(mask))
        if hit is None or hit[0] is not mask or hit[1][0] is not action_space:
            _cached(mask, lambda m: (action_space, _dict_plan(action_space, m)))
            hit = _BY_IDENTITY[id(mask)]
        sparse = sparse or {}
        out: dict[str, Any] = {}
        for key, kind, data in hit[1][1]:
            if kind == _DISCRETE:
                start, legal = data
                out[key] = start + (legal[rng.randrange(len(legal))] if legal else 0)
            elif kind == _TEXT:
                out[key] = text if data and key not in silent else ""
            elif kind == _MULTI:
                out[key] = _sample_multi(data[0], data[1], rng, sparse.get(key))
            else:
                out[key] = random_legal_action(data[0], data[1], rng, text=text, sparse_prob=sparse.get(key))
        return out
    if isinstance(action_space, spaces.Dict):
        sparse = sparse or {}
        return {
            key: random_legal_action(sub, None, rng, text=text, sparse_prob=sparse.get(key))
            for key, sub in action_space.spaces.items()
        }
    if isinstance(action_space, spaces.Discrete):
        if mask is None:
            return int(action_space.start) + rng.randrange(int(action_space.n))
        return int(action_space.start) + _pick(mask, rng)
    if isinstance(action_space, spaces.MultiDiscrete):
        if mask is None:
            return [rng.randrange(int(k)) for k in action_space.nvec.flat]
        return _sample_multi(len(mask), _cached(mask, _open_parts), rng, sparse_prob)
    if isinstance(action_space, spaces.Text):
        if mask is not None and (mask[0] == 0 or not _cached(mask[1], _legal)):
            return ""
        return text
    raise TypeError(f"random_legal_action does not handle {type(action_space).__name__} spaces")


def _sample_multi(
    size: int, parts: tuple[tuple[int, tuple[int, ...]], ...], rng: random.Random, sparse_prob: float | None
) -> list[int]:
    out = [0] * size
    for j, legal in parts:
        if sparse_prob is None or legal[0] != 0:
            out[j] = legal[rng.randrange(len(legal))]
        elif rng.random() < sparse_prob:
            out[j] = legal[1 + rng.randrange(len(legal) - 1)]
    return out


class RandomLegalPolicy(BasePolicy):
    """Plays a uniformly random legal action; speaks canned phrases and makes random claims.

    Args:
        claim_prob: probability of a random claim about each player it may make claims about.
        reasoning: also fill private-reasoning fields (``reasoning``) with a canned phrase.
    """

    name = "random"

    def __init__(self, claim_prob: float = 0.1, reasoning: bool = False) -> None:
        if not 0.0 <= claim_prob <= 1.0:
            raise ValueError(f"claim_prob must be in [0, 1], got {claim_prob}")
        self.claim_prob = claim_prob
        self._silent = frozenset() if reasoning else frozenset({"reasoning"})
        self._sparse = {"claims": claim_prob}
        self._rngs: dict[str, random.Random] = {}

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Give each seat its own generator, seeded by the episode seed and the seat's name."""
        super().reset(agents, seed=seed, env_id=env_id, episode=episode)
        self.episode = episode
        for agent in agents:
            self._rngs[self.key(agent)] = random.Random(f"{seed}:{agent}")

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        """Drop the generators of ``episode``'s seats."""
        prefix = f"{episode}/" if episode else ""
        for key in [k for k in self._rngs if (k.startswith(prefix) if prefix else "/" not in k)]:
            del self._rngs[key]

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> Any:
        """A uniformly random action among those the seat's ``action_mask`` allows."""
        rng = self._rngs[self.key(agent)]
        mask = observation.get("action_mask") if type(observation) is dict else None
        return random_legal_action(
            action_space,
            mask,
            rng,
            text=_PHRASES[rng.randrange(len(_PHRASES))],
            silent=self._silent,
            sparse=self._sparse,
        )

    def get_state(self) -> dict[str, Any]:
        """Each seat's generator state, so that a restored policy draws the same actions."""
        return {agent: _rng_state(rng) for agent, rng in self._rngs.items()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the generators saved by :meth:`get_state`."""
        self._rngs = {agent: _rng_from_state(s) for agent, s in state.items()}


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from_state(state: Sequence[Any]) -> random.Random:
    rng = random.Random()
    rng.setstate((state[0], tuple(state[1]), state[2]))
    return rng
