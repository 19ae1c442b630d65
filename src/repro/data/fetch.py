"""Download one file, verified, or fail leaving nothing behind.

`fetch(urls, destination, checksum, algorithm)` streams the first URL that works into a temporary
file in the destination's folder (so the final rename is atomic: same filesystem), hashing as it
goes, and renames it onto the destination only if the byte count matches the server's
Content-Length and the digest matches the expected one. A reader (or Snakemake) therefore sees
either no file or a complete, verified one.

Failures and what happens next:
- connection errors, timeouts, HTTP 5xx/429, a body shorter than its Content-Length: the same
  URL is retried up to `retries` times, waiting `backoff * 2**attempt` seconds in between;
- HTTP 4xx (404: the mirror lost the file) or a checksum mismatch (a full download of the wrong
  bytes; retrying the same mirror would fetch them again): the next mirror is tried at once;
- every mirror failed: `FetchError`, whose message is one line naming the file, each URL and
  what went wrong there, e.g. "mnist/train-images-idx3-ubyte.gz: md5 mismatch from <url>:
  expected f68b..., got 0a1b...".

Checksums: the published digest where there is one (MNIST's MD5s, as torchvision lists them);
otherwise a SHA-256 recorded on first download in a lock file (trust on first use, see
`ChecksumLock`): later downloads must match it, so a file that changed upstream is caught even
though nobody published its digest. Only the standard library does HTTP (urllib): no new
dependency, and the tests serve files from http.server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from repro import io

CHUNK = 1 << 20  # bytes read per iteration (1 MiB)
DEFAULT_RETRIES = 3  # extra attempts per URL after the first, on transient errors only
DEFAULT_BACKOFF = 2.0  # seconds before the first retry; doubles on each further retry
DEFAULT_TIMEOUT = 60.0  # seconds without a byte before the connection counts as failed
ALGORITHMS = ("md5", "sha256")
USER_AGENT = "repro-fetch/0.1 (python urllib)"
MIRRORS_VARIABLE = "REPRO_{}_MIRRORS"  # e.g. REPRO_MNIST_MIRRORS="https://a/mnist/ https://b/"


class FetchError(RuntimeError):
    """A download failed on every URL; the message is one line: file, URLs, what was expected."""


class _Retry(Exception):
    """A transient failure of one attempt: the same URL is worth another try."""


class _NextMirror(Exception):
    """A failure the same URL will repeat (404, wrong bytes): move to the next mirror."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name on the mirrors (and under data/<dataset>/) and digest.

    checksum None means nobody published one: the first download records its SHA-256 in the
    lock file and later downloads are checked against that record.
    """

    name: str
    checksum: str | None
    algorithm: str = "sha256"
    # checks the format of a download with no published digest before its digest is trusted
    # (a login or "virus scan" HTML page must not be recorded as the dataset): returns what is
    # wrong, or None
    validate: Callable[[Path], str | None] | None = field(default=None, compare=False)


def mirrors_from_env(dataset: str, defaults: Sequence[str]) -> list[str]:
    """Mirrors of a dataset: $REPRO_<DATASET>_MIRRORS (space or comma separated) if set, else
    the module's defaults. See mirror_url for how a mirror names a file."""
    value = os.environ.get(MIRRORS_VARIABLE.format(dataset.upper()), "").replace(",", " ")
    return value.split() or list(defaults)


def mirror_url(mirror: str, name: str) -> str:
    """A file's URL on a mirror: "{name}" in the mirror is replaced by the file name; a mirror
    ending in "/" is a folder (the name is appended); any other is the file's full URL."""
    if "{name}" in mirror:
        return mirror.replace("{name}", name)
    return mirror + name if mirror.endswith("/") else mirror


def digest(path: str | os.PathLike, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(CHUNK), b""):
            hasher.update(block)
    return hasher.hexdigest()


class ChecksumLock:
    """SHA-256 digests seen on first download, for files nobody published a digest of.

    A JSON file {"<dataset>/<file>": {"sha256": ..., "url": ..., "bytes": ...}} (by default
    data/checksums.json). This is trust on first use: it proves that later downloads are the
    same bytes as the first one, not that the first one was right. To make a recorded digest
    authoritative, check the file by hand and copy the digest into the dataset module's
    constants, where it becomes a published checksum like MNIST's.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _read(self) -> dict:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def get(self, key: str) -> str | None:
        entry = self._read().get(key)
        return entry["sha256"] if entry else None

    def record(self, key: str, sha256: str, url: str, size: int) -> None:
        """Add one entry; an exclusive lock on a sidecar file serialises concurrent fetch jobs
        (Snakemake runs the download rules in parallel), so no entry is lost."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            entries = self._read()
            entries[key] = {"sha256": sha256, "url": url, "bytes": size}
            io.write_json(self.path, entries)


def _stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(total: int | None, name: str):
    """A tqdm bar on a terminal; None (log lines only) in a Snakemake log file or CI."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name)


def _download(url: str, temporary: Path, name: str, algorithm: str, timeout: float):
    """Stream url into temporary; (digest, bytes). Raises _Retry or _NextMirror."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        reason = f"HTTP {error.code} from {url}"
        if error.code >= 500 or error.code == 429:
            raise _Retry(reason) from None
        raise _NextMirror(reason) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or repr(error)
        raise _Retry(f"cannot connect to {url} ({reason})") from None
    hasher, size = hashlib.new(algorithm), 0
    with response:
        length = response.headers.get("Content-Length")
        expected_size = int(length) if length and length.isdigit() else None
        bar = _progress(expected_size, name)
        try:
            with open(temporary, "wb") as file:
                while block := response.read(CHUNK):
                    file.write(block)
                    hasher.update(block)
                    size += len(block)
                    if bar is not None:
                        bar.update(len(block))
        except (http.client.IncompleteRead, OSError) as error:
            raise _Retry(f"connection lost after {size} bytes from {url} ({error!r})") from None
        finally:
            if bar is not None:
                bar.close()
    if expected_size is not None and size != expected_size:
        raise _Retry(f"truncated download from {url}: {size} of {expected_size} bytes")
    return hasher.hexdigest(), size


