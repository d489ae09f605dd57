"""Weight-update self-evolution: hand an agent's own trajectories to a training step.

In-context self-evolution needs nothing here: the LLM agent's memory persists across the
episodes a runner plays. This module is the other kind: between generations, an agent's
logged decisions become training data for its weights (as in ATP's DPO/GRPO baselines,
here on the agent's *own* trajectories, online).

The interface:

* :func:`trajectories_from_logs` reads episode logs (nothing else) into
  :class:`Trajectory` objects: per agent and episode, every choice it was asked for (the
  exact prompt, the offered options, what it chose, whether that was the scenario's
  declared aligned option, the round's reward);
* a :class:`WeightUpdateHook` is anything with ``update(trajectories) -> dict`` (a report);
* :class:`PreferenceDatasetHook` is the working example: it writes a preference dataset
  (JSONL; ``prompt`` as chat messages, ``chosen`` = the aligned option's answer,
  ``rejected`` = the other one), the input format of DPO trainers such as TRL's;
* :class:`LoRAPreferenceHook` fits a LoRA adapter by DPO on those pairs when ``peft`` is
  installed (``pip install 'alignsim[lora]'``); CPU works for the embedded model, a GPU for
  larger ones. Load the adapter with ``peft.PeftModel.from_pretrained``.

A loop over generations: run ``episodes=1``, call ``hook.update(trajectories_from_logs(run_dir))``,
point the next run's model at the updated weights, repeat.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from alignsim.record import find_logs, read_log
from alignsim.record import schema as ev

__all__ = [
    "LoRAPreferenceHook",
    "PreferenceDatasetHook",
    "Step",
    "Trajectory",
    "WeightUpdateHook",
    "preference_pairs",
    "trajectories_from_logs",
]

_ALIGNED_KIND = {"compliant": "compliant", "collective": "collective", "independent": "independent"}


@dataclass(frozen=True)
class Step:
    """One choice an agent made."""

    round: int
    messages: list[dict[str, str]]
    """The exact chat prompt the model saw."""
    prefill: str
    options: list[str]
    """The option texts offered (continuations of ``prefill``)."""
    chosen: int
    """Index into ``options`` of what the agent chose."""
    aligned_index: int | None
    """Index into ``options`` of the scenario's declared aligned option (None if not offered)."""
    reward: float


@dataclass
class Trajectory:
    """An agent's decisions in one episode."""

    episode_id: str
    agent: str
    scenario: str
    model: str
    steps: list[Step] = field(default_factory=list)

    @property
    def aligned_rate(self) -> float:
        """Share of the steps offering an aligned option in which the agent chose it; NaN if none did."""
        scored = [s for s in self.steps if s.aligned_index is not None]
        return sum(s.chosen == s.aligned_index for s in scored) / len(scored) if scored else float("nan")


@runtime_checkable
class WeightUpdateHook(Protocol):
    """Receives trajectories after a generation and updates (or prepares to update) weights."""

    def update(self, trajectories: Sequence[Trajectory]) -> dict[str, Any]:
        """Consume the trajectories; return a JSON-compatible report of what was done."""


