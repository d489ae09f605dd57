"""Every command the README and the docs show works as written.

The README's two set-up commands are the ones CI runs (`.ci/run`). Every other fenced
command line (in ```bash blocks of README.md and docs/**/*.md) is run here, in document
order, in one fresh folder per page, as a reader following the page would run it:

* titled code blocks (```python title="play.py"```, ```toml title="pyproject.toml"```)
  are the files the page asks the reader to write: they are written first;
* ``alignsim ...`` lines (and the ``alignsim`` at the end of a set-up line) run through
  bash (so quoting and globs behave as in a terminal) with this checkout's ``alignsim``;
  ``python X.py`` lines run the page's file;
  ``pip install -e .`` installs the page's package the way pip would make it visible
  (a ``.dist-info`` folder with its entry points, on ``PYTHONPATH``), without touching
  the test environment; untitled ```python blocks run as scripts (a fragment that is not
  meant to run goes in a ```py block); other lines (``vllm serve``, ``pip install ...``)
  are for the reader only;
* where a model would be needed, ``llm=mock`` is appended to ``alignsim run`` and
  ``alignsim sweep`` lines that name no ``llm``; lines that use ``llm=openai`` get the
  address of a small OpenAI-compatible test server appended (it answers every request
  at once, picking the first option of a choice);
* ``--serve`` lines must answer HTTP on their address, then are stopped.

Each line must exit with 0, or with the code ``SPECIAL`` documents. ``SPECIAL`` also
shrinks long grids, marks long lines slow, skips lines that need infrastructure (Slurm,
a running Ray cluster), and marks lines that fail today because of a known bug as strict
xfail; a test checks that each of its entries is still in the docs.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if "hooks" not in p.parts)]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(python3 -m venv .*?)\n```", readme)
    assert len(blocks) == 2, "the README has exactly two set-up commands"
    run_main, run_tests = blocks
    assert run_main.endswith("alignsim run")
    assert "-c constraints.txt" in run_main and "-c constraints.txt" in run_tests
    assert run_tests in (ROOT / ".ci" / "run").read_text()


def test_readme_fits_on_a_screen_or_two() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


# ---------------------------------------------------------------- what the pages say


@dataclass
class Step:
    """One thing a reader does, in page order."""

    kind: str  # alignsim | python | install | pyblock
    text: str
    line: int


@dataclass
class Page:
    path: Path
    files: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def without_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside quotes or a word stays)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def shell_lines(body: str) -> Iterator[tuple[int, str]]:
    """(offset, command) of each command in a shell block: continuation lines joined, comments dropped."""
    pending, start = "", 0
    for offset, raw in enumerate(body.splitlines()):
        line = raw.strip()
        if not pending:
            start = offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = without_comment(pending + line).strip()
        pending = ""
        if line:
            yield start, line


def parse_page(path: Path) -> Page:
    page = Page(path)
    text = path.read_text()
    for match in FENCE.finditer(text):
        lang, attrs, body = match["lang"], match["attrs"], match["body"]
        first = text.count("\n", 0, match.start()) + 2  # 1-based line of the block's first line
        body = "\n".join(line[len(match["indent"]) :] for line in body.splitlines())
        title = TITLE.search(attrs)
        if title:
            page.files[title.group(1)] = body + "\n"
        elif lang == "python":
            page.steps.append(Step("pyblock", body, first))
        elif lang in SHELL_LANGS:
            for offset, line in shell_lines(body):
                if line.startswith("python3 -m venv ") and " .venv/bin/alignsim " in f"{line} ":
                    # A set-up command ending in the main job: CI runs the install part; the
                    # job itself is run here like any alignsim line.
                    line = line.rsplit("&&", 1)[1].strip().removeprefix(".venv/bin/")
                if line.startswith("alignsim "):
                    page.steps.append(Step("alignsim", line, first + offset))
                elif re.fullmatch(r"python \S+\.py", line):
                    page.steps.append(Step("python", line.split()[1], first + offset))
                elif line == "pip install -e .":
                    page.steps.append(Step("install", line, first + offset))
    return page


PARSED = {page.name: page for page in map(parse_page, PAGES)}


# ---------------------------------------------------------------- exceptions, by command


@dataclass(frozen=True)
class Special:
    """How one documented line deviates from 'append llm=mock where needed, expect 0'."""

    code: int = 0
    extra: tuple[str, ...] = ()
    """Arguments appended after the documented ones (the last value of a key wins)."""
    marks: tuple[Any, ...] = ()


SLOW = pytest.mark.slow
SPECIAL: dict[str, Special] = {
    # Documented failures: the command shows what a bad config does.
    "alignsim sweep name=bad scenario=traitors/classic-v0 seed=0,x": Special(code=2),
    "alignsim run scenario=traitors/classic-v0 scenario.env_kwargs.n_traitors=5": Special(code=2),
    "alignsim run +hydra.callbacks.x._target_=os.system": Special(code=2),
    # diff exits 1 when the logs differ, as documented.
    "alignsim diff runs/demo/episodes/*.jsonl runs/no57/episodes/*.jsonl": Special(code=1),
    # Long grids: the whole protocol on the mock backend; opt in with --runslow.
    "alignsim sweep +experiment=tinmen_grid llm=mock": Special(marks=(SLOW,)),
    "alignsim sweep +experiment=tinmen_grid": Special(marks=(SLOW,)),
    "alignsim analyze sweeps/tinmen_grid": Special(marks=(SLOW,)),
    "alignsim sweep +experiment=traitors_selfplay llm=mock": Special(marks=(SLOW,)),
    "alignsim sweep +experiment=atp_single": Special(marks=(SLOW,)),
    "alignsim sweep +experiment=atp_threshold": Special(marks=(SLOW,)),
    "alignsim sweep +experiment=atp_long": Special(marks=(SLOW,)),
    "alignsim sweep +experiment=atp_network": Special(marks=(SLOW,)),
    "alignsim analyze sweeps/atp_single": Special(marks=(SLOW,)),
    (
        "alignsim sweep +experiment=traitors_crossplay llm=openai "
        "scenario.seating.traitor.kwargs.model=openai/model-a,openai/model-b "
        "scenario.seating.faithful.kwargs.model=openai/model-a,openai/model-b"
    ): Special(marks=(SLOW,)),
    # The controls with a model in the seats: each is the whole control grid through the test
    # server (minutes each); the scripted runs of the same experiments run by default.
    (
        # Continued lines keep the space before their backslash.
        "alignsim sweep +experiment=controls_traitors  "
        "scenario=traitors/control-always-lie-v0,traitors/control-never-lie-v0  "
        "scenario.seating.traitor.policy=llm llm=openai llm.model=openai/NAME"
    ): Special(marks=(SLOW,)),
    (
        "alignsim sweep +experiment=controls_principal_agent scenario.seating.shopping_agent.policy=llm "
        "llm=openai llm.model=openai/NAME"
    ): Special(marks=(SLOW,)),
    (
        "alignsim sweep +experiment=controls_self_evolution scenario.seating.agent.policy=llm "
        "llm=openai llm.model=openai/NAME"
    ): Special(marks=(SLOW,)),
    (
        "alignsim sweep +experiment=controls_threshold_game scenario.seating.agent.policy=llm "
        "llm=openai llm.model=openai/NAME"
    ): Special(marks=(SLOW,)),
    # Long runs: the same commands with fewer episodes.
    "alignsim run scenario=self_evolution/atp-v0 episodes=10": Special(extra=("episodes=1",)),
    (
        "alignsim sweep name=served scenario=traitors/llm-v0 llm=openai llm.model=openai/qwen "
        "llm.backend_options.concurrency=32 lockstep=8 episodes=8 seed=0,1"
    ): Special(extra=("lockstep=2", "episodes=2")),
    "alignsim run llm=mock +llm.backend_options.faults=0.3 episodes=50 lockstep=8": Special(extra=("episodes=8",)),
    # Reference-page variants of what the tutorials and the README already run (a sweep,
    # an analysis): opt in with --runslow, to keep the default suite short.
    "alignsim run -m seed=0,1,2 scenario=traitors/mini-v0": Special(marks=(SLOW,)),
    "alignsim sweep name=grid scenario=traitors/classic-v0 'seed=range(0,4)'": Special(marks=(SLOW,)),
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3": Special(marks=(SLOW,)),
    "alignsim analyze runs/ --out report/ --by traitor_label,faithful_label": Special(marks=(SLOW,)),
    # The other launchers run the same jobs (already done by the first line: they resume).
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra.launcher.n_jobs=4": Special(marks=(SLOW,)),
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra/launcher=basic": Special(marks=(SLOW,)),
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra/launcher=joblib": Special(marks=(SLOW,)),
    # Launchers that start a cluster, or need one.
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra/launcher=ray": Special(marks=(SLOW,)),
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra/launcher=submitit_local": Special(
        marks=(SLOW,)
    ),
    "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra/launcher=ray hydra.launcher.address=auto": (
        Special(marks=(pytest.mark.skip(reason="needs a running Ray cluster (ray start --head)"),))
    ),
    (
        "alignsim sweep name=g scenario=traitors/mini-v0 seed=0,1,2,3 hydra/launcher=submitit_slurm "
        "hydra.launcher.partition=gpu hydra.launcher.timeout_min=240 hydra.launcher.gpus_per_node=1"
    ): Special(marks=(pytest.mark.skip(reason="needs a Slurm cluster"),)),
    (
        "alignsim sweep name=g scenario=traitors/llm-v0 seed=0,1,2,3 llm=openai llm.model=openai//models/my-model "
        "llm.backend_options.base_url='http://${oc.env:SLURMD_NODENAME,127.0.0.1}:8000/v1' "
        "llm.backend_options.concurrency=64 hydra/launcher=submitit_slurm"
    ): Special(marks=(pytest.mark.skip(reason="needs a Slurm cluster"),)),
    # The folder `inspect eval` wrote (the harness runs alignsim lines only; tests/test_inspect_eval.py
    # runs `inspect eval` itself and replays, views and analyses its output).
    **{
        f"alignsim {command} logs/2026-12-07T05-13-43-00-00_traitors_5a5kCFU7KetWLaLrKKEUSa.alignsim{rest}": Special(
            marks=(pytest.mark.skip(reason="needs the output of the `inspect eval` command above"),)
        )
        for command, rest in (
            ("replay", ""),
            ("view", "/epoch-1/episodes/traitors-mini-v0-s0-e0-9f688934.jsonl"),
            ("analyze", ""),
            ("export", " --inspect every-seat.json"),
        )
    },
    # docs/annotate-validation.md: a judge behind an API, the embedded model over all 342 statements
    # (minutes on a CPU; tests/analysis/annotate run it on a few), and a set of the reader's own.
    "alignsim annotate --validate --judge openai/gpt-4o-mini --out validation/": Special(
        marks=(pytest.mark.skip(reason="needs an OpenAI API key and network access"),)
    ),
    "alignsim annotate --validate --judge grammar --judge embedded --out validation/": Special(marks=(SLOW,)),
    "alignsim annotate --validate --judge grammar my_set.jsonl": Special(
        marks=(pytest.mark.skip(reason="needs the reader's own validation set"),)
    ),
    # docs/human-play.md: a person plays (at a keyboard, or in a browser); tests/play/test_terminal.py and
    # tests/play/test_web.py play whole games through a pseudo-terminal and Chromium instead.
    **{
        line: Special(marks=(pytest.mark.skip(reason="needs a person at the keyboard or in a browser"),))
        for line in (
            "alignsim play scenario=traitors/mini-v0 seat=player_2 --label p-001 out_dir=runs/p-001",
            "alignsim play scenario=traitors/llm-v0 role=traitor --label p-002 llm=mock seed=4",
            "alignsim play scenario=traitors/llm-v0 seat=player_1,player_4 human.label=p-003,p-004 "
            "human.timeout_s=90 --web",
        )
    },
    **{
        f"alignsim {rest}": Special(marks=(pytest.mark.skip(reason="needs the game a person played above"),))
        for rest in (
            "replay runs/p-001",
            "view runs/p-001/episodes/*.jsonl --private",
            "view runs/p-001/episodes/*.jsonl --agent player_2 --html mine.html",
            "fork runs/p-001/episodes/*.jsonl --at 10 --swap-policy player_2=traitors/heuristic",
            "analyze runs/p-001",
        )
    },
    # A hosted model through Inspect: needs an API key and the internet.
    "alignsim run scenario=traitors/llm-v0 llm.model=inspect/openai/gpt-4o-mini": Special(
        marks=(pytest.mark.skip(reason="needs an OpenAI API key and network access"),)
    ),
}


def test_every_special_case_is_still_documented() -> None:
    shown = {step.text for page in PARSED.values() for step in page.steps}
    assert not set(SPECIAL) - shown, "SPECIAL names commands no page shows any more"


# ---------------------------------------------------------------- the reader's folder

SEEDED = {"docs/reference/analysis.md", "docs/reference/episode-logs.md"}
"""Pages that point at an existing runs/ folder (and the seed system's results/) without creating one."""


def seed_folder(folder: Path, env: dict[str, str]) -> None:
    """A few scripted episodes in runs/, and the seed system's votes.csv files in results/."""
    args = ["scenario=traitors/classic-v0", "episodes=3", "out_dir=runs/classic", "progress=false"]
    subprocess.run(["alignsim", "run", *args], cwd=folder, env=env, check=True, capture_output=True, timeout=300)
    script = (
        "from alignsim.analysis import load_frames, write_seed_votes;"
        "write_seed_votes(load_frames('runs/classic'), 'results')"
    )
    subprocess.run([sys.executable, "-c", script], cwd=folder, env=env, check=True, capture_output=True, timeout=300)


def fake_install(folder: Path, pyproject: str) -> None:
    """What ``pip install -e .`` makes visible: the distribution and its entry points."""
    project = tomllib.loads(pyproject)["project"]
    name = project["name"].replace("-", "_")
    info = folder / "site" / f"{name}-{project['version']}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


class StubOpenAI(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that answers at once: the first option of a choice, else a claim."""

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        asked = payload["messages"][-1]["content"] if payload["messages"] else ""
        options = re.search(r"Answer with exactly one of: (.*)\.$", asked)
        if "structured_outputs" in payload:
            content = payload["structured_outputs"]["choice"][0]
        elif options:
            content = options.group(1).split(", ")[0]
        else:
            content = "I am faithful. I think player_1 is a traitor."
        words = sum(len(str(m.get("content", "")).split()) for m in payload["messages"])
        body = {
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": words, "completion_tokens": len(content.split())},
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def openai_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


class Reader:
    """One page's folder, in which the page's steps run in order (each at most once)."""

    def __init__(self, page: Page, folder: Path, openai_url: Any, runslow: bool) -> None:
        self.page, self.folder, self.openai_url, self.runslow = page, folder, openai_url, runslow
        self.results: list[subprocess.CompletedProcess[str] | None] = []
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(folder), str(folder / "site")]),
            "COLUMNS": "120",
        }
        for name, content in page.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(content)
        if page.name in SEEDED:
            seed_folder(folder, self.env)

    def command(self, step: Step) -> str:
        text = step.text
        special = SPECIAL.get(text, Special())
        extra = list(special.extra)
        words = shlex.split(text)
        if words[1] in ("run", "sweep") and not any(w.startswith("llm=") for w in words):
            extra.append("llm=mock")
        if "llm=openai" in words:
            extra.append(f"llm.backend_options.base_url={self.openai_url()}")
        return " ".join([text, *map(shlex.quote, extra)])

    def run(self, index: int) -> subprocess.CompletedProcess[str] | None:
        """What step ``index`` gave, running it (and the steps before it, whatever they give) if need be.

        Earlier steps that this session skips (infrastructure, or slow without --runslow)
        are skipped here too: later steps of a page never depend on them.
        """
        while len(self.results) <= index:
            at = len(self.results)
            step = self.page.steps[at]
            marks = {m.name for m in SPECIAL[step.text].marks} if step.text in SPECIAL else set()
            skipped = "skip" in marks or ("slow" in marks and not self.runslow)
            self.results.append(None if skipped and at < index else self.perform(step))
        return self.results[index]

    def perform(self, step: Step) -> subprocess.CompletedProcess[str] | None:
        timeout = 600
        if step.kind == "install":
            fake_install(self.folder, self.page.files["pyproject.toml"])
            return None
        if step.kind == "python":
            argv = [sys.executable, step.text]
        elif step.kind == "pyblock":
            argv = [sys.executable, "-c", step.text]
        elif "--serve" in step.text:
            return self.serve(step)
        else:
            argv = ["bash", "-c", self.command(step)]
        return subprocess.run(argv, cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=timeout)

    def serve(self, step: Step) -> subprocess.CompletedProcess[str]:
        """Start a ``--serve`` line, fetch its front page, stop it."""
        words = shlex.split(step.text)
        port = words[words.index("--port") + 1] if "--port" in words else "8765"
        process = subprocess.Popen(
            ["bash", "-c", f"exec {step.text}"],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        code = 1
        try:
            for _ in range(300):
                if process.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                        code = 0 if answer.status == 200 else 1
                        break
                except OSError:
                    time.sleep(0.2)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        return subprocess.CompletedProcess(step.text, code, out, err)


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Reader]:
    """One reader per page, made when the page's first step is tested."""

    def openai_url() -> str:  # the test server starts only for pages that need it
        return str(request.getfixturevalue("openai_server"))

    class Lazy(dict[str, Reader]):
        def __missing__(self, name: str) -> Reader:
            folder = tmp_path_factory.mktemp(re.sub(r"\W+", "_", name))
            reader = self[name] = Reader(PARSED[name], folder, openai_url, request.config.getoption("--runslow"))
            return reader

    return Lazy()


def step_params() -> list[Any]:
    params = []
    for name, page in PARSED.items():
        for index, step in enumerate(page.steps):
            marks = SPECIAL[step.text].marks if step.text in SPECIAL else ()
            params.append(pytest.param(name, index, id=f"{name}:{step.line}", marks=marks))
    return params


@pytest.mark.parametrize(("page", "index"), step_params())
def test_documented_command_works_as_written(readers: dict[str, Reader], page: str, index: int) -> None:
    step = PARSED[page].steps[index]
    result = readers[page].run(index)
    if result is None:
        return
    expected = SPECIAL[step.text].code if step.text in SPECIAL else 0
    assert result.returncode == expected, (
        f"{page}:{step.line}: {step.text}\nexit {result.returncode}, expected {expected}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )
