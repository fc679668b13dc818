"""The cached VM image: built once by build-image.sh, reused until the
recipe (that script) changes."""

import fcntl
import hashlib
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

RECIPE = Path(__file__).with_name("build-image.sh")


@dataclass
class Image:
    directory: Path
    built_seconds: float | None  # None when it came from the cache
    # A shared lock on the image held for as long as this process lives, so
    # a concurrent run with another recipe (another checkout sharing
    # LAB_CACHE_DIR) does not prune it, key included, in mid-run.
    in_use: object = None

    @property
    def disk(self) -> Path:
        return self.directory / "disk.img"

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    @property
    def key(self) -> Path:
        return self.directory / "id_ed25519"


def recipe_key(suite: str) -> str:
    digest = hashlib.sha256(RECIPE.read_bytes() + suite.encode()).hexdigest()
    return f"{suite}-{digest[:16]}"


def ensure_image(suite: str, cache_dir: Path, rebuild: bool = False) -> Image:
    """Return the image for `suite`, building it if the cache has none for
    the current recipe.  A lock keeps two lab runs from building at once;
    the build goes to a temporary directory renamed into place only when
    complete, so an interrupted build is never mistaken for a cached one."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = recipe_key(suite)
    final = cache_dir / key
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if rebuild:
            if busy(final):
                print(f"{final.name} is in use by another lab run: not rebuilding it", flush=True)
            else:
                remove(final)
        if final.exists():
            return Image(final, None, hold(final))
        seconds = build(suite, cache_dir, final)
        in_use = hold(final)
        prune_stale(cache_dir, suite, keep=key)
        return Image(final, seconds, in_use)


def hold(image_dir: Path):
    """Take a shared lock on the image; it lasts until the file is closed
    (at the latest when the process exits)."""
    handle = open(image_dir / ".in-use", "a")
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


def busy(image_dir: Path) -> bool:
    """True if some lab run holds the image."""
    if not (image_dir / ".in-use").exists():
        return False
    with open(image_dir / ".in-use", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def build(suite: str, cache_dir: Path, final: Path) -> float:
    staging = cache_dir / f".{final.name}.tmp"
    remove(staging)
    staging.mkdir()
    log_path = cache_dir / f"{final.name}.build.log"
    print(f"building {suite} image (log: {log_path})", flush=True)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.run(["bash", str(RECIPE), suite, str(staging)],
                              stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-30:]
        remove(staging)
        raise RuntimeError(f"image build failed (rc={proc.returncode}):\n" + "\n".join(tail))
    staging.rename(final)
    return time.monotonic() - started


def prune_stale(cache_dir: Path, suite: str, keep: str):
    """Images from older recipes are dead weight (hundreds of MB each),
    unless a run (of another checkout) is using one right now."""
    for entry in cache_dir.glob(f"{suite}-*"):
        if entry.name.startswith(keep):
            continue
        if entry.is_dir() and busy(entry):
            continue
        if entry.name.endswith(".build.log") and busy(Path(str(entry).removesuffix(".build.log"))):
            continue
        remove(entry)


def remove(path: Path):
    """rm -rf that never crosses into another filesystem: a failed build
    could leave /proc or /dev mounted inside its tree."""
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)
