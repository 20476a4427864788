"""Resumable partial runs: finished tiles survive a failure, a cancel or a ``kill -9`` (QGIS-free).

A fetch writes into ``<out_parent>/.partial-<name>/`` and renames it to ``<name>`` when complete (see
:mod:`.run_folder`). Inside the partial folder:

* ``partial.json`` — the manifest: the request's fingerprint (a hash of the Process API body, grid, endpoints and
  tile size: no secret), the number of tiles per side and the tiles done per side;
* ``tiles/<side>-<index>.npz`` — one finished tile (value, SCL, userdata), written to a temporary name and renamed,
  so a tile is either complete or absent;
* ``.lock`` — held (``flock``/``msvcrt.locking``) by the process writing the run; the OS releases it when that
  process dies, so a folder whose lock can be taken is stale.

Names are reserved atomically: the partial folder is built under a unique temporary name with its manifest and
lock, then renamed to ``.partial-<name>`` — a rename onto an existing (non-empty) folder fails, so two runs can
never share a folder or delete each other's files. :func:`reserve` first looks for stale partial folders in the
output folder: one of the same request is resumed (only its missing tiles are fetched); others are reported (with
what they hold and how to resume them) and left in place; folders of an older S2 Parity without a manifest hold
nothing resumable and are removed (and reported).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from s2parity_plugin.core.fetch import run_folder

MANIFEST = "partial.json"
LOCK = ".lock"
TILES = "tiles"
STAGING_PREFIX = ".s2parity-reserving-"
STALE_STAGING_S = 600.0  # a staging folder this old (s) belongs to a dead process: reserving takes milliseconds
SCHEMA = 1
Notify = Callable[[str], None]


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-serialisable ``parts`` (never include secrets)."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# -- locks ----------------------------------------------------------------------------------------------------------


def _try_lock(path: Path) -> int | None:
    """Open ``path`` and lock it without waiting; the fd, or None when another live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing releases flock and msvcrt locks


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


# -- one partial run --------------------------------------------------------------------------------------------------


@dataclass
class PartialRun:
    """A reserved (locked) partial run folder."""

    path: Path
    name: str
    key: str
    tiles_total: int
    done: dict[str, set[int]] = field(default_factory=dict)
    created: str = ""
    resumed: bool = False
    _fd: int | None = None

    def _manifest(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "name": self.name,
            "fingerprint": self.key,
            "created": self.created,
            "tiles_per_side": self.tiles_total,
            "done": {side: sorted(indices) for side, indices in sorted(self.done.items())},
        }

    def tiles_done(self) -> int:
        """Tiles finished over both sides."""
        return sum(len(v) for v in self.done.values())

    def _tile_path(self, side: str, index: int) -> Path:
        return self.path / TILES / f"{side}-{index:05d}.npz"

    def save_tile(self, side: str, index: int, parsed: dict[str, Any]) -> None:
        """Keep one finished tile (complete or absent: written to a temporary name, then renamed) and list it."""
        target = self._tile_path(side, index)
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.npz")
        arrays = {"value": parsed["value"]}
        if parsed.get("scl") is not None:
            arrays["scl"] = parsed["scl"]
        arrays["userdata"] = np.frombuffer(json.dumps(parsed.get("userdata")).encode("utf-8"), dtype=np.uint8)
        with tmp.open("wb") as handle:
            np.savez(handle, **arrays)
        tmp.replace(target)
        self.done.setdefault(side, set()).add(index)
        write_json(self.path / MANIFEST, self._manifest())

    def load_tile(self, side: str, index: int) -> dict[str, Any]:
        """A tile saved by :meth:`save_tile`: ``{"value", "scl", "userdata"}``."""
        with np.load(self._tile_path(side, index), allow_pickle=False) as npz:
            return {
                "value": npz["value"],
                "scl": npz["scl"] if "scl" in npz.files else None,
                "userdata": json.loads(npz["userdata"].tobytes().decode("utf-8")),
            }

    def drop_tiles(self) -> None:
        """Remove the kept tiles (once they are in the mosaics)."""
        shutil.rmtree(self.path / TILES, ignore_errors=True)

    def finalize(self, final: Path) -> Path:
        """Rename the complete folder (``run.json`` written) to ``final`` and remove the partial bookkeeping."""
        self.drop_tiles()
        self.release()
        result = run_folder.finalize_run(self.path, final)
        for name in (MANIFEST, LOCK):
            with contextlib.suppress(OSError):
                (result / name).unlink()
        return result

    def release(self) -> None:
        """Let go of the lock (the folder stays, resumable)."""
        _unlock(self._fd)
        self._fd = None

    def discard(self) -> None:
        """Remove the folder entirely (nothing worth keeping)."""
        self.release()
        shutil.rmtree(self.path, ignore_errors=True)

    def where(self) -> str:
        """What is kept and how to resume, for messages."""
        total = 2 * self.tiles_total
        return (
            f"{self.tiles_done()} of {total} tiles are kept in {self.path}: run the same request again (same "
            "output folder) to fetch only the missing ones."
        )


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("schema") == SCHEMA else None


def _adopt(folder: Path, doc: dict[str, Any], fd: int) -> PartialRun:
    done = {side: {int(i) for i in indices} for side, indices in (doc.get("done") or {}).items()}
    run = PartialRun(folder, str(doc["name"]), str(doc["fingerprint"]), int(doc["tiles_per_side"]), done)
    run.created, run.resumed, run._fd = str(doc.get("created", "")), True, fd
    # only tiles whose file exists count (a tile listed but lost is fetched again)
    for side, indices in run.done.items():
        run.done[side] = {i for i in indices if run._tile_path(side, i).is_file()}
    return run


def scan(out_parent: Path, key: str, only_name: str | None, notify: Notify) -> PartialRun | None:
    """Look at every stale ``.partial-*`` folder in ``out_parent``: return (locked) the oldest one of request
    ``key`` (named ``only_name`` if given), report the others, remove manifest-less leftovers of older versions."""
    for staging in out_parent.glob(f"{STAGING_PREFIX}*"):  # a run killed in the milliseconds of reserving a name
        with contextlib.suppress(OSError):
            if time.time() - staging.stat().st_mtime > STALE_STAGING_S:
                shutil.rmtree(staging, ignore_errors=True)
    found: list[PartialRun] = []
    for folder in sorted(out_parent.glob(f"{run_folder.PARTIAL_PREFIX}*")):
        if not folder.is_dir() or (folder / run_folder.RUN_MANIFEST).exists():
            continue  # not a folder, or being finished right now
        fd = _try_lock(folder / LOCK)
        if fd is None:
            continue  # another running fetch is writing it
        doc = _read_manifest(folder)
        if doc is None:
            _unlock(fd)
            shutil.rmtree(folder, ignore_errors=True)
            notify(f"Removed {folder}: an unfinished run folder without a manifest (nothing in it can be resumed).")
            continue
        if doc.get("fingerprint") == key and only_name in (None, doc.get("name")):
            found.append(_adopt(folder, doc, fd))
            continue
        _unlock(fd)
        tiles = sum(len(v) for v in (doc.get("done") or {}).values())
        notify(
            f"Found an unfinished run in {folder} (started {doc.get('created', '?')}, {tiles} of "
            f"{2 * int(doc.get('tiles_per_side', 0))} tiles) for another request: run that request again to resume "
            "it, or delete the folder."
        )
    if not found:
        return None
    found.sort(key=lambda r: r.created)
    chosen, rest = found[0], found[1:]
    for other in rest:
        other.release()
    return chosen


def reserve(
    out_parent: Path, name: str, key: str, tiles_total: int, notify: Notify, *, explicit_name: bool = False
) -> PartialRun:
    """A locked partial run for request ``key``: a stale one of the same request (resumed; with
    ``explicit_name`` only one of that name), else a new folder named ``name`` (or ``name-2``, ``name-3``… when
    taken; said through ``notify``)."""
    found = scan(out_parent, key, name if explicit_name else None, notify)
    if found is not None and found.tiles_total == tiles_total:
        notify(f"Resuming the unfinished run {found.path}: {found.tiles_done()} of {2 * tiles_total} tiles are done.")
        return found
    if found is not None:
        found.release()
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    candidate, n = name, 2
    while True:
        final = out_parent / candidate
        if not final.exists():
            run = _try_create(out_parent, candidate, key, tiles_total, created)
            if run is not None:
                if candidate != name:
                    notify(f"{out_parent / name} already exists: this run is written to {final} instead.")
                return run
        candidate, n = f"{name}-{n}", n + 1


def _try_create(out_parent: Path, name: str, key: str, tiles_total: int, created: str) -> PartialRun | None:
    """Build the folder under a temporary name, then rename it into place (fails when the name is taken)."""
    staging = out_parent / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir()
    fd = _try_lock(staging / LOCK)
    run = PartialRun(staging, name, key, tiles_total, {}, created, False, fd)
    write_json(staging / MANIFEST, run._manifest())
    target = run_folder.partial_dir(out_parent, name)
    try:
        staging.rename(target)  # atomic; refuses an existing non-empty folder
    except OSError:
        run.discard()
        return None
    run.path = target
    return run