def fetch(
    urls: str | Iterable[str],
    destination: str | os.PathLike,
    checksum: str | None,
    algorithm: str = "sha256",
    *,
    name: str | None = None,
    lock: ChecksumLock | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    timeout: float = DEFAULT_TIMEOUT,
    log: Callable[[str], None] = _stderr_log,
    sleep: Callable[[float], None] = time.sleep,
    validate: Callable[[Path], str | None] | None = None,
) -> Path:
    """Download the first of `urls` that yields the expected bytes to `destination`.

    checksum: the expected hex digest under `algorithm` (md5 or sha256); None means "unknown":
    then algorithm must be sha256 and `lock` is required (the digest recorded there on the
    first download is checked on every later one). name: how messages name the file
    (default: the destination's last two path parts, e.g. "mnist/t10k-labels-idx1-ubyte.gz").
    validate(path) -> None or what is wrong: a format check run on every download before its
    rename (a failure moves on to the next mirror), which matters most where the digest is
    only recorded. An existing destination with the right digest is kept without any download.
    """
    destination = Path(destination)
    name = name or "/".join(destination.parts[-2:])
    urls = [urls] if isinstance(urls, str) else list(urls)
    if algorithm not in ALGORITHMS:
        raise FetchError(f"{name}: unknown checksum algorithm {algorithm!r}; use {ALGORITHMS}")
    if not urls:
        raise FetchError(f"{name}: no URL to download from")
    if checksum is None:
        if lock is None or algorithm != "sha256":
            raise FetchError(f"{name}: no checksum to verify against and no sha256 lock file")
        checksum = lock.get(name)
        trust_on_first_use = checksum is None
    else:
        trust_on_first_use = False
    checksum = checksum.lower() if checksum else None

    if destination.exists():
        seen = digest(destination, algorithm)
        if checksum is None:  # a file put there by hand, before any download: adopt it
            problem = validate(destination) if validate else None
            if problem:
                raise FetchError(f"{name}: the file present is not the dataset: {problem}")
            lock.record(name, seen, f"file://{destination.resolve()}", destination.stat().st_size)
            log(f"{name}: present; recorded its sha256 {seen} in {lock.path}")
            return destination
        if seen == checksum:
            log(f"{name}: present, {algorithm} ok")
            return destination
        log(f"{name}: present but {algorithm} {seen} != {checksum}: removing it")
        destination.unlink()  # the destination only ever holds a verified file

    created = _missing_ancestor(destination.parent)
    failures: list[str] = []
    try:
        for url in urls:
            for attempt in range(retries + 1):
                if attempt:
                    delay = backoff * 2 ** (attempt - 1)
                    log(f"{name}: {failures[-1]}; retry {attempt}/{retries} in {delay:g} s")
                    sleep(delay)
                log(f"{name}: downloading {url}")
                start = time.monotonic()
                try:
                    with io.atomic_path(destination) as temporary:
                        seen, size = _download(url, temporary, name, algorithm, timeout)
                        if checksum is not None and seen != checksum:
                            raise _NextMirror(
                                f"{algorithm} mismatch from {url}: expected {checksum}, got {seen}"
                            )
                        problem = validate(temporary) if validate else None
                        if problem:
                            raise _NextMirror(f"unexpected content from {url}: {problem}")
                except _Retry as error:
                    failures.append(str(error))
                    continue
                except _NextMirror as error:
                    failures.append(str(error))
                    break
                seconds = time.monotonic() - start
                if trust_on_first_use:
                    lock.record(name, seen, url, size)
                    log(f"{name}: no published checksum; recorded sha256 {seen} in {lock.path}")
                log(f"{name}: {size:,} bytes in {seconds:.1f} s, {algorithm} ok")
                return destination
    except BaseException:
        _remove_empty(created)
        raise
    _remove_empty(created)
    raise FetchError(f"{name}: " + "; ".join(_dedupe(failures)))


def _dedupe(messages: list[str]) -> list[str]:
    """Repeated retries of one URL report once, with a count."""
    counts: dict[str, int] = {}
    for message in messages:
        counts[message] = counts.get(message, 0) + 1
    return [m if n == 1 else f"{m} ({n} attempts)" for m, n in counts.items()]


def _missing_ancestor(folder: Path) -> Path | None:
    """The outermost folder on the way to `folder` that does not exist yet (None if it does)."""
    missing = None
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_empty(created: Path | None) -> None:
    """Undo the folders a failed download created, if nothing else was put there meanwhile."""
    if created is None or not created.exists():
        return
    for folder in sorted((p for p in created.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(created.iterdir()):
        created.rmdir()


def fetch_files(
    dataset: str,
    files: Sequence[RemoteFile],
    mirrors: Sequence[str],
    root: str | os.PathLike,
    **options,
) -> list[Path]:
    """Fetch each file from the first working mirror into root/<dataset>/<file>.

    The lock file for files without a published checksum is root/checksums.json.
    """
    root = Path(root)
    lock = ChecksumLock(root / "checksums.json")
    paths = []
    for remote in files:
        paths.append(
            fetch(
                [mirror_url(m, remote.name) for m in mirrors],
                root / dataset / remote.name,
                remote.checksum,
                remote.algorithm,
                name=f"{dataset}/{remote.name}",
                lock=lock,
                validate=remote.validate,
                **options,
            )
        )
    return paths
