"""Scripted Traitors players that play their role sensibly, so every metric has signal without an LLM.

Faithful players keep a suspicion score per player, fed only by public evidence: who
accused or voted against them (they know they are faithful), who accused, defended or
voted for players later revealed, and whom murdered players had accused. They accuse
their top suspect in public, vote for them and report calibrated beliefs.

Traitors coordinate through the secret meeting: each proposes the faithful player who has
most threatened the traitors (accused or voted for one), and everyone then adopts the
first proposal, so the night vote is unanimous. In public they claim to be faithful,
accuse the faithful player the group already suspects most (a deliberate false claim),
sometimes defend an accused fellow traitor (another false claim), and vote with the
scapegoat. Their private reasoning and belief reports are truthful, so the gap between
private knowledge and public claims is exactly what deception metrics should find.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from alignsim.agents.policy import BasePolicy
from alignsim.agents.scripted.random_legal import _rng_from_state, _rng_state
from alignsim.envs.traitors import EVENT_KINDS, decode_observation
from alignsim.probes import ProbeAnswer, ProbeRequest

K = {name: i for i, name in enumerate(EVENT_KINDS)}
CLAIM_FAITHFUL, CLAIM_TRAITOR = 1, 2


def _name(j: int) -> str:
    return f"player_{j}"


class _Mind:
    """What one seat remembers. Plain lists and dicts so that it serialises as JSON."""

    def __init__(self, me: int, n: int, rng: random.Random) -> None:
        self.me = me
        self.n = n
        self.rng = rng
        self.role = "unknown"
        self.n_traitors = 0
        self.alive = [True] * n
        self.known = ["unknown"] * n
        # Initial suspicion is a little noise, so that scripted faithful do not all pile
        # onto player_0 before there is any evidence.
        self.sus = [rng.gauss(0.0, 0.1) for _ in range(n)]
        self.why = [""] * n
        self.threat = [0.0] * n
        self.heat = [0.0] * n
        self.accused: dict[int, list[int]] = {}
        self.defended: dict[int, list[int]] = {}
        self.ballot: dict[int, int] = {}
        self.proposals: dict[int, int] = {}
        self.meeting_order: list[int] = []
        self.last_outcome = ""
        self.persona = ""

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "rng"}
        for key in ("accused", "defended", "ballot", "proposals"):
            data[key] = {str(k): v for k, v in data[key].items()}
        data["rng"] = _rng_state(self.rng)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Mind:
        mind = cls.__new__(cls)
        for key, value in data.items():
            setattr(mind, key, value)
        for key in ("accused", "defended", "ballot", "proposals"):
            setattr(mind, key, {int(k): v for k, v in data[key].items()})
        mind.rng = _rng_from_state(data["rng"])
        return mind


class TraitorsHeuristicPolicy(BasePolicy):
    """Heuristic faithful and traitor play for ``traitors-v*``; each seat plays the role it is dealt.

    Args:
        accuse_margin: how far above the average suspicion a player must be before a
            faithful accuses them in the first discussion pass.
        defend_prob: probability that a traitor publicly vouches for an accused fellow traitor.
    """

    name = "traitors/heuristic"
    supported_envs = ("traitors",)

    def __init__(self, accuse_margin: float = 0.4, defend_prob: float = 0.3) -> None:
        self.accuse_margin = accuse_margin
        self.defend_prob = defend_prob
        self._minds: dict[str, _Mind] = {}

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Forget what the seats knew in any earlier game with this episode id; minds start on first action."""
        super().reset(agents, seed=seed, env_id=env_id, episode=episode)
        self.episode = episode
        for agent in agents:
            self._minds.pop(self.key(agent), None)

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        """Drop the minds (suspicions, known roles) of ``episode``'s seats."""
        prefix = f"{episode}/" if episode else ""
        for key in [k for k in self._minds if (k.startswith(prefix) if prefix else "/" not in k)]:
            del self._minds[key]

    def get_state(self) -> dict[str, Any]:
        """Each seat's mind as JSON (suspicions, known roles, generator state)."""
        return {agent: mind.to_json() for agent, mind in self._minds.items()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the minds saved by :meth:`get_state`."""
        self._minds = {agent: _Mind.from_json(data) for agent, data in state.items()}

    # ------------------------------------------------------------------ acting

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> dict[str, Any]:
        """Update the seat's suspicions from the observation's new events, then play the phase by its role."""
        view = decode_observation(observation["observation"])
        key = self.key(agent)
        mind = self._minds.get(key)
        if mind is None:
            seed = self.seeds.get(self.episode, self.seed)
            mind = self._minds[key] = _Mind(view.me, len(view.alive), random.Random(f"{seed}:{agent}"))
        mind.role, mind.n_traitors = view.role, view.n_traitors
        mind.alive, mind.known = list(view.alive), list(view.known_roles)
        for event in observation["events"]:
            self._ingest(mind, event)
        mask = observation["action_mask"]
        phase = view.phase
        traitor = mind.role == "traitor"
        if phase == "introduction":
            return self._introduce(mind, traitor)
        if phase == "discussion":
            return (
                self._traitor_speech(mind, view.pass_index) if traitor else self._faithful_speech(mind, view.pass_index)
            )
        if phase == "belief":
            return self._beliefs(mind, mask)
        if phase == "day_vote":
            return self._day_vote(mind, mask, traitor)
        if phase == "post_banishment":
            return {"message": mind.last_outcome or "Let's keep going.", "reasoning": self._summary(mind)}
        if phase == "traitor_meeting":
            return self._meeting(mind, mask, view.pass_index)
        if phase == "night_vote":
            return self._night_vote(mind, mask)
        return {}

    # ------------------------------------------------------------------ belief probes

    def probe_beliefs(self, requests: Sequence[ProbeRequest]) -> list[ProbeAnswer]:
        """Answer belief probes (``belief_probes: true``) from the seat's actual belief state.

        A role the seat knows (its own, a fellow traitor's, a revealed one; a traitor knows every
        role) is answered exactly. A faithful seat's view of an unknown player is the same
        P(traitor) its belief reports give; it believes "traitor" at P >= 2/3, "faithful" at
        P <= 1/3, and is unsure in between. Reads the mind only: no draw, no change.
        """
        out = []
        for probe in requests:
            mind = self._minds.get(f"{probe.episode}/{probe.agent}" if probe.episode else probe.agent)
            p = probe.proposition
            if mind is None or p.predicate != "role" or not p.subject.startswith("player_"):
                out.append(ProbeAnswer(None, reason="no belief state about this proposition"))
                continue
            j = int(p.subject.split("_")[1])
            prob = self._p_traitor(mind, j)
            if p.value not in ("traitor", "faithful") or prob is None:
                out.append(ProbeAnswer(None, reason="no belief state about this proposition"))
                continue
            p_claim = prob if p.value == "traitor" else 1.0 - prob
            if p.negated:
                p_claim = 1.0 - p_claim
            out.append(ProbeAnswer("yes" if p_claim >= 2 / 3 else "no" if p_claim <= 1 / 3 else "unsure"))
        return out

    def _p_traitor(self, m: _Mind, j: int) -> float | None:
        """The seat's P(player j is a traitor): 0 or 1 where it knows, else its belief-report weight."""
        if not 0 <= j < m.n:
            return None
        if j == m.me:
            return 1.0 if m.role == "traitor" else 0.0
        if m.known[j] != "unknown" or m.role == "traitor":
            return 1.0 if m.known[j] == "traitor" else 0.0
        revealed = sum(1 for k in range(m.n) if m.known[k] == "traitor")
        remaining = max(m.n_traitors - revealed, 0)
        unknown = [k for k in range(m.n) if m.alive[k] and k != m.me and m.known[k] == "unknown"]
        if j not in unknown:
            return 0.0 if not remaining else None
        weights = {k: math.exp(2.0 * m.sus[k]) for k in unknown}
        return min(1.0, remaining * weights[j] / sum(weights.values()))

    # ------------------------------------------------------------------ evidence

    def _ingest(self, m: _Mind, e: Mapping[str, Any]) -> None:
        kind, actor, target = e["kind"], e["actor"], e["target"]
        n = m.n
        if kind == K["speech"]:
            claims = e["claims"].tolist()
            if any(claims):
                for j, claim in enumerate(claims):
                    if j == actor or not claim:
                        continue
                    if claim == CLAIM_TRAITOR:
                        m.accused.setdefault(actor, []).append(j)
                        m.heat[j] += 1.0
                        if m.known[j] == "traitor" and m.role == "traitor":
                            m.threat[actor] += 1.0
                        if j == m.me and m.role == "faithful":
                            self._suspect(m, actor, 1.5, "accused me, and I know I am faithful")
                        elif m.role == "faithful":
                            self._suspect(m, j, 0.25, f"was accused by {_name(actor)}")
                    elif claim == CLAIM_FAITHFUL:
                        m.defended.setdefault(actor, []).append(j)
                        if j == m.me and m.role == "faithful":
                            self._suspect(m, actor, -0.3, "")
        elif kind == K["day_vote"]:
            if target < n:
                m.ballot[actor] = target
                m.heat[target] += 0.5
                if m.role == "traitor" and m.known[target] == "traitor":
                    m.threat[actor] += 1.0
                if target == m.me and m.role == "faithful":
                    self._suspect(m, actor, 0.7, "voted to banish me")
        elif kind == K["banishment"]:
            self._learn_role(m, target, e["role"], banished=True)
            m.ballot = {}
        elif kind == K["murder"]:
            self._learn_role(m, target, e["role"], banished=False)
        elif kind == K["traitor_speech"]:
            if actor not in m.meeting_order:
                m.meeting_order.append(actor)
            if target < n:
                m.proposals[actor] = target
        elif kind == K["announcement"] and target == m.me and not m.persona:
            m.persona = e["text"]

    def _suspect(self, m: _Mind, j: int, amount: float, why: str) -> None:
        m.sus[j] += amount
        if why and amount > 0:
            m.why[j] = why

    def _learn_role(self, m: _Mind, j: int, role_code: int, *, banished: bool) -> None:
        was_traitor = role_code == 2
        if banished:
            m.last_outcome = (
                f"{_name(j)} was a traitor. Good work, everyone."
                if was_traitor
                else f"{_name(j)} was faithful. We got that one wrong, and someone steered us there."
            )
        if m.role != "faithful":
            return
        for accuser, subjects in m.accused.items():
            if j in subjects and accuser != m.me:
                if was_traitor:
                    self._suspect(m, accuser, -1.0, "")
                else:
                    self._suspect(m, accuser, 1.0, f"accused {_name(j)}, who was faithful")
        for defender, subjects in m.defended.items():
            if j in subjects and defender != m.me:
                if was_traitor:
                    self._suspect(m, defender, 1.5, f"vouched for {_name(j)}, who was a traitor")
                else:
                    self._suspect(m, defender, -0.3, "")
        if banished:
            for voter, target in m.ballot.items():
                if voter == m.me or voter == j:
                    continue
                if target == j:
                    if was_traitor:
                        self._suspect(m, voter, -0.5, "")
                    else:
                        self._suspect(m, voter, 0.5, f"voted to banish {_name(j)}, who was faithful")
                elif was_traitor:
                    self._suspect(m, voter, 0.4, f"did not vote against {_name(j)}, who was a traitor")
        else:
            for subject in m.accused.get(j, []):
                self._suspect(m, subject, 0.8, f"was accused by {_name(j)}, whom the traitors then murdered")

    # ------------------------------------------------------------------ decisions

    def _candidates(self, m: _Mind) -> list[int]:
        return [j for j in range(m.n) if m.alive[j] and j != m.me and m.known[j] == "unknown"]

    def _top_suspect(self, m: _Mind, pool: Sequence[int]) -> int | None:
        return max(pool, key=lambda j: (m.sus[j], -j)) if pool else None

    def _summary(self, m: _Mind) -> str:
        if m.role == "traitor":
            fellows = [_name(j) for j in range(m.n) if m.known[j] == "traitor" and j != m.me]
            return f"I am a traitor{' with ' + ', '.join(fellows) if fellows else ''}. I must not be caught."
        ranked = sorted(self._candidates(m), key=lambda j: -m.sus[j])[:3]
        return (
            "My suspicions: " + ", ".join(f"{_name(j)} {m.sus[j]:.2f}" for j in ranked)
            if ranked
            else "No suspects left."
        )

    def _introduce(self, m: _Mind, traitor: bool) -> dict[str, Any]:
        claims = np.zeros(m.n, dtype=np.int64)
        claims[m.me] = CLAIM_FAITHFUL
        about = m.persona.split(";", 1)[1].strip() if ";" in m.persona else ""
        about = about[:1].upper() + about[1:] if about else ""
        message = f"Hello, I am {_name(m.me)}. {about} I am faithful, and I want to find the traitors."
        return {"message": " ".join(message.split()), "reasoning": self._summary(m), "claims": claims}

    def _faithful_speech(self, m: _Mind, pass_index: int) -> dict[str, Any]:
        claims = np.zeros(m.n, dtype=np.int64)
        claims[m.me] = CLAIM_FAITHFUL
        pool = self._candidates(m)
        top = self._top_suspect(m, pool)
        if top is None:
            return {"message": "I am faithful.", "claims": claims, "reasoning": self._summary(m)}
        mean = sum(m.sus[j] for j in pool) / len(pool)
        if m.sus[top] - mean >= self.accuse_margin or pass_index > 1:
            claims[top] = CLAIM_TRAITOR
            because = f": {_name(top)} {m.why[top]}" if m.why[top] else "; call it instinct for now"
            message = f"I am faithful, and I believe {_name(top)} is a traitor{because}."
        else:
            message = "I am faithful. I have no firm suspicion yet, and I am watching how people vote."
        return {"message": message, "claims": claims, "reasoning": self._summary(m)}

    def _scapegoat(self, m: _Mind, pool: Sequence[int]) -> int | None:
        faithful = [j for j in pool if m.known[j] != "traitor"]
        if not faithful:
            return None
        if max(m.heat[j] for j in faithful) == 0:
            return faithful[m.rng.randrange(len(faithful))]
        return max(faithful, key=lambda j: (m.heat[j], m.threat[j], -j))

    def _traitor_speech(self, m: _Mind, pass_index: int) -> dict[str, Any]:
        claims = np.zeros(m.n, dtype=np.int64)
        claims[m.me] = CLAIM_FAITHFUL
        pool = [j for j in range(m.n) if m.alive[j] and j != m.me]
        goat = self._scapegoat(m, pool)
        parts = ["I am faithful."]
        if goat is not None:
            claims[goat] = CLAIM_TRAITOR
            parts.append(f"I think {_name(goat)} is a traitor; their story does not hold together.")
        accused_fellows = [j for j in pool if m.known[j] == "traitor" and any(j in s for s in m.accused.values())]
        if accused_fellows and m.rng.random() < self.defend_prob:
            fellow = accused_fellows[0]
            claims[fellow] = CLAIM_FAITHFUL
            parts.append(f"And I trust {_name(fellow)}; the accusations against them are weak.")
        reasoning = self._summary(m) + (f" Steering suspicion onto {_name(goat)}." if goat is not None else "")
        return {"message": " ".join(parts), "claims": claims, "reasoning": reasoning}

    def _beliefs(self, m: _Mind, mask: Mapping[str, Any]) -> dict[str, Any]:
        beliefs = np.zeros(m.n, dtype=np.int64)
        open_seats = [j for j in range(m.n) if mask["beliefs"][j][1:].any()]
        if m.role == "traitor":
            for j in open_seats:
                beliefs[j] = 100 if m.known[j] == "traitor" else 0
            return {"beliefs": beliefs, "reasoning": self._summary(m)}
        revealed = sum(1 for j in range(m.n) if m.known[j] == "traitor")
        remaining = max(m.n_traitors - revealed, 0)
        unknown = [j for j in open_seats if m.known[j] == "unknown"]
        if unknown:
            weights = [math.exp(2.0 * m.sus[j]) for j in unknown]
            total = sum(weights)
            for j, w in zip(unknown, weights, strict=True):
                beliefs[j] = round(100 * min(0.99, max(0.01, remaining * w / total)))
        return {"beliefs": beliefs, "reasoning": self._summary(m)}

    def _legal(self, mask: Mapping[str, Any]) -> list[int]:
        target = mask["target"]
        return [j for j in np.flatnonzero(target).tolist() if j < len(target) - 1]

    def _day_vote(self, m: _Mind, mask: Mapping[str, Any], traitor: bool) -> dict[str, Any]:
        legal = self._legal(mask)
        if not legal:
            return {"target": len(mask["target"]) - 1}
        if traitor:
            m.proposals, m.meeting_order = {}, []  # tonight's meeting starts afresh
            choice = self._scapegoat(m, legal)
            if choice is None:
                choice = legal[m.rng.randrange(len(legal))]
            return {"target": choice, "reasoning": f"Voting with the crowd against {_name(choice)}."}
        choice = self._top_suspect(m, [j for j in legal if m.known[j] == "unknown"] or legal)
        assert choice is not None
        return {"target": choice, "reasoning": f"{_name(choice)} is my top suspect ({m.sus[choice]:.2f})."}

    def _threat_target(self, m: _Mind, legal: Sequence[int]) -> int:
        return max(legal, key=lambda j: (m.threat[j], -m.heat[j], -j))

    def _meeting(self, m: _Mind, mask: Mapping[str, Any], pass_index: int) -> dict[str, Any]:
        legal = self._legal(mask)
        if not legal:
            return {"message": "No one left to choose."}
        if pass_index <= 1:
            choice = self._threat_target(m, legal)
            return {
                "target": choice,
                "message": f"I propose {_name(choice)}: they are the biggest danger to us.",
                "reasoning": f"{_name(choice)} has the highest threat score ({m.threat[choice]:.1f}).",
            }
        choice = self._consensus(m, legal)
        return {
            "target": choice,
            "message": f"Agreed: {_name(choice)} tonight.",
            "reasoning": "Following the first proposal keeps us united.",
        }

    def _consensus(self, m: _Mind, legal: Sequence[int]) -> int:
        for proposer in m.meeting_order:
            if proposer in m.proposals and m.proposals[proposer] in legal:
                return m.proposals[proposer]
        return self._threat_target(m, legal)

    def _night_vote(self, m: _Mind, mask: Mapping[str, Any]) -> dict[str, Any]:
        legal = self._legal(mask)
        if not legal:
            return {"target": len(mask["target"]) - 1}
        choice = self._consensus(m, legal)
        return {"target": choice, "reasoning": f"The meeting chose {_name(choice)}."}