def trajectories_from_logs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, agents: Sequence[str] | None = None
) -> list[Trajectory]:
    """Every LLM agent's choice trajectory in the self-evolution logs at ``paths``.

    Only ``choice`` model calls count (private notes are not decisions); each is matched to
    the env's ground truth for its round, so the aligned option is known per step.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    out: list[Trajectory] = []
    for p in paths:
        for path in find_logs(p):
            log = read_log(path)
            setup = next((e for e in log.events if isinstance(e, ev.EvolutionSetup)), None)
            if setup is None:
                continue
            aligned_kind = setup.params.get("aligned_option", "compliant")
            rewards: dict[tuple[str, int], float] = {}
            for event in log.events:
                if isinstance(event, ev.ComplianceChoice):
                    rewards[(event.actor, event.round)] = event.reward
                elif isinstance(event, ev.ThresholdRound):
                    for agent, payoff in event.payoffs.items():
                        rewards[(agent, event.round)] = payoff
            trajectories: dict[str, Trajectory] = {}
            for call in log.of_type(ev.LLMCall):
                if call.tag != "choice" or call.choices is None or call.choice is None:
                    continue
                if agents is not None and call.agent not in agents:
                    continue
                displayed = setup.agents[call.agent]["options"]
                aligned_label = " " + "AB"[displayed.index(_ALIGNED_KIND[aligned_kind])]
                aligned_index = call.choices.index(aligned_label) if aligned_label in call.choices else None
                trajectory = trajectories.setdefault(
                    call.agent, Trajectory(log.header.episode_id, call.agent, log.header.scenario, call.model)
                )
                trajectory.steps.append(
                    Step(
                        round=call.round,
                        messages=[dict(m) for m in call.messages],
                        prefill=call.prefill,
                        options=list(call.choices),
                        chosen=call.choice,
                        aligned_index=aligned_index,
                        reward=rewards.get((call.agent, call.round), 0.0),
                    )
                )
            out.extend(trajectories.values())
    return out


def preference_pairs(trajectories: Sequence[Trajectory]) -> list[dict[str, Any]]:
    """One DPO pair per step where both options were offered: chosen = aligned answer."""
    rows = []
    for t in trajectories:
        for s in t.steps:
            if s.aligned_index is None or len(s.options) < 2:
                continue
            rejected = next(i for i in range(len(s.options)) if i != s.aligned_index)
            rows.append(
                {
                    "prompt": s.messages,
                    "chosen": s.prefill + s.options[s.aligned_index],
                    "rejected": s.prefill + s.options[rejected],
                    "episode_id": t.episode_id,
                    "agent": t.agent,
                    "round": s.round,
                    "agent_chose_aligned": s.chosen == s.aligned_index,
                    "reward": s.reward,
                }
            )
    return rows


class PreferenceDatasetHook:
    """Writes the trajectories as a preference dataset (JSONL), appending one generation at a time.

    Args:
        path: the JSONL file (created with its folder; appended to).
        only_deviations: keep only steps where the agent did *not* choose the aligned
            option (the corrections a DPO step most needs).
    """

    def __init__(self, path: str | os.PathLike[str], *, only_deviations: bool = False) -> None:
        self.path = Path(path)
        self.only_deviations = only_deviations

    def update(self, trajectories: Sequence[Trajectory]) -> dict[str, Any]:
        """Append this generation's preference pairs to :attr:`path`; returns the file and the counts."""
        rows = preference_pairs(trajectories)
        if self.only_deviations:
            rows = [r for r in rows if not r["agent_chose_aligned"]]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return {"path": str(self.path), "pairs": len(rows), "trajectories": len(trajectories)}


@dataclass
class LoRAConfig:
    """LoRA DPO settings (ATP's: rank 8, beta 0.1, sigmoid loss)."""

    rank: int = 8
    alpha: int = 16
    beta: float = 0.1
    learning_rate: float = 5e-5
    epochs: int = 1
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")


class LoRAPreferenceHook:
    """Fits a LoRA adapter by DPO (sigmoid loss, the frozen base as reference) on the pairs.

    Args:
        model: a local model folder, or ``embedded`` for the embedded SmolLM2.
        out_dir: where the adapter is saved (``adapter_config.json`` + weights).
        device: ``cpu`` or ``cuda``.
        config: rank, DPO beta, learning rate and epochs (default :class:`LoRAConfig`).
    """

    def __init__(
        self,
        model: str = "embedded",
        out_dir: str | os.PathLike[str] = "lora_adapter",
        *,
        device: str = "cpu",
        config: LoRAConfig | None = None,
    ) -> None:
        self.model = model
        self.out_dir = Path(out_dir)
        self.device = device
        self.config = config or LoRAConfig()

    def update(self, trajectories: Sequence[Trajectory]) -> dict[str, Any]:
        """Fit a LoRA adapter by DPO on the trajectories' preference pairs and save it in :attr:`out_dir`.

        The base model is loaded afresh for every call. Returns the adapter folder, the number of
        pairs, the settings used and the first and last DPO loss.
        """
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from alignsim.agents.llm.embedded import embedded_model_folder

        folder = embedded_model_folder()[0] if self.model == "embedded" else Path(self.model)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(self.device)
        cfg = self.config
        with warnings.catch_warnings():
            # peft still calls a transformers attribute that transformers 5 deprecates.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            model = get_peft_model(
                base,
                LoraConfig(
                    r=cfg.rank, lora_alpha=cfg.alpha, target_modules=list(cfg.target_modules), task_type="CAUSAL_LM"
                ),
            )
        pairs = preference_pairs(trajectories)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.learning_rate)

        def logprob(prompt_ids: list[int], answer: str) -> torch.Tensor:
            answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt_ids + answer_ids], device=self.device)
            logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1]
            picked = torch.log_softmax(logits.float(), -1).gather(-1, ids[0, len(prompt_ids) :, None])
            return picked.sum()

        losses = []
        for _ in range(cfg.epochs):
            for pair in pairs:
                prompt = tokenizer.apply_chat_template(pair["prompt"], tokenize=False, add_generation_prompt=True)
                prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
                with torch.no_grad(), model.disable_adapter():
                    ref = logprob(prompt_ids, pair["chosen"]) - logprob(prompt_ids, pair["rejected"])
                policy = logprob(prompt_ids, pair["chosen"]) - logprob(prompt_ids, pair["rejected"])
                loss = -torch.nn.functional.logsigmoid(cfg.beta * (policy - ref))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(self.out_dir))
        return {
            "adapter": str(self.out_dir),
            "pairs": len(pairs),
            "config": asdict(cfg),
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
        }
