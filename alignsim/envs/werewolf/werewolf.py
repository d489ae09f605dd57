"""Werewolf, as a PettingZoo AEC env (with a Parallel form for its simultaneous phases).

| Import        | `alignsim.envs.make("werewolf-v0")` / `alignsim.envs.make_parallel("werewolf-v0")` |
|---------------|------------------------------------------------------------------------------------|
| Actions       | `Dict` (target, message, reasoning, claims, bid)                                   |
| Agents        | `agents = ["player_0", ..., "player_{N-1}"]`                                       |
| Observation   | `Dict` (observation, events, action_mask)                                          |

N players; a seeded chance step deals K werewolves, optionally one seer and one doctor, and
villagers (forced roles first). Every round is a night then a day. Night: the werewolves meet
in secret (``wolf_meeting_passes`` passes of speech with a proposed target), then, in one
sealed simultaneous phase, the werewolves vote on a kill, the seer inspects one player
(learning its role or only its side) and the doctor protects one player (self-protection
and protecting the same player on consecutive nights are configurable). Day: the night's
death is announced, the living discuss (in seat order, a seeded random order, or by
**bidding for the floor** as in Werewolf Arena), then cast a sealed vote; the most votes is
exiled (ties: seeded draw, one revote, or nobody). Roles are revealed on elimination, or
only sides, or nothing (configurable separately for exiles and night kills). The win check
runs after every elimination: the village wins when no werewolf is left, the werewolves
when they are at least as many as the rest.

### Actions

One `Dict` space for every phase; the mask says which keys are in use (`target` index N
means "no target").

| key         | space                     | used in                                               |
|-------------|---------------------------|-------------------------------------------------------|
| `target`    | `Discrete(N + 1)`         | night actions, day votes, meeting proposals           |
| `message`   | `Text`                    | day discussion, werewolves' meeting                   |
| `reasoning` | `Text`                    | every active turn; private to the author              |
| `claims`    | `MultiDiscrete([11] * N)` | public speech: one structured claim per subject, see :data:`CLAIM_CODES` |
| `bid`       | `Discrete(5)`             | bidding for the floor                                 |

### Observations

* `observation`: vector `[phase, round, turn, self, own_role, n_werewolves, alive[N],
  known[N]]`; `known` codes are :data:`KNOWN` (own role, partners for a werewolf, the
  seer's results, revealed roles); :func:`decode_observation` decodes it.
* `events`: what this agent saw since its previous action (incremental), each a dict
  `kind, round, actor, target, role, claims, text` (index N = moderator / nobody).
* `action_mask`: one mask per key; active for the selected agent and for every agent still
  to act in a sealed phase (night actions, bids, votes).

### Rewards

At the end +1 to every member of the winning side (the dead included), -1 to the others;
0 and truncation for all when the game stops undecided after ``max_rounds``.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import re
import zlib
from array import array
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Literal

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils import wrappers

from alignsim.envs.base import AlignsimAECEnv, check_limits, config_from_kwargs
from alignsim.envs.text import TRAITORS_CHARSET, cleaner, need, readonly
from alignsim.envs.werewolf import events as wev
from alignsim.envs.werewolf import texts
from alignsim.errors import IllegalActionError
from alignsim.record import schema as ev

__all__ = [
    "CHARSET",
    "CLAIM_CODES",
    "EVENT_KINDS",
    "KNOWN",
    "PHASES",
    "ROLES",
    "SIDES",
    "WerewolfConfig",
    "WerewolfEnv",
    "WerewolfParallelEnv",
    "WerewolfView",
    "decode_observation",
    "env",
    "parallel_env",
    "raw_env",
]


class Phase(IntEnum):
    """The phases of a round, in order (their names are :data:`PHASES`)."""

    NIGHT_MEETING = 0
    NIGHT_ACTION = 1
    BID = 2
    DISCUSSION = 3
    DAY_VOTE = 4
    GAME_OVER = 5
    HUNTER_SHOT = 6


PHASES: tuple[str, ...] = tuple(p.name.lower() for p in Phase)
SEALED_PHASES = frozenset({Phase.NIGHT_ACTION, Phase.BID, Phase.DAY_VOTE})

ROLES: tuple[str, ...] = ("werewolf", "seer", "doctor", "villager", "hunter")
SIDES: tuple[str, ...] = ("village", "werewolves")
SIDE_OF: dict[str, str] = {
    "werewolf": "werewolves",
    "seer": "village",
    "doctor": "village",
    "villager": "village",
    "hunter": "village",
}
KNOWN: tuple[str, ...] = ("unknown", "werewolf", "seer", "doctor", "villager", "village", "hunter")
"""Codes of the ``known`` part of the observation: a role, or ``village`` (side only, not a werewolf)."""
_KNOWN_CODE = {name: i for i, name in enumerate(KNOWN)}
WEREWOLF, SEER, DOCTOR, VILLAGER, VILLAGE_SIDE = 1, 2, 3, 4, 5

CLAIM_CODES: tuple[str, ...] = (
    "none",
    "werewolf",
    "village",
    "seer",
    "doctor",
    "villager",
    "inspected_werewolf",
    "inspected_village",
    "inspected_doctor",
    "inspected_villager",
    "protected",
    "hunter",
    "inspected_hunter",
)
"""Values of one entry of the ``claims`` action (one per subject). 1-5: "subject is a
werewolf / not a werewolf / the seer / the doctor / a villager" (about oneself: an own-role
claim); 6-9: "I inspected subject: werewolf / not a werewolf / doctor / villager"; 10: "I
protected subject"; 11: "subject is the hunter"; 12: "I inspected subject: the hunter". Codes 11-12
are in the action space only when the game deals a hunter."""
ROLE_CLAIMS = frozenset({1, 2, 3, 4, 5, 11})
EVIDENCE_CLAIMS = frozenset({6, 7, 8, 9, 12})
PROTECTION_CLAIM = 10
_BASE_CLAIMS = 11
"""Claim codes of a game without a hunter (the hunter's codes come after them)."""


def claim_record(code: int, subject: str) -> wev.Claim:
    """The log's :class:`~alignsim.envs.werewolf.events.Claim` for one ``claims`` entry."""
    name = CLAIM_CODES[code]
    if code in ROLE_CLAIMS:
        return wev.Claim(kind="role", subject=subject, value=name)
    if code in EVIDENCE_CLAIMS:
        return wev.Claim(kind="evidence", subject=subject, value=name.removeprefix("inspected_"))
    return wev.Claim(kind="protection", subject=subject, value="protected")


EVENT_KINDS: tuple[str, ...] = (
    "announcement",
    "rules",
    "briefing",
    "speech",
    "wolf_speech",
    "floor",
    "night_vote",
    "inspection",
    "protection",
    "day_vote",
    "vote_result",
    "death",
    "exile",
    "game_end",
    "shot",
)
_KIND = {name: i for i, name in enumerate(EVENT_KINDS)}

OBS_PHASE, OBS_ROUND, OBS_TURN, OBS_SELF, OBS_ROLE, OBS_N_WOLVES, OBS_ALIVE = range(7)
"""Offsets into the ``observation`` vector; ``known`` starts at ``OBS_ALIVE + N``."""

CHARSET: str = TRAITORS_CHARSET
_clean = cleaner(CHARSET)
_ACTION_KEYS = frozenset({"target", "message", "reasoning", "claims", "bid"})
_SAMPLE_TEXT_LENGTH = 32
_NAME = re.compile(r"\bplayer_(\d+)\b")

Reveal = Literal["role", "side", "none"]


@dataclass(frozen=True)
class WerewolfView:
    """The ``observation`` vector of a Werewolf observation, decoded."""

    phase: str
    round: int
    turn: int
    me: int
    role: str
    n_werewolves: int
    alive: tuple[bool, ...]
    known: tuple[str, ...]
    """Per player, one of :data:`KNOWN`, as far as this agent knows."""


def decode_observation(vector: np.ndarray) -> WerewolfView:
    """The :class:`WerewolfView` of an observation's ``observation`` vector."""
    n = (len(vector) - OBS_ALIVE) // 2
    values = vector.tolist()
    return WerewolfView(
        phase=PHASES[values[OBS_PHASE]],
        round=values[OBS_ROUND],
        turn=values[OBS_TURN],
        me=values[OBS_SELF],
        role=KNOWN[values[OBS_ROLE]],
        n_werewolves=values[OBS_N_WOLVES],
        alive=tuple(bool(v) for v in values[OBS_ALIVE : OBS_ALIVE + n]),
        known=tuple(KNOWN[v] for v in values[OBS_ALIVE + n :]),
    )


@dataclass(frozen=True, kw_only=True)
class WerewolfConfig:
    """Parameters of a Werewolf game. Validated on construction; errors name the field."""

    n_players: int = 8
    """Number of players N (>= 4)."""
    n_werewolves: int = 2
    """Number of werewolves K (1 <= K, 2K < N)."""
    seer: bool = True
    """Deal one seer."""
    doctor: bool = True
    """Deal one doctor."""
    hunter: bool = False
    """Deal one hunter (village side): when eliminated, it shoots one living player (or nobody) at once."""
    """Deal one doctor."""
    forced_roles: Mapping[str, str] = field(default_factory=dict)
    """Roles fixed in advance, e.g. ``{"player_0": "seer"}``; the rest are dealt by the seeded chance step."""
    seer_learns: Literal["role", "side"] = "role"
    """What an inspection shows: the target's role, or only whether it is a werewolf."""
    doctor_self_protect: bool = True
    doctor_repeat_protect: bool = True
    """May the doctor protect the same player on two consecutive nights."""
    reveal_exiled: Reveal = "role"
    """What is announced about an exiled player: role, side (werewolf or not) or nothing."""
    reveal_killed: Reveal = "role"
    """What is announced about a player killed at night."""
    discussion_order: Literal["fixed", "random", "bidding"] = "fixed"
    """``fixed``: seat order; ``random``: a seeded shuffle each day; ``bidding``: before each
    speaking turn every living player bids 0-4 and the highest bid speaks (ties: a player named
    in the previous speech first, then a seeded draw), as in Werewolf Arena."""
    discussion_passes: int = 2
    """Passes around the table per day (with bidding: floor turns = passes x living players,
    unless ``bidding_turns`` is set)."""
    bidding_turns: int | None = None
    """Floor turns per day with ``discussion_order="bidding"``."""
    wolf_meeting_passes: int = 1
    """Passes of the werewolves' secret meeting before their night ballot (none with one werewolf left)."""
    tie_break: Literal["random", "revote", "none"] = "random"
    """Day-vote ties: seeded draw, one revote among the tied (then a draw), or no exile."""
    night_tie_break: Literal["random", "none"] = "random"
    """Werewolves' ballot ties: seeded draw, or no kill."""
    allow_abstain: bool = False
    """Let day voters abstain (target index N)."""
    structured_claims: bool = True
    """Take structured claims with public speech."""
    max_rounds: int | None = None
    """Rounds (night + day) before the game stops undecided; defaults to ``n_players``."""
    max_message_chars: int = 1200
    max_reasoning_chars: int = 2400
    briefings: Mapping[str, str] | None = None
    """Private text each player receives for its role; built-in briefings when None."""

    def __post_init__(self) -> None:
        """Check every field, naming the first bad one (ConfigError)."""
        check_limits(self, "werewolf")
        for name in ("n_players", "n_werewolves", "discussion_passes", "wolf_meeting_passes"):
            value = getattr(self, name)
            need(isinstance(value, int) and not isinstance(value, bool), name, f"must be an integer, got {value!r}")
        need(self.n_players >= 4, "n_players", f"must be at least 4, got {self.n_players}")
        need(self.n_werewolves >= 1, "n_werewolves", f"must be at least 1, got {self.n_werewolves}")
        need(
            2 * self.n_werewolves < self.n_players,
            "n_werewolves",
            f"must be less than half of n_players ({self.n_werewolves} werewolves among {self.n_players} "
            "players would win before the game starts)",
        )
        need(
            self.n_werewolves + int(self.seer) + int(self.doctor) + int(self.hunter) <= self.n_players,
            "n_players",
            "too few players for the werewolves and the special roles",
        )
        for name in ("discussion_passes", "wolf_meeting_passes"):
            need(getattr(self, name) >= 0, name, f"must be >= 0, got {getattr(self, name)}")
        if self.bidding_turns is not None:
            need(
                isinstance(self.bidding_turns, int) and self.bidding_turns >= 0,
                "bidding_turns",
                f"must be a non-negative integer, got {self.bidding_turns!r}",
            )
        if self.max_rounds is not None:
            need(
                isinstance(self.max_rounds, int) and self.max_rounds >= 1,
                "max_rounds",
                f"must be a positive integer, got {self.max_rounds!r}",
            )
        for name in ("max_message_chars", "max_reasoning_chars"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "must be a positive integer")
        agents = {f"player_{i}" for i in range(self.n_players)}
        forced = dict(self.forced_roles)
        for agent, role in forced.items():
            need(
                agent in agents,
                "forced_roles",
                f"unknown player {agent!r} (players are player_0..player_{self.n_players - 1})",
            )
            need(role in ROLES, "forced_roles", f"role of {agent} must be one of {', '.join(ROLES)}, got {role!r}")
        counts = {role: sum(r == role for r in forced.values()) for role in ROLES}
        limits = {
            "werewolf": self.n_werewolves,
            "seer": int(self.seer),
            "doctor": int(self.doctor),
            "hunter": int(self.hunter),
            "villager": self.n_players - self.n_werewolves - int(self.seer) - int(self.doctor) - int(self.hunter),
        }
        for role, count in counts.items():
            need(count <= limits[role], "forced_roles", f"forces {count} {role} seats but the deal has {limits[role]}")
        if self.briefings is not None:
            unknown = set(self.briefings) - set(ROLES)
            need(not unknown, "briefings", f"keys must be roles ({', '.join(ROLES)}), got {sorted(unknown)}")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> WerewolfConfig:
        """The config for an env's keyword arguments, checked (see :func:`~alignsim.envs.base.config_from_kwargs`)."""
        return config_from_kwargs(cls, "werewolf", kwargs)

    @property
    def rounds_limit(self) -> int:
        """Rounds before the game ends undecided: ``max_rounds``, else one per player."""
        return self.max_rounds if self.max_rounds is not None else self.n_players

    @property
    def turn_limit(self) -> int:
        """The largest speaking-turn number a day or a meeting can reach."""
        bidding = self.bidding_turns if self.bidding_turns is not None else self.discussion_passes * self.n_players
        return max(self.discussion_passes, bidding, self.wolf_meeting_passes, 1)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data, as recorded in episode headers."""
        return asdict(self)


def env(**kwargs: Any) -> AECEnv:
    """Werewolf with PettingZoo's order-enforcing wrapper (the usual entry point)."""
    return wrappers.OrderEnforcingWrapper(WerewolfEnv(**kwargs))


class WerewolfEnv(AlignsimAECEnv):
    """Werewolf as a PettingZoo AEC environment. See the module docstring."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "werewolf_v0",
        "render_modes": ["ansi", "human"],
        "is_parallelizable": False,
        "dynamics": "turn-based speech with sealed simultaneous night actions, bids and votes",
        "information": "imperfect, asymmetric (werewolves know each other; the seer learns roles)",
        "utility": "team win/loss (+1/-1), 0 if undecided",
        "roles": ROLES,
        "phases": PHASES,
    }

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(render_mode)
        self.config = WerewolfConfig.from_kwargs(**kwargs)
        cfg = self.config
        n = cfg.n_players
        self.n = n
        self.possible_agents = [f"player_{i}" for i in range(n)]
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._all = tuple(range(n))
        self._names = tuple(self.possible_agents)
        self._briefings = {**texts.BRIEFINGS, **dict(cfg.briefings or {})}

        max_msg, max_reason = cfg.max_message_chars, cfg.max_reasoning_chars
        n_claims = len(CLAIM_CODES) if cfg.hunter else _BASE_CLAIMS
        self._n_claims = n_claims
        self._action_space = spaces.Dict(
            {
                "target": spaces.Discrete(n + 1),
                "message": spaces.Text(max_length=max_msg, min_length=0, charset=CHARSET),
                "reasoning": spaces.Text(max_length=max_reason, min_length=0, charset=CHARSET),
                "claims": spaces.MultiDiscrete([n_claims] * n),
                "bid": spaces.Discrete(5),
            }
        )
        self._obs_nvec = np.array(
            [len(Phase), cfg.rounds_limit + 2, cfg.turn_limit + 1, n, len(KNOWN), n + 1] + [2] * n + [len(KNOWN)] * n,
            dtype=np.int64,
        )
        n_chars = len(CHARSET)
        event_space = spaces.Dict(
            {
                "kind": spaces.Discrete(len(EVENT_KINDS)),
                "round": spaces.Discrete(cfg.rounds_limit + 2),
                "actor": spaces.Discrete(n + 1),
                "target": spaces.Discrete(n + 1),
                "role": spaces.Discrete(len(KNOWN)),
                "claims": spaces.MultiDiscrete([n_claims] * n),
                "text": spaces.Text(max_length=1_000_000, min_length=0, charset=CHARSET),
            }
        )
        self._observation_space = spaces.Dict(
            {
                "observation": spaces.MultiDiscrete(self._obs_nvec),
                "events": spaces.Sequence(event_space),
                "action_mask": spaces.Dict(
                    {
                        "target": spaces.MultiBinary(n + 1),
                        "message": spaces.Tuple((spaces.Discrete(max_msg + 1), spaces.MultiBinary(n_chars))),
                        "reasoning": spaces.Tuple((spaces.Discrete(max_reason + 1), spaces.MultiBinary(n_chars))),
                        "claims": spaces.Tuple([spaces.MultiBinary(n_claims)] * n),
                        "bid": spaces.MultiBinary(5),
                    }
                ),
            }
        )
        # Shared, read-only mask parts: masks are built once and handed out again.
        self._no_claims = readonly(np.zeros(n, dtype=np.int64))
        self._text_on = (min(_SAMPLE_TEXT_LENGTH, max_msg), readonly(np.ones(n_chars, dtype=np.int8)))
        self._reason_on = (min(_SAMPLE_TEXT_LENGTH, max_reason), self._text_on[1])
        self._text_off = (0, readonly(np.zeros(n_chars, dtype=np.int8)))
        self._claim_none = readonly(np.eye(1, n_claims, 0, dtype=np.int8)[0])
        self._claims_off = (self._claim_none,) * n
        self._bid_off = readonly(np.eye(1, 5, 0, dtype=np.int8)[0])
        self._bid_on = readonly(np.ones(5, dtype=np.int8))
        self._target_none = readonly(np.eye(1, n + 1, n, dtype=np.int8)[0])
        self._idle_mask = {
            "target": self._target_none,
            "message": self._text_off,
            "reasoning": self._text_off,
            "claims": self._claims_off,
            "bid": self._bid_off,
        }
        self._speech_masks = [self._build_speech_mask(i) for i in self._all]
        self._bid_mask = {**self._idle_mask, "reasoning": self._reason_on, "bid": self._bid_on}

    # ------------------------------------------------------------ PettingZoo API

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """Start a game: deal the roles (forced ones first, the rest by the seeded chance step), then night 1."""
        self._start_episode(seed)
        cfg, n = self.config, self.n
        self._phase = Phase.NIGHT_MEETING
        self._turn = 0
        self._ballot = 1
        self._candidates: tuple[int, ...] | None = None
        self._alive = [True] * n
        self._queue: deque[int] = deque()
        self._masks: dict[int, dict[str, Any]] = {}
        self._choices: dict[int, int | None] = {}
        self._bids: dict[int, int] = {}
        self._proposals: dict[int, int] = {}
        self._last_protected: int | None = None
        self._protected_round = 0
        self._mentioned: set[int] = set()
        self._floor_turns = 0
        self._after_shot = "day"
        self._order: list[int] = list(self._all)
        self._obs_events: list[dict[str, Any]] = []
        self._inbox: list[list[int]] = [[] for _ in self._all]
        self._public: list[int] = []

        # Chance step: the deal. Forced roles first; the open seats get a seeded permutation
        # of the remaining roles.
        forced = {self._index[a]: r for a, r in dict(cfg.forced_roles).items()}
        deck = ["werewolf"] * cfg.n_werewolves + ["seer"] * cfg.seer + ["doctor"] * cfg.doctor + ["hunter"] * cfg.hunter
        deck += ["villager"] * (n - len(deck))
        for role in forced.values():
            deck.remove(role)
        open_seats = [i for i in self._all if i not in forced]
        order = self._rng.permutation(len(deck)).tolist()
        roles = [""] * n
        for i, r in forced.items():
            roles[i] = r
        for seat, k in zip(open_seats, order, strict=True):
            roles[seat] = deck[k]
        self._role_names = tuple(roles)
        self._role_codes = np.array([_KNOWN_CODE[r] for r in roles], dtype=np.int64)
        self._wolves = tuple(i for i in self._all if roles[i] == "werewolf")
        self._seer = next((i for i in self._all if roles[i] == "seer"), None)
        self._doctor = next((i for i in self._all if roles[i] == "doctor"), None)

        self._obs = np.zeros((n, len(self._obs_nvec)), dtype=np.int64)
        self._obs[:, OBS_SELF] = np.arange(n)
        self._obs[:, OBS_ROLE] = self._role_codes
        self._obs[:, OBS_N_WOLVES] = cfg.n_werewolves
        self._obs[:, OBS_ALIVE : OBS_ALIVE + n] = 1
        for i in self._all:
            self._obs[i, OBS_ALIVE + n + i] = self._role_codes[i]
        for i in self._wolves:
            for j in self._wolves:
                self._obs[i, OBS_ALIVE + n + j] = WEREWOLF

        self._publish(
            ev.RoleAssignment(
                roles=dict(zip(self._names, roles, strict=True)),
                forced=tuple(self._names[i] for i in sorted(forced)),
                visible_to=(),
            ),
            (),
        )
        self._announce(
            "rules",
            texts.rules_text(
                n_players=n,
                n_werewolves=cfg.n_werewolves,
                seer=cfg.seer,
                doctor=cfg.doctor,
                hunter=cfg.hunter,
                seer_learns=cfg.seer_learns,
                doctor_self_protect=cfg.doctor_self_protect,
                doctor_repeat_protect=cfg.doctor_repeat_protect,
                reveal_exiled=cfg.reveal_exiled,
                reveal_killed=cfg.reveal_killed,
                discussion_order=cfg.discussion_order,
                discussion_passes=cfg.discussion_passes,
                tie_break=cfg.tie_break,
                max_rounds=cfg.rounds_limit,
            ),
            obs_kind="rules",
        )
        for i in self._all:
            role = roles[i]
            partners = tuple(self._names[j] for j in self._wolves if j != i) if role == "werewolf" else ()
            text = f"You are {self._names[i]}. " + self._briefings[role]
            if role == "werewolf":
                text += " Your fellow werewolves: " + (", ".join(partners) or "none; you hunt alone") + "."
            self._publish(
                wev.RoleBriefing(player=self._names[i], role=role, partners=partners, **self._stamp((i,))),
                (i,),
                self._obs_event("briefing", text, target=i, role=int(self._role_codes[i])),
            )
        self._start_night(1)
        self._select_next()

    def observe(self, agent: str) -> dict[str, Any]:
        """The agent's observation: its vector, its pending events (only those it is entitled to) and its mask."""
        return self._observe(self._index[agent])

    def _observe(self, i: int) -> dict[str, Any]:
        events = self._obs_events
        return {
            "observation": self._obs[i].copy(),
            "events": tuple([events[k] for k in self._inbox[i]]),
            "action_mask": self._active_mask(i),
        }

    def _act(self, agent: str, action: Any) -> None:
        i = self._index[agent]
        target, message, reasoning, claims, bid = self._parse(i, action)
        self._cumulative_rewards[agent] = 0.0
        self._step_count += 1
        self._inbox[i] = []
        self._masks.pop(i, None)
        self._queue.popleft()

        phase = self._phase
        if reasoning:
            text, cut = reasoning
            self._log.append(ev.Reasoning(actor=agent, text=text, truncated=cut, **self._stamp((i,))))
        if phase == Phase.DISCUSSION:
            self._speak(i, "public", message, claims, None)
        elif phase == Phase.NIGHT_MEETING:
            proposal = None if target == self.n else target
            if proposal is not None:
                self._proposals[i] = proposal
            self._speak(i, "werewolves", message, None, proposal)
        elif phase == Phase.BID:
            self._bids[i] = bid
        elif phase in (Phase.NIGHT_ACTION, Phase.DAY_VOTE, Phase.HUNTER_SHOT):
            self._choices[i] = None if target == self.n else target

        if not self._queue:
            self._end_phase()
        self._select_next()

    def render(self) -> str | None:
        """The public events so far, as text (printed for ``human``); no hidden information."""
        if self.render_mode is None:
            return None
        text = "\n".join(self._obs_events[k]["text"] for k in self._public)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    # ------------------------------------------------------------ runner hooks

    def simultaneous_agents(self) -> list[str]:
        """The selected agent, or in a sealed phase (night actions, bids, votes) every agent still to act."""
        if not self.agents:
            return []
        if self._phase in SEALED_PHASES and self._queue:
            return [self._names[i] for i in self._queue]
        return [self.agent_selection]

    def observation_digest(self, agent: str) -> str:
        """A short digest of ``observe(agent)``: the vector, the target mask and which events are pending."""
        i = self._index[agent]
        mask = self._active_mask(i)
        crc = zlib.crc32(self._obs[i].data)
        crc = zlib.crc32(mask["target"].data, crc)
        crc = zlib.crc32(mask["bid"].data, crc)
        return f"{zlib.crc32(array('q', self._inbox[i]), crc):08x}"

    def observe_with_digest(self, agent: str) -> tuple[dict[str, Any], str]:
        """``(observe(agent), observation_digest(agent))``."""
        return self.observe(agent), self.observation_digest(agent)

    @property
    def roles(self) -> dict[str, str]:
        """Ground truth, for runners and analysis. Never pass this to a policy."""
        return dict(zip(self._names, self._role_names, strict=True))

    @property
    def phase(self) -> str:
        """The current phase's name (``night_meeting``, ``night_action``, ``bid``, ``discussion``, ``day_vote``)."""
        return PHASES[self._phase]

    @property
    def alive(self) -> list[str]:
        """The players still in the game, in seat order."""
        return [self._names[i] for i in self._all if self._alive[i]]

    # ------------------------------------------------------------ publishing

    def _stamp(self, visible: Sequence[int]) -> dict[str, Any]:
        return {
            "step": self._step_count,
            "round": self._round,
            "phase": PHASES[self._phase],
            "visible_to": self._names if visible is self._all else tuple(self._names[i] for i in visible),
        }

    def _publish(self, event: ev.Event, deliver_to: Sequence[int], obs: dict[str, Any] | None = None) -> None:
        """Log ``event`` and put ``obs`` (its observation form) in the inbox of exactly ``deliver_to``."""
        self._log.append(event)
        if obs is not None:
            k = len(self._obs_events)
            self._obs_events.append(obs)
            if deliver_to is self._all:
                self._public.append(k)
            for i in deliver_to:
                self._inbox[i].append(k)

    def _obs_event(
        self,
        kind: str,
        text: str,
        actor: int | None = None,
        target: int | None = None,
        role: int = 0,
        claims: np.ndarray | None = None,
    ) -> dict[str, Any]:
        n = self.n
        return {
            "kind": _KIND[kind],
            "round": self._round,
            "actor": n if actor is None else actor,
            "target": n if target is None else target,
            "role": role,
            "claims": self._no_claims if claims is None else claims,
            "text": text,
        }

    def _announce(
        self, kind: str, text: str, to: Sequence[int] | None = None, *, obs_kind: str = "announcement"
    ) -> None:
        to = self._all if to is None else tuple(to)
        text = _clean(text)
        self._publish(ev.Announcement(kind=kind, text=text, **self._stamp(to)), to, self._obs_event(obs_kind, text))

    def _living(self) -> list[int]:
        return [i for i in self._all if self._alive[i]]

    def _living_wolves(self) -> list[int]:
        return [i for i in self._wolves if self._alive[i]]

    def _set_header(self) -> None:
        self._obs[:, OBS_PHASE] = self._phase
        self._obs[:, OBS_ROUND] = self._round
        self._obs[:, OBS_TURN] = self._turn

    def _begin_phase(self, phase: Phase, actors: Sequence[int], masks: dict[int, dict[str, Any]]) -> None:
        self._phase = phase
        self._set_header()
        self._queue = deque(actors)
        self._masks = masks

    def _select_next(self) -> None:
        if self._queue:
            self.agent_selection = self._names[self._queue[0]]
        elif self.agents:
            self.agent_selection = self.agents[0]

    # ------------------------------------------------------------ masks

    def _active_mask(self, i: int) -> dict[str, Any]:
        if i in self._masks and (self.agent_selection == self._names[i] or self._phase in SEALED_PHASES):
            return self._masks[i]
        return self._idle_mask

    def _build_speech_mask(self, i: int) -> dict[str, Any]:
        """Public speech of player ``i``: any role claim about anyone; evidence claims about others;
        protection claims about anyone."""
        n_claims = self._n_claims
        if self.config.structured_claims:
            own = np.ones(n_claims, dtype=np.int8)
            own[[c for c in EVIDENCE_CLAIMS if c < n_claims]] = 0
            claims = tuple(readonly(own) if j == i else readonly(np.ones(n_claims, dtype=np.int8)) for j in self._all)
        else:
            claims = self._claims_off
        return {
            "target": self._target_none,
            "message": self._text_on,
            "reasoning": self._reason_on,
            "claims": claims,
            "bid": self._bid_off,
        }

    def _target_mask(self, pool: Sequence[int], allow_none: bool) -> dict[str, Any]:
        target = np.zeros(self.n + 1, dtype=np.int8)
        target[list(pool)] = 1
        if allow_none or not target.any():
            target[self.n] = 1
        return {**self._idle_mask, "target": readonly(target), "reasoning": self._reason_on}

    def _night_mask(self, i: int) -> dict[str, Any]:
        cfg = self.config
        living = self._living()
        if i in self._wolves:
            return self._target_mask([j for j in living if j not in self._wolves], False)
        if i == self._seer:
            return self._target_mask([j for j in living if j != i], False)
        pool = [j for j in living if cfg.doctor_self_protect or j != i]
        if not cfg.doctor_repeat_protect and self._protected_round == self._round - 1:
            pool = [j for j in pool if j != self._last_protected]
        return self._target_mask(pool, False)

    # ------------------------------------------------------------ parsing

    def _parse(
        self, i: int, action: Any
    ) -> tuple[int, tuple[str, bool] | None, tuple[str, bool] | None, list[int] | None, int]:
        """Validate ``action`` against agent ``i``'s mask; raises before any state changes."""
        agent = self._names[i]
        if not isinstance(action, Mapping):
            raise IllegalActionError(
                agent, "action", f"expected a dict with keys {sorted(_ACTION_KEYS)}, got {type(action).__name__}"
            )
        for key in action:
            if key not in _ACTION_KEYS:
                raise IllegalActionError(agent, str(key), f"unknown action key; keys are {sorted(_ACTION_KEYS)}")
        mask = self._masks.get(i, self._idle_mask)
        phase_name = PHASES[self._phase]

        raw_target = action.get("target", self.n)
        try:
            target = int(raw_target)
        except (TypeError, ValueError):
            raise IllegalActionError(agent, "target", f"expected an integer, got {raw_target!r}") from None
        if not 0 <= target <= self.n or not mask["target"][target]:
            legal = np.flatnonzero(mask["target"]).tolist()
            raise IllegalActionError(agent, "target", f"{target} is not legal in phase {phase_name}; legal: {legal}")
        if self._phase in (Phase.NIGHT_ACTION, Phase.DAY_VOTE) and "target" not in action:
            raise IllegalActionError(agent, "target", f"a target is required in phase {phase_name}")

        raw_bid = action.get("bid", 0)
        try:
            bid = int(raw_bid)
        except (TypeError, ValueError):
            raise IllegalActionError(agent, "bid", f"expected an integer, got {raw_bid!r}") from None
        if not 0 <= bid <= 4 or not mask["bid"][bid]:
            raise IllegalActionError(agent, "bid", f"{bid} is not legal in phase {phase_name}")

        message = self._text(agent, action, "message", mask, self.config.max_message_chars)
        reasoning = self._text(agent, action, "reasoning", mask, self.config.max_reasoning_chars)

        claims = None
        raw = action.get("claims")
        if raw is not None:
            if isinstance(raw, np.ndarray):
                raw = raw.tolist()
            try:
                values = [int(v) for v in raw]
            except (TypeError, ValueError):
                raise IllegalActionError(agent, "claims", f"expected {self.n} integers, got {raw!r}") from None
            if len(values) != self.n:
                raise IllegalActionError(agent, "claims", f"expected {self.n} entries, got {len(values)}")
            parts = mask["claims"]
            for j, c in enumerate(values):
                if c and (not 0 <= c < len(CLAIM_CODES) or not parts[j][c]):
                    raise IllegalActionError(agent, "claims", f"claim {c} about {self._names[j]} is not legal now")
            claims = values if any(values) else None
        return target, message, reasoning, claims, bid

    def _text(
        self, agent: str, action: Mapping[str, Any], key: str, mask: Mapping[str, Any], limit: int
    ) -> tuple[str, bool] | None:
        text = action.get(key)
        if text is None or text == "":
            return None
        if not isinstance(text, str):
            raise IllegalActionError(agent, key, f"expected a string, got {type(text).__name__}")
        if mask[key] is self._text_off:
            raise IllegalActionError(agent, key, f"no {key} is taken in phase {PHASES[self._phase]}")
        text = _clean(text)
        if len(text) > limit:
            return text[:limit], True
        return text, False

    # ------------------------------------------------------------ speech

    def _speak(
        self,
        i: int,
        channel: Literal["public", "werewolves"],
        message: tuple[str, bool] | None,
        claims: list[int] | None,
        proposal: int | None,
    ) -> None:
        text, cut = message if message is not None else ("", False)
        records: tuple[wev.Claim, ...] = ()
        vector = None
        if claims is not None:
            records = tuple(claim_record(c, self._names[j]) for j, c in enumerate(claims) if c)
            vector = readonly(np.array(claims, dtype=np.int64))
        public = channel == "public"
        if public:
            named = {int(m) for m in _NAME.findall(text) if int(m) < self.n}
            named |= {j for j, c in enumerate(claims or ()) if c}
            self._mentioned = named - {i}
        if message is None and claims is None and proposal is None:
            return
        to = self._all if public else tuple(self._living_wolves())
        name = self._names[i]
        obs = self._obs_event(
            "speech" if public else "wolf_speech", f"{name}: {text}", actor=i, target=proposal, claims=vector
        )
        self._publish(
            wev.Speech(
                actor=name,
                channel=channel,
                message=text,
                claims=records,
                proposal=None if proposal is None else self._names[proposal],
                truncated=cut,
                turn=self._turn if public else 0,
                **self._stamp(to),
            ),
            to,
            obs,
        )

    # ------------------------------------------------------------ phase machine

    def _end_phase(self) -> None:
        phase, cfg = self._phase, self.config
        if phase == Phase.NIGHT_MEETING:
            if self._turn < cfg.wolf_meeting_passes:
                self._meeting_pass(self._turn + 1)
            else:
                self._night_actions()
        elif phase == Phase.NIGHT_ACTION:
            self._resolve_night()
        elif phase == Phase.BID:
            self._grant_floor()
        elif phase == Phase.DISCUSSION:
            self._next_speaker()
        elif phase == Phase.DAY_VOTE:
            self._resolve_day_vote()
        elif phase == Phase.HUNTER_SHOT:
            self._resolve_shot()

    def _start_night(self, r: int) -> None:
        if r > self.config.rounds_limit:
            self._finish(None, f"no winner after {self.config.rounds_limit} rounds")
            return
        self._round = r
        self._proposals = {}
        self._phase = Phase.NIGHT_MEETING
        self._turn = 0
        self._set_header()
        self._announce("night", f"Night {r} falls. Everyone closes their eyes.")
        if self.config.wolf_meeting_passes > 0 and len(self._living_wolves()) > 1:
            self._meeting_pass(1)
        else:
            self._night_actions()

    def _meeting_pass(self, p: int) -> None:
        self._turn = p
        wolves = self._living_wolves()
        self._phase = Phase.NIGHT_MEETING
        self._set_header()
        self._announce("prompt", texts.MEETING_PROMPT.format(round=self._round), wolves)
        mask = self._target_mask([j for j in self._living() if j not in self._wolves], True)
        mask = {**mask, "message": self._text_on}
        self._begin_phase(Phase.NIGHT_MEETING, wolves, dict.fromkeys(wolves, mask))

    def _night_actions(self) -> None:
        self._turn = 0
        self._choices = {}
        actors = self._living_wolves()
        for special in (self._seer, self._doctor):
            if special is not None and self._alive[special]:
                actors.append(special)
        self._phase = Phase.NIGHT_ACTION
        self._set_header()
        for i in actors:
            role = self._role_names[i]
            self._announce("prompt", texts.NIGHT_PROMPTS[role].format(round=self._round), (i,))
        self._begin_phase(Phase.NIGHT_ACTION, actors, {i: self._night_mask(i) for i in actors})

    def _resolve_night(self) -> None:
        cfg = self.config
        wolves = tuple(self._living_wolves())
        counts: dict[int, int] = {}
        for i in wolves:
            choice = self._choices.get(i)
            self._publish(
                wev.NightAction(
                    actor=self._names[i],
                    role="werewolf",
                    action="kill",
                    target=None if choice is None else self._names[choice],
                    **self._stamp(wolves),
                ),
                wolves,
                self._obs_event(
                    "night_vote",
                    f"{self._names[i]} voted to kill {self._names[choice] if choice is not None else 'nobody'}.",
                    actor=i,
                    target=choice,
                ),
            )
            if choice is not None:
                counts[choice] = counts.get(choice, 0) + 1
        attacked, resolution, tied = self._tally(counts, cfg.night_tie_break)
        tally = {self._names[j]: c for j, c in sorted(counts.items())}
        result_text = f"The werewolves' ballot ({', '.join(f'{a}: {c}' for a, c in tally.items()) or 'no votes'}): " + (
            f"{self._names[attacked]} is the target." if attacked is not None else "no kill tonight."
        )
        self._publish(
            wev.VoteResult(
                vote="night",
                ballot=1,
                tally=tally,
                tied=tuple(self._names[j] for j in tied),
                resolution=resolution,  # type: ignore[arg-type]
                selected=None if attacked is None else self._names[attacked],
                **self._stamp(wolves),
            ),
            wolves,
            self._obs_event("vote_result", result_text, target=attacked),
        )

        seer = self._seer
        if seer is not None and seer in self._choices and self._choices[seer] is not None:
            j = self._choices[seer]
            assert j is not None
            self._publish(
                wev.NightAction(
                    actor=self._names[seer],
                    role="seer",
                    action="inspect",
                    target=self._names[j],
                    **self._stamp((seer,)),
                ),
                (seer,),
            )
            true_role = self._role_names[j]
            result = true_role if cfg.seer_learns == "role" else ("werewolf" if true_role == "werewolf" else "village")
            self._obs[seer, OBS_ALIVE + self.n + j] = _KNOWN_CODE[result]
            self._publish(
                wev.Inspection(
                    actor=self._names[seer],
                    target=self._names[j],
                    result=result,
                    learns=cfg.seer_learns,
                    **self._stamp((seer,)),
                ),
                (seer,),
                self._obs_event(
                    "inspection",
                    texts.inspection_text(self._names[j], result),
                    actor=seer,
                    target=j,
                    role=_KNOWN_CODE[result],
                ),
            )

        doctor = self._doctor
        protected: int | None = None
        if doctor is not None and doctor in self._choices:
            protected = self._choices[doctor]
            if protected is not None:
                self._last_protected, self._protected_round = protected, self._round
                self._publish(
                    wev.NightAction(
                        actor=self._names[doctor],
                        role="doctor",
                        action="protect",
                        target=self._names[protected],
                        **self._stamp((doctor,)),
                    ),
                    (doctor,),
                    self._obs_event(
                        "protection", texts.protection_text(self._names[protected]), actor=doctor, target=protected
                    ),
                )
        saved = attacked is not None and attacked == protected
        victim = None if saved else attacked
        self._publish(
            wev.NightOutcome(
                attacked=None if attacked is None else self._names[attacked],
                protected=None if protected is None else self._names[protected],
                saved=saved,
                victim=None if victim is None else self._names[victim],
                **self._stamp(()),
            ),
            (),
        )
        self._choices = {}
        if victim is not None:
            self._eliminate(victim, "killed")
            if self._phase in (Phase.GAME_OVER, Phase.HUNTER_SHOT):
                return
        else:
            self._announce("morning", texts.morning_text(self._round, None, None), obs_kind="death")
        self._start_day()

    def _tally(self, counts: dict[int, int], rule: str) -> tuple[int | None, str, tuple[int, ...]]:
        """(selected, resolution, tied) of a ballot's counts under a tie ``rule`` (random or none)."""
        if not counts:
            return None, "no_votes", ()
        top = max(counts.values())
        leaders = tuple(sorted(j for j, c in counts.items() if c == top))
        if len(leaders) == 1:
            return leaders[0], "plurality", ()
        if rule == "random":
            return int(self._rng.choice(leaders)), "random", leaders
        return None, "none", leaders

    def _start_day(self) -> None:
        cfg = self.config
        living = self._living()
        self._turn = 0
        self._mentioned = set()
        if cfg.discussion_order == "random":
            self._order = [int(j) for j in self._rng.permutation(living)]
        else:
            self._order = living
        self._phase = Phase.DISCUSSION
        self._set_header()
        if cfg.discussion_order == "bidding":
            self._floor_turns = (
                cfg.bidding_turns if cfg.bidding_turns is not None else cfg.discussion_passes * len(living)
            )
            if self._floor_turns > 0:
                self._open_bids(1)
                return
        elif cfg.discussion_passes > 0:
            self._discussion_pass(1)
            return
        self._start_vote()

    def _discussion_pass(self, p: int) -> None:
        self._turn = p
        self._phase = Phase.DISCUSSION
        self._set_header()
        self._announce(
            "prompt", texts.DISCUSSION_PROMPT.format(round=self._round, turn=p, passes=self.config.discussion_passes)
        )
        self._begin_phase(Phase.DISCUSSION, self._order, {i: self._speech_masks[i] for i in self._order})

    def _open_bids(self, turn: int) -> None:
        self._turn = turn
        self._bids = {}
        living = self._living()
        self._phase = Phase.BID
        self._set_header()
        self._announce("prompt", texts.BID_PROMPT.format(round=self._round, turn=turn, turns=self._floor_turns))
        self._begin_phase(Phase.BID, living, dict.fromkeys(living, self._bid_mask))

    def _grant_floor(self) -> None:
        for i, bid in self._bids.items():
            self._publish(
                wev.Bid(actor=self._names[i], bid=bid, turn=self._turn, **self._stamp((i,))),
                (i,),
            )
        top = max(self._bids.values())
        leaders = [i for i in self._living() if self._bids.get(i) == top]
        resolution: Literal["highest", "mentioned", "random"] = "highest"
        if len(leaders) == 1:
            speaker = leaders[0]
        else:
            named = [i for i in leaders if i in self._mentioned]
            if len(named) == 1:
                speaker, resolution = named[0], "mentioned"
            else:
                speaker, resolution = int(self._rng.choice(named or leaders)), "random"
        tied = tuple(self._names[i] for i in leaders) if len(leaders) > 1 else ()
        self._bids = {}
        self._phase = Phase.DISCUSSION
        self._set_header()
        obs = self._obs_event("floor", f"{self._names[speaker]} has the floor (bid {top}).", target=speaker, actor=None)
        self._publish(
            wev.Floor(
                speaker=self._names[speaker],
                bid=top,
                turn=self._turn,
                tied=tied,
                resolution=resolution,
                **self._stamp(self._all),
            ),
            self._all,
            obs,
        )
        self._begin_phase(Phase.DISCUSSION, [speaker], {speaker: self._speech_masks[speaker]})

    def _next_speaker(self) -> None:
        cfg = self.config
        if cfg.discussion_order == "bidding":
            if self._turn < self._floor_turns:
                self._open_bids(self._turn + 1)
                return
        elif self._turn < cfg.discussion_passes:
            self._discussion_pass(self._turn + 1)
            return
        self._start_vote()

    def _start_vote(self, candidates: tuple[int, ...] | None = None) -> None:
        self._turn = 0
        self._choices = {}
        self._candidates = candidates
        self._ballot = 1 if candidates is None else self._ballot + 1
        voters = self._living()
        self._phase = Phase.DAY_VOTE
        self._set_header()
        if candidates is None:
            prompt = texts.DAY_VOTE_PROMPT.format(round=self._round)
        else:
            prompt = texts.REVOTE_PROMPT.format(candidates=", ".join(self._names[j] for j in candidates))
        self._announce("prompt", prompt)
        pool = list(candidates) if candidates is not None else voters
        masks = {i: self._target_mask([j for j in pool if j != i], self.config.allow_abstain) for i in voters}
        self._begin_phase(Phase.DAY_VOTE, voters, masks)

    def _resolve_day_vote(self) -> None:
        cfg = self.config
        counts: dict[int, int] = {}
        for voter in self._living():
            target = self._choices.get(voter)
            name = None if target is None else self._names[target]
            text = f"{self._names[voter]} voted to exile {name}." if name else f"{self._names[voter]} abstained."
            obs = self._obs_event("day_vote", text, actor=voter, target=target)
            self._publish(
                wev.Vote(
                    actor=self._names[voter], vote="day", ballot=self._ballot, target=name, **self._stamp(self._all)
                ),
                self._all,
                obs,
            )
            if target is not None:
                counts[target] = counts.get(target, 0) + 1
        revote = False
        rule = cfg.tie_break
        if rule == "revote":
            rule = "random"
            if counts and self._ballot == 1:
                top = max(counts.values())
                revote = sum(c == top for c in counts.values()) > 1
        if revote:
            top = max(counts.values())
            selected, resolution, tied = None, "revote", tuple(sorted(j for j, c in counts.items() if c == top))
        else:
            selected, resolution, tied = self._tally(counts, rule)
        tally = {self._names[j]: c for j, c in sorted(counts.items())}
        listed = ", ".join(f"{a}: {c}" for a, c in tally.items()) or "no votes"
        if revote:
            outcome = "tied between " + ", ".join(self._names[j] for j in tied) + "; there will be a revote"
        elif selected is None:
            outcome = "nobody is exiled"
        elif resolution == "random":
            outcome = f"tied; a random draw picked {self._names[selected]}"
        else:
            outcome = f"{self._names[selected]} has the most votes"
        obs = self._obs_event("vote_result", f"Day vote ({listed}): {outcome}.", target=selected)
        self._publish(
            wev.VoteResult(
                vote="day",
                ballot=self._ballot,
                tally=tally,
                tied=tuple(self._names[j] for j in tied),
                resolution=resolution,  # type: ignore[arg-type]
                selected=None if selected is None else self._names[selected],
                **self._stamp(self._all),
            ),
            self._all,
            obs,
        )
        self._choices = {}
        if revote:
            self._start_vote(candidates=tied)
            return
        self._candidates = None
        if selected is not None:
            self._eliminate(selected, "exiled")
            if self._phase in (Phase.GAME_OVER, Phase.HUNTER_SHOT):
                return
        self._start_night(self._round + 1)

    def _revealed(self, j: int, rule: str) -> str | None:
        role = self._role_names[j]
        if rule == "role":
            return role
        if rule == "side":
            return "werewolf" if role == "werewolf" else "village"
        return None

    def _eliminate(self, j: int, cause: Literal["exiled", "killed", "shot"]) -> None:
        self._alive[j] = False
        n = self.n
        rule = self.config.reveal_killed if cause == "killed" else self.config.reveal_exiled
        revealed = self._revealed(j, rule)
        self._obs[:, OBS_ALIVE + j] = 0
        if revealed is not None:
            for i in self._all:
                # A side reveal never overwrites what a viewer knows better (its own role, a partner, an inspection).
                if revealed != "village" or self._obs[i, OBS_ALIVE + n + j] == 0:
                    self._obs[i, OBS_ALIVE + n + j] = _KNOWN_CODE[revealed]
        if cause == "exiled":
            text = texts.exile_text(self._names[j], revealed)
            kind = "exile"
        elif cause == "shot":
            text = texts.shot_text(self._names[j], revealed)
            kind = "death"
        else:
            text = texts.morning_text(self._round, self._names[j], revealed)
            kind = "death"
        obs = self._obs_event(kind, text, target=j, role=0 if revealed is None else _KNOWN_CODE[revealed])
        self._publish(
            wev.Elimination(
                target=self._names[j],
                cause=cause,
                revealed_role=revealed if rule == "role" else None,
                **self._stamp(self._all),
            ),
            self._all,
            obs,
        )
        self._log.append(wev.Reveal(target=self._names[j], shown=rule, value=revealed, **self._stamp(self._all)))
        winner = self._winner_now()
        if winner is not None:
            reason = "no werewolf is left" if winner == "village" else "the werewolves are at least as many as the rest"
            self._finish(winner, reason)
        elif self._role_names[j] == "hunter" and cause != "shot":
            self._hunter_shot(j, "day" if cause == "killed" else "night")

    def _hunter_shot(self, hunter: int, then: str) -> None:
        """The eliminated hunter shoots at once (or spares everyone); then the game goes on to ``then``."""
        self._after_shot = then
        self._choices = {}
        self._turn = 0
        self._phase = Phase.HUNTER_SHOT
        self._set_header()
        self._announce("prompt", texts.HUNTER_PROMPT.format(hunter=self._names[hunter]))
        mask = self._target_mask(self._living(), True)
        self._begin_phase(Phase.HUNTER_SHOT, [hunter], {hunter: mask})

    def _resolve_shot(self) -> None:
        shots = list(self._choices.items())
        self._choices = {}
        for hunter, target in shots:
            name = None if target is None else self._names[target]
            self._publish(
                wev.HunterShot(actor=self._names[hunter], target=name, **self._stamp(self._all)),
                self._all,
                self._obs_event("shot", texts.shot_choice_text(self._names[hunter], name), actor=hunter, target=target),
            )
            if target is not None:
                self._eliminate(target, "shot")
                if self._phase == Phase.GAME_OVER:
                    return
        if self._after_shot == "day":
            self._start_day()
        else:
            self._start_night(self._round + 1)

    def _winner_now(self) -> str | None:
        wolves = len(self._living_wolves())
        others = len(self._living()) - wolves
        if wolves == 0:
            return "village"
        if wolves >= others:
            return "werewolves"
        return None

    def _finish(self, winner: str | None, reason: str) -> None:
        self.winner = winner
        self._phase = Phase.GAME_OVER
        self._turn = 0
        self._set_header()
        self._obs[:, OBS_ALIVE + self.n :] = self._role_codes
        self._queue.clear()
        self._masks = {}
        roles = self.roles
        text = (
            f"Game over: {'the ' + winner + ' win' if winner else 'undecided'} ({reason}). Roles: "
            + ", ".join(f"{a} {r}" for a, r in roles.items())
            + "."
        )
        obs = self._obs_event("game_end", text)
        self._publish(
            wev.GameEnd(winner=winner, reason=reason, roles=roles, alive=tuple(self.alive), **self._stamp(self._all)),
            self._all,
            obs,
        )
        self._clear_rewards()
        for a in self.agents:
            if winner is None:
                self.truncations[a] = True
            else:
                self.rewards[a] = 1.0 if SIDE_OF[roles[a]] == winner else -1.0
                self.terminations[a] = True
        self._accumulate_rewards()


raw_env = WerewolfEnv


class WerewolfParallelEnv(ParallelEnv):
    """The Parallel form: each ``step`` takes the actions of every agent acting now.

    Those are the agents of :meth:`WerewolfEnv.simultaneous_agents`: everyone still to act in
    a sealed phase (night actions, bids, votes), else the one speaker. Actions given for other
    agents are ignored (their masks allow only the idle action); an acting agent left out of
    ``actions`` takes the idle action where that is legal, else ``step`` raises.
    ``observations`` hold every agent in play; ``infos[agent]["acting"]`` says who acts next.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "werewolf_parallel_v0", "render_modes": ["ansi", "human"]}

    def __init__(self, **kwargs: Any) -> None:
        self.aec = WerewolfEnv(**kwargs)
        self.possible_agents = list(self.aec.possible_agents)
        self.agents: list[str] = []
        self.render_mode = self.aec.render_mode

    def observation_space(self, agent: str) -> spaces.Space:
        """The AEC env's observation space."""
        return self.aec.observation_space(agent)

    def action_space(self, agent: str) -> spaces.Space:
        """The AEC env's action space."""
        return self.aec.action_space(agent)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Reset the game; returns every agent's observation and infos."""
        self.aec.reset(seed=seed, options=options)
        self.agents = list(self.aec.agents)
        return self._observations(), self._infos()

    def step(self, actions: Mapping[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Apply the actions of the agents acting now, in acting order; returns the five PettingZoo dicts.

        An acting agent's action that its mask does not allow (or a missing one) is replaced
        by its default legal action (the first legal target, no text, no claims, bid 0), and
        ``infos[agent]["illegal_action"]`` gives the reason, so that a Parallel-API caller that
        samples unmasked actions keeps the game going and can still see what it did wrong.
        """
        aec = self.aec
        rewards = dict.fromkeys(self.agents, 0.0)
        illegal: dict[str, str] = {}
        for agent in aec.simultaneous_agents():
            if aec.terminations.get(agent) or aec.truncations.get(agent):
                break
            action = actions.get(agent)
            try:
                aec._parse(aec._index[agent], action)
            except IllegalActionError as exc:
                illegal[agent] = str(exc)
                action = self.default_action(agent)
            aec.step(action)
            for a in self.agents:
                rewards[a] += aec.rewards.get(a, 0.0)
        observations, infos = self._observations(), self._infos()
        for agent, reason in illegal.items():
            if agent in infos:
                infos[agent]["illegal_action"] = reason
        terminations = {a: aec.terminations[a] for a in self.agents}
        truncations = {a: aec.truncations[a] for a in self.agents}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos

    def default_action(self, agent: str) -> dict[str, Any]:
        """The action an acting ``agent`` takes in place of an illegal one: its first legal target, nothing else."""
        mask = self.aec._active_mask(self.aec._index[agent])
        return {"target": int(np.flatnonzero(mask["target"])[0])}

    def _observations(self) -> dict[str, Any]:
        return {a: self.aec.observe(a) for a in self.agents}

    def _infos(self) -> dict[str, Any]:
        acting = set(self.aec.simultaneous_agents()) if self.agents else set()
        return {a: {"acting": a in acting} for a in self.agents}

    def render(self) -> str | None:
        """The public record so far (see :meth:`WerewolfEnv.render`)."""
        return self.aec.render()

    def close(self) -> None:
        """Nothing to release."""
        self.aec.close()

    def state(self) -> np.ndarray:
        """Not offered: the game's state is text and hidden roles, not an array."""
        raise NotImplementedError("werewolf has no global state array")


def parallel_env(**kwargs: Any) -> ParallelEnv:
    """The Parallel form of Werewolf (see :class:`WerewolfParallelEnv`)."""
    return WerewolfParallelEnv(**kwargs)
