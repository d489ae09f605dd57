"""Scripted Werewolf players: a heuristic village and heuristic werewolves.

Random legal play is the library's generic ``random`` policy. :class:`WerewolfHeuristicPolicy`
plays whatever role a seat is dealt, from that seat's observations only:

* **seer**: inspects a living player it knows nothing about; when it finds a werewolf it
  reveals itself with probability ``seer_reveal_prob`` (decided once per werewolf found),
  and from then on claims "I am the seer" and reports every inspection as an evidence claim.
* **doctor**: protects the first living player who claimed to be the seer, else itself
  (where allowed), else a random legal player.
* **villagers** (and the doctor): say "I am a villager" once (the doctor stays quiet about
  its role), repeat a claimed seer's accusations as role claims, and vote for the player
  with the most evidence against them.
* **hunter** (when dealt): plays as a villager without claiming its role; when eliminated it
  shoots the player with the most public evidence against them, or nobody without evidence.
* **werewolves**: one of them fakes a seer claim with probability ``fake_claim_prob``
  (accusing a villager, preferably the real seer if it has claimed); the others claim to be
  villagers. They kill a claimed seer first, vote with the village's top suspect when that
  is not a werewolf, and with probability ``bus_prob`` vote against an accused partner.

So every claim has an exactly computable truth value, and lies, honest errors (a villager
repeating a fake seer) and truthful claims all occur.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from alignsim.agents.policy import BasePolicy
from alignsim.agents.scripted.random_legal import _rng_from_state, _rng_state
from alignsim.envs.werewolf.werewolf import CLAIM_CODES, EVENT_KINDS, KNOWN, decode_observation

__all__ = ["WerewolfHeuristicPolicy"]

K = {name: i for i, name in enumerate(EVENT_KINDS)}
C = {name: i for i, name in enumerate(CLAIM_CODES)}
_ACCUSING = {C["werewolf"]: 1.0, C["inspected_werewolf"]: 2.0}
_CLEARING = {
    C["hunter"],
    C["inspected_hunter"],
    C["village"],
    C["villager"],
    C["doctor"],
    C["inspected_village"],
    C["inspected_doctor"],
    C["inspected_villager"],
}
_VERDICT = {
    "werewolf": "a werewolf",
    "village": "not a werewolf",
    "doctor": "the doctor",
    "villager": "a villager",
    "hunter": "the hunter",
}
_PHRASES = ("I am listening.", "Nothing certain yet.", "Let us hear everyone out.", "I have no strong read today.")


def _name(j: int) -> str:
    return f"player_{j}"


class _Mind:
    """What one seat remembers; plain data so that it serialises as JSON."""

    def __init__(self, me: int, n: int, rng: random.Random) -> None:
        self.me = me
        self.n = n
        self.rng = rng
        self.role = "unknown"
        self.alive = [True] * n
        self.known = ["unknown"] * n
        self.score = [0.0] * n
        """Evidence that each player is a werewolf, from public claims."""
        self.seer_claims: list[int] = []
        self.proposals: dict[int, int] = {}
        self.reveal: dict[int, bool] = {}
        """Seer: for each werewolf found, whether it decided to reveal it."""
        self.revealed = False
        self.fake_seer: bool | None = None
        self.fake_targets: list[int] = []
        self.said_role = False
        self.inspected: dict[int, str] = {}
        """Seer: its own inspection results (player -> result)."""

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "rng"}
        data["proposals"] = {str(k): v for k, v in self.proposals.items()}
        data["reveal"] = {str(k): v for k, v in self.reveal.items()}
        data["inspected"] = {str(k): v for k, v in self.inspected.items()}
        data["rng"] = _rng_state(self.rng)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Mind:
        mind = cls.__new__(cls)
        for key, value in data.items():
            setattr(mind, key, value)
        mind.proposals = {int(k): v for k, v in data["proposals"].items()}
        mind.reveal = {int(k): v for k, v in data["reveal"].items()}
        mind.inspected = {int(k): v for k, v in data["inspected"].items()}
        mind.rng = _rng_from_state(data["rng"])
        return mind


class WerewolfHeuristicPolicy(BasePolicy):
    """Heuristic village and werewolf play for ``werewolf-v*``; each seat plays the role it is dealt.

    Args:
        seer_reveal_prob: probability that the seer reveals itself when it finds a werewolf.
        fake_claim_prob: probability that a werewolf fakes a seer claim (at most one per pack).
        bus_prob: probability that a werewolf votes against an accused partner ("bussing").
    """

    name = "werewolf/heuristic"
    supported_envs: ClassVar[tuple[str, ...] | None] = ("werewolf",)

    def __init__(self, seer_reveal_prob: float = 0.8, fake_claim_prob: float = 0.3, bus_prob: float = 0.1) -> None:
        for label, p in (
            ("seer_reveal_prob", seer_reveal_prob),
            ("fake_claim_prob", fake_claim_prob),
            ("bus_prob", bus_prob),
        ):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {p}")
        self.seer_reveal_prob = seer_reveal_prob
        self.fake_claim_prob = fake_claim_prob
        self.bus_prob = bus_prob
        self._minds: dict[str, _Mind] = {}

    def reset(self, agents: Sequence[str], *, seed: int, env_id: str, episode: str = "") -> None:
        """Forget the seats' minds of any earlier game with this episode id."""
        super().reset(agents, seed=seed, env_id=env_id, episode=episode)
        self.episode = episode
        for agent in agents:
            self._minds.pop(self.key(agent), None)

    def end_episode(self, episode: str = "", outcome: Mapping[str, Any] | None = None) -> None:
        """Drop the minds of ``episode``'s seats."""
        prefix = f"{episode}/" if episode else ""
        for key in [k for k in self._minds if (k.startswith(prefix) if prefix else "/" not in k)]:
            del self._minds[key]

    def get_state(self) -> dict[str, Any]:
        """Each seat's mind as JSON (evidence scores, claims heard, decisions, generator state)."""
        return {agent: mind.to_json() for agent, mind in self._minds.items()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore the minds saved by :meth:`get_state`."""
        self._minds = {agent: _Mind.from_json(data) for agent, data in state.items()}

    # ------------------------------------------------------------------ acting

    def act(self, agent: str, observation: Any, action_space: spaces.Space) -> dict[str, Any]:
        """Update the seat's mind from the observation's new events, then play the phase by its role."""
        view = decode_observation(observation["observation"])
        key = self.key(agent)
        mind = self._minds.get(key)
        if mind is None:
            seed = self.seeds.get(self.episode, self.seed)
            mind = self._minds[key] = _Mind(view.me, len(view.alive), random.Random(f"{seed}:{agent}"))
        mind.role, mind.alive, mind.known = view.role, list(view.alive), list(view.known)
        for event in observation["events"]:
            self._ingest(mind, event)
        mask = observation["action_mask"]
        legal = [int(j) for j in np.flatnonzero(mask["target"][:-1])]
        phase = view.phase
        if phase == "night_meeting":
            target = self._wolf_target(mind, legal)
            if target is None:
                return {"message": "I have no one in mind."}
            return {"target": target, "message": f"Let us take {_name(target)} tonight."}
        if phase == "night_action":
            return {"target": self._night_target(mind, legal) if legal else len(mind.alive)}
        if phase == "bid":
            return {"bid": self._bid(mind)}
        if phase == "discussion":
            return self._speak(mind, mask)
        if phase == "day_vote":
            return {"target": self._vote(mind, legal) if legal else len(mind.alive)}
        if phase == "hunter_shot":
            return {"target": self._shot(mind, legal)}
        return {}

    # ------------------------------------------------------------------ reading

    def _ingest(self, m: _Mind, event: Mapping[str, Any]) -> None:
        kind, actor = event["kind"], event["actor"]
        if kind == K["speech"] and actor < m.n:
            claims = event["claims"].tolist() if hasattr(event["claims"], "tolist") else list(event["claims"])
            if claims[actor] == C["seer"] and actor not in m.seer_claims:
                m.seer_claims.append(actor)
            if m.known[actor] == "werewolf" or actor == m.me:
                return  # a known werewolf's word (or one's own) is no evidence
            for j, c in enumerate(claims):
                if c in _ACCUSING:
                    m.score[j] += _ACCUSING[c]
                elif c in _CLEARING and actor in m.seer_claims:
                    m.score[j] -= 1.0
        elif kind == K["inspection"] and event["target"] < m.n:
            m.inspected[int(event["target"])] = KNOWN[int(event["role"])]
        elif kind == K["wolf_speech"] and actor < m.n and event["target"] < m.n:
            m.proposals[actor] = int(event["target"])

    # ------------------------------------------------------------------ choosing

    def _village_of(self, m: _Mind, j: int) -> bool:
        return m.known[j] in ("seer", "doctor", "villager", "village", "hunter")

    def _wolf_target(self, m: _Mind, legal: list[int]) -> int | None:
        if not legal:
            return None
        seers = [j for j in m.seer_claims if j in legal]
        if seers:
            return seers[0]
        return legal[m.rng.randrange(len(legal))]

    def _night_target(self, m: _Mind, legal: list[int]) -> int:
        if m.role == "werewolf":
            counts: dict[int, int] = {}
            for target in m.proposals.values():
                if target in legal:
                    counts[target] = counts.get(target, 0) + 1
            m.proposals = {}
            if counts:
                return max(sorted(counts), key=lambda j: counts[j])
            pick = self._wolf_target(m, legal)
            return legal[0] if pick is None else pick
        if m.role == "seer":
            unknown = [j for j in legal if m.known[j] == "unknown"]
            pool = unknown or legal
            return pool[m.rng.randrange(len(pool))]
        seers = [j for j in m.seer_claims if j in legal and m.alive[j]]
        if seers:
            return seers[0]
        if m.me in legal:
            return m.me
        return legal[m.rng.randrange(len(legal))]

    def _found_wolves(self, m: _Mind) -> list[int]:
        return [j for j, result in m.inspected.items() if result == "werewolf" and m.alive[j]]

    def _will_reveal(self, m: _Mind) -> bool:
        if m.role != "seer":
            return False
        for j in self._found_wolves(m):
            if j not in m.reveal:
                m.reveal[j] = m.rng.random() < self.seer_reveal_prob
            if m.reveal[j]:
                return True
        return m.revealed

    def _will_fake(self, m: _Mind) -> bool:
        if m.role != "werewolf":
            return False
        if m.fake_seer is None:
            partner_claimed = any(m.known[j] == "werewolf" and j != m.me for j in m.seer_claims)
            m.fake_seer = not partner_claimed and m.rng.random() < self.fake_claim_prob
        return m.fake_seer

    def _bid(self, m: _Mind) -> int:
        if self._will_reveal(m) and not m.revealed:
            return 4
        if self._will_fake(m) and not m.said_role:
            return 3
        if m.score[m.me] >= 2:
            return 3
        return m.rng.randrange(3)

    def _speak(self, m: _Mind, mask: Mapping[str, Any]) -> dict[str, Any]:
        claims = [0] * m.n
        words: list[str] = []

        def claim(j: int, code: int, text: str) -> None:
            if mask["claims"][j][code]:
                claims[j] = code
                words.append(text)

        if self._will_reveal(m):
            m.revealed = True
            claim(m.me, C["seer"], "I am the seer.")
            for j, result in sorted(m.inspected.items()):
                claim(j, C[f"inspected_{result}"], f"I inspected {_name(j)}: {_VERDICT[result]}.")
        elif self._will_fake(m):
            claim(m.me, C["seer"], "I am the seer.")
            if not m.fake_targets:
                rivals = [j for j in m.seer_claims if j != m.me and m.alive[j] and m.known[j] != "werewolf"]
                village = [j for j in range(m.n) if m.alive[j] and m.known[j] != "werewolf" and j != m.me]
                pool = rivals or village
                if pool:
                    m.fake_targets.append(pool[m.rng.randrange(len(pool))])
            for j in m.fake_targets:
                claim(j, C["inspected_werewolf"], f"I inspected {_name(j)}: a werewolf.")
        elif not m.said_role and m.role in ("villager", "werewolf"):
            claim(m.me, C["villager"], "I am a villager.")
        if m.role != "seer" and not (m.role == "werewolf" and m.fake_seer):
            # Repeat the strongest public accusation (a werewolf only when it points at a villager).
            suspects = [j for j in range(m.n) if m.alive[j] and j != m.me and m.score[j] >= 2 and claims[j] == 0]
            if m.role == "werewolf":
                suspects = [j for j in suspects if m.known[j] != "werewolf"]
            if suspects:
                top = max(suspects, key=lambda j: (m.score[j], -j))
                claim(top, C["werewolf"], f"{_name(top)} is a werewolf.")
        m.said_role = True
        action: dict[str, Any] = {"message": " ".join(words) or _PHRASES[m.rng.randrange(len(_PHRASES))]}
        if any(claims):
            action["claims"] = claims
        return action

    def _vote(self, m: _Mind, legal: list[int]) -> int:
        if m.role == "seer":
            wolves = [j for j in self._found_wolves(m) if j in legal]
            if wolves:
                return wolves[0]
        pool = [j for j in legal if not self._village_of(m, j)] or legal
        if m.role == "werewolf":
            partners = [j for j in pool if m.known[j] == "werewolf"]
            accused = [j for j in partners if m.score[j] >= 2]
            if accused and m.rng.random() < self.bus_prob:
                return accused[0]
            pool = [j for j in pool if m.known[j] != "werewolf"] or legal
        best = max(m.score[j] for j in pool)
        if best > 0:
            top = [j for j in pool if m.score[j] == best]
            return top[m.rng.randrange(len(top))]
        if m.role == "werewolf":
            seers = [j for j in m.seer_claims if j in pool]
            if seers:
                return seers[0]
        return pool[m.rng.randrange(len(pool))]

    def _shot(self, m: _Mind, legal: list[int]) -> int:
        """The hunter's last shot: the strongest suspect it does not know to be on the village side, else nobody."""
        pool = [j for j in legal if not self._village_of(m, j) and m.score[j] > 0]
        if not pool:
            return m.n
        best = max(m.score[j] for j in pool)
        return min(j for j in pool if m.score[j] == best)
