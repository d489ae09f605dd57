"""MkDocs hook: the catalogue pages and the command usage, generated at build time from the code.

The scenario, environment/policy and metric catalogues are read from
``alignsim.scenarios``, ``alignsim.envs``, ``alignsim.agents`` and
``alignsim.analysis.metrics.METRICS`` on every build, so they cannot drift from the code.
The LLM configs and replication experiments are listed from the packaged Hydra config
folder (``alignsim/conf``), with each file's own leading comment. The marker
``<!-- alignsim-usage -->`` in a page becomes the usage text ``alignsim --help`` prints.
"""

from __future__ import annotations

import functools
import html
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # document this checkout, not an installed copy
    sys.path.insert(0, str(ROOT))

FAMILIES = {
    "traitors": "The Traitors",
    "principal_agent": "Principal-agent",
    "self_evolution": "Self-evolution: single agent",
    "threshold_game": "Self-evolution: threshold game",
}
REFERENCE = {
    "traitors": "../reference/traitors.md",
    "principal_agent": "../reference/principal-agent.md",
    "self_evolution": "../reference/self-evolution.md",
    "threshold_game": "../reference/self-evolution.md",
}
GENERATED_NOTE = (
    "!!! note\n    This page is generated when the docs are built, from the registries in the "
    "installed code; it lists exactly what `alignsim` offers.\n\n"
)


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text.replace("|", "\\|").replace("\n", " ")


def code(value: Any) -> str:
    """A table cell holding inline code (empty stays empty).

    Raw HTML, because Markdown keeps the backslash of an escaped ``|`` inside backticks.
    """
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = html.escape(text.replace("\n", " ")).replace("|", "&#124;")
    return f"<code>{text}</code>" if text else ""


def factory_text(factory: Any) -> str:
    """``module:attr`` of a policy factory; a ``functools.partial`` shows its fixed arguments."""
    if isinstance(factory, str):
        return factory
    if isinstance(factory, functools.partial):
        args = [repr(a) for a in factory.args] + [f"{k}={v!r}" for k, v in factory.keywords.items()]
        return f"{factory_text(factory.func)}({', '.join(args)})"
    return f"{factory.__module__}:{factory.__qualname__}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def family_of(identifier: str) -> str:
    return identifier.split("/", 1)[0] if "/" in identifier else identifier.rsplit("-v", 1)[0]


def seating_text(seating: Mapping[str, Any]) -> str:
    parts = []
    for key, seat in seating.items():
        focal = " (focal)" if seat.focal else ""
        parts.append(f"`{key}` → `{seat.policy}`{focal}")
    return "<br>".join(parts)


def scenarios_page() -> str:
    import alignsim.scenarios

    specs = [alignsim.scenarios.get(i) for i in alignsim.scenarios.ids()]
    out = [
        "# Scenario catalogue\n\n",
        GENERATED_NOTE,
        "Run any of them with `alignsim run scenario=ID`. Scenarios with an `llm` seat use the run's "
        "`llm` config (the embedded model by default; add `llm=mock` for a dry run with the "
        "deterministic mock backend). Every `env_kwargs` field can be overridden on the command line, "
        "e.g. `scenario.env_kwargs.n_players=8`; the parameters themselves are documented on each "
        "game's reference page.\n\n",
    ]
    for family, title in FAMILIES.items():
        rows = [s for s in specs if family_of(s.id) == family]
        if not rows:
            continue
        out.append(f"## {title}\n\nParameters: [{title}]({REFERENCE[family]}).\n\n")
        out.append(
            table(
                ["id", "what", "env parameters", "seating (key → policy)"],
                (
                    [
                        f"`{s.id}`",
                        cell(s.description),
                        "<br>".join(f"`{k}={cell(v)}`" for k, v in s.to_dict()["env_kwargs"].items()),
                        seating_text(s.seating),
                    ]
                    for s in rows
                ),
            )
        )
        out.append("\n")
    others = [s for s in specs if family_of(s.id) not in FAMILIES]
    if others:
        out.append("## Other registered scenarios\n\n")
        out.append(table(["id", "env", "what"], ([f"`{s.id}`", f"`{s.env_id}`", cell(s.description)] for s in others)))
    return "".join(out)


def policies_page() -> str:
    import alignsim.agents
    import alignsim.envs

    out = ["# Environments and policies\n\n", GENERATED_NOTE]
    out.append(
        "## Environments\n\n`alignsim.envs.make(ID, **params)` returns a PettingZoo `AECEnv`; "
        "`alignsim.envs.make_parallel(ID, **params)` a `ParallelEnv` where the env offers one.\n\n"
    )
    envs = [alignsim.envs.spec(i) for i in alignsim.envs.ids()]
    out.append(
        table(
            ["id", "what", "entry point", "parallel form", "reference"],
            (
                [
                    f"`{e.id}`",
                    cell(e.description),
                    code(e.entry_point),
                    code(e.parallel_entry_point or "") or "—",
                    f"[{FAMILIES[family_of(e.id)]}]({REFERENCE[family_of(e.id)]})"
                    if family_of(e.id) in FAMILIES
                    else "",
                ]
                for e in envs
            ),
        )
    )
    out.append(
        "\n## Policies\n\nSeat a policy with `scenario.seating.KEY.policy=NAME` (KEY is a role, an agent id "
        "or `*`). Scripted policies need no model; `llm` takes the run's `llm` config.\n\n"
    )
    policies = [alignsim.agents.spec(n) for n in alignsim.agents.ids()]
    out.append(
        table(
            ["name", "what", "factory"],
            ([f"`{p.name}`", cell(p.description), code(factory_text(p.factory))] for p in policies),
        )
    )
    out.append(
        "\n## LLM configs\n\nChosen with `llm=NAME`; every field can be overridden (`llm.model=...`, "
        "`llm.params.temperature=0.2`, `llm.backend_options.KEY=VALUE`).\n\n"
    )
    out.append(table(["name", "model", "what"], config_rows(ROOT / "alignsim" / "conf" / "llm", "model")))
    out.append(
        "\n## Replication experiments\n\nRun with `alignsim sweep +experiment=NAME` (add `llm=mock` for a dry run "
        "of the whole grid).\n\n"
    )
    out.append(table(["name", "scenario", "what"], config_rows(ROOT / "alignsim" / "conf" / "experiment", "scenario")))
    return "".join(out)


def config_rows(folder: Path, key: str) -> list[list[str]]:
    """One row per YAML file: its name, one field and its leading comment lines."""
    from omegaconf import OmegaConf

    rows = []
    for path in sorted(folder.glob("*.yaml")):
        comment = []
        for line in path.read_text().splitlines():
            if not line.startswith("#") or line.startswith("#  "):
                break  # the description ends where the file's example commands begin
            text = line.lstrip("#").strip()
            if not text.startswith("@package"):
                comment.append(text)
        text = " ".join(comment)
        if text.endswith(":"):  # drop the clause that introduced the file's example commands
            text = re.sub(r"(,\s*e\.g\.[^:]*|\s*[A-Z][^.]*):$", "", text).rstrip(",")
            text = text if text.endswith(".") else text + "."
        loaded = OmegaConf.to_container(OmegaConf.load(path))
        value = find_key(loaded, key)
        rows.append([f"`{path.stem}`", code(value) if value is not None else "", cell(text)])
    return rows


def find_key(data: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in nested config data (``override /key`` in defaults included)."""
    if isinstance(data, Mapping):
        for name, value in data.items():
            if (name == key or name.endswith("/" + key)) and not isinstance(value, Mapping | list):
                return value
        children: Iterable[Any] = data.values()
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = find_key(child, key)
        if found is not None:
            return found
    return None


def metrics_page() -> str:
    from alignsim.analysis.metrics import METRICS

    out = [
        "# Metric catalogue\n\n",
        GENERATED_NOTE,
        "`alignsim analyze` reports every metric below per group, with a bootstrap 95% CI over episodes "
        "(`tables/summary.csv`: estimate, ci_low, ci_high, n, method, seed). How they are pooled: "
        "`mean` is the mean over episodes of a per-episode value, `ratio` the pooled ratio of per-episode "
        "sums. Notation and the lie / honest-error rules are on the [Analysis](../reference/analysis.md) "
        "page. The same catalogue is `alignsim.analysis.METRICS` and the last section of every report.\n\n",
    ]
    families: dict[str, list[Any]] = {}
    for m in METRICS:
        families.setdefault(m.family, []).append(m)
    out.append("## The Traitors\n\n")
    for family, metrics in families.items():
        out.append(f"### {family}\n\n")
        out.append(
            table(
                ["name", "label", "formula", "pooled", "unit", "note"],
                (
                    [f"`{m.name}`", cell(m.label), code(m.formula), cell(m.kind), cell(m.unit), cell(m.note)]
                    for m in metrics
                ),
            )
        )
        out.append("\n")
    # The other families define their metrics in their modules' docstrings; render those.
    for title, module in (
        ("Principal-agent", "alignsim.analysis.principal_agent"),
        ("Self-evolution (drift)", "alignsim.analysis.drift"),
    ):
        out.append(
            f"## {title}\n\nFrom the docstring of `{module}` (functions in the "
            f"[API reference](../api/analysis.md)).\n\n::: {module}\n"
            "    options:\n      members: false\n      show_root_heading: false\n      show_root_toc_entry: false\n\n"
        )
    return "".join(out)


def benchmark_results_page() -> str:
    """``benchmarks/RESULTS.md`` as a page; its links to the scripts beside it become plain text."""
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    return re.sub(r"\[([^\]]+)\]\((?![a-z]+:|#)[^)]*\)", r"\1", text)


PAGES = {
    "catalogue/scenarios.md": scenarios_page,
    "catalogue/policies.md": policies_page,
    "catalogue/metrics.md": metrics_page,
    "reference/benchmark-results.md": benchmark_results_page,
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated catalogue pages to the site."""
    for path, build in PAGES.items():
        files.append(File.generated(config, path, content=build()))
    return files


USAGE_MARKER = "<!-- alignsim-usage -->"


def on_page_markdown(markdown: str, page: Any, config: MkDocsConfig, files: Files) -> str:
    """Put ``alignsim --help``'s usage text where a page asks for it."""
    if USAGE_MARKER not in markdown:
        return markdown
    from alignsim.cli import USAGE

    return markdown.replace(USAGE_MARKER, f"```text\n{USAGE.strip()}\n```")
