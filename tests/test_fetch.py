"""The downloader against a local HTTP server on 127.0.0.1: checksums, truncation, mirrors,
retries with backoff, the lock file of unpublished digests, and the `fetch` command.

The server serves whatever each test puts in its routes: bytes, an HTTP error, a body cut
short of its Content-Length, or errors for the first few requests. No other host is contacted.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pytest

from repro.__main__ import main
from repro.data import DOWNLOADABLE, mnist
from repro.data.fetch import ChecksumLock, FetchError, RemoteFile, fetch, mirror_url
from repro.data.idx import write_idx


@dataclass
class Route:
    """body: what a good response sends. status: an error code to send instead. truncate: send
    only this many bytes of body (with the full Content-Length). fail_first: answer the first N
    requests with 503."""

    body: bytes = b""
    status: int = 200
    truncate: int | None = None
    fail_first: int = 0
    requests: int = 0


@dataclass
class Server:
    url: str
    routes: dict[str, Route] = field(default_factory=dict)

    def add(self, path: str, body: bytes = b"", **options) -> str:
        self.routes[path] = Route(body, **options)
        return self.url + path


@contextmanager
def serve():
    """A threaded http.server on 127.0.0.1 and a free port; yields a Server to add routes to."""
    routes: dict[str, Route] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            route = routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            route.requests += 1
            if route.requests <= route.fail_first:
                self.send_error(503)
                return
            if route.status != 200:
                self.send_error(route.status)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body[: route.truncate])
            self.close_connection = True

        def log_message(self, *args):  # keep pytest's output clean
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", routes)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server():
    with serve() as running:
        yield running


class Sleeps(list):
    """Records the backoff delays instead of sleeping."""

    def __call__(self, seconds):
        self.append(seconds)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def tiny_idx_gz(tmp_path, images: int = 5) -> bytes:
    """A real gzipped IDX file of 5 images of 28x28 uint8."""
    path = tmp_path / "fixture-images-idx3-ubyte.gz"
    write_idx(path, np.arange(images * 784, dtype=np.uint8).reshape(images, 28, 28))
    return path.read_bytes()


def quiet(message):
    pass


def test_success_verifies_md5_and_leaves_only_the_file(server, tmp_path):
    body = tiny_idx_gz(tmp_path)
    url = server.add("/mnist/train-images-idx3-ubyte.gz", body)
    target = tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz"
    assert fetch(url, target, md5(body), "md5", log=quiet) == target
    assert target.read_bytes() == body
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file


def test_md5_mismatch_is_one_line_and_leaves_nothing(server, tmp_path):
    body = tiny_idx_gz(tmp_path)
    corrupted = body[:-10] + bytes(10)
    url = server.add("/mnist/train-images-idx3-ubyte.gz", corrupted)
    target = tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz"
    with pytest.raises(FetchError) as error:
        fetch(url, target, md5(body), "md5", log=quiet, sleep=Sleeps())
    message = str(error.value)
    assert "\n" not in message
    assert message == (
        f"mnist/train-images-idx3-ubyte.gz: md5 mismatch from {url}: "
        f"expected {md5(body)}, got {md5(corrupted)}"
    )
    assert server.routes["/mnist/train-images-idx3-ubyte.gz"].requests == 1  # no retry
    assert not (tmp_path / "data").exists()  # not even the folders it made


def test_truncated_download_is_detected_retried_and_leaves_nothing(server, tmp_path):
    body = tiny_idx_gz(tmp_path)
    url = server.add("/t.gz", body, truncate=len(body) // 2)
    target = tmp_path / "data" / "t.gz"
    sleeps = Sleeps()
    with pytest.raises(FetchError, match=r"truncated download from .*/t.gz: \d+ of \d+ bytes"):
        fetch(url, target, md5(body), "md5", retries=2, backoff=0.01, log=quiet, sleep=sleeps)
    assert server.routes["/t.gz"].requests == 3 and len(sleeps) == 2
    assert not (tmp_path / "data").exists()


def test_first_mirror_404_falls_back_to_the_second(server, tmp_path):
    body = tiny_idx_gz(tmp_path)
    good = server.add("/b/t10k-labels-idx1-ubyte.gz", body)
    missing = server.url + "/a/t10k-labels-idx1-ubyte.gz"
    target = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    fetch([missing, good], target, md5(body), "md5", log=quiet, sleep=Sleeps())
    assert target.read_bytes() == body


def test_every_mirror_failing_names_each_url(server, tmp_path):
    body = b"payload"
    first = server.url + "/gone/x.bin"
    second = server.add("/bad/x.bin", b"other")
    with pytest.raises(FetchError) as error:
        fetch([first, second], tmp_path / "d" / "x.bin", md5(body), "md5", log=quiet)
    assert f"HTTP 404 from {first}" in str(error.value)
    assert f"md5 mismatch from {second}" in str(error.value)


def test_server_errors_are_retried_with_exponential_backoff(server, tmp_path):
    body = b"fine at last"
    url = server.add("/flaky.bin", body, fail_first=2)
    sleeps = Sleeps()
    target = tmp_path / "flaky.bin"
    fetch(url, target, md5(body), "md5", retries=3, backoff=0.5, log=quiet, sleep=sleeps)
    assert target.read_bytes() == body
    assert sleeps == [0.5, 1.0] and server.routes["/flaky.bin"].requests == 3


def test_retries_run_out(server, tmp_path):
    url = server.add("/down.bin", b"never", fail_first=100)
    sleeps = Sleeps()
    with pytest.raises(FetchError, match=r"HTTP 503 from .*/down.bin \(4 attempts\)"):
        fetch(url, tmp_path / "down.bin", md5(b"never"), "md5", retries=3, backoff=1, sleep=sleeps)
    assert sleeps == [1, 2, 4]
    assert not (tmp_path / "down.bin").exists()


def test_connection_refused_is_retried_then_reported(tmp_path):
    with serve() as stopped:
        url = stopped.url + "/x"
    with pytest.raises(FetchError, match="cannot connect to"):
        fetch(url, tmp_path / "x", md5(b""), "md5", retries=1, log=quiet, sleep=Sleeps())


def test_verified_file_is_not_downloaded_again_and_a_bad_one_is_replaced(server, tmp_path):
    body = b"the real bytes"
    url = server.add("/f.bin", body)
    target = tmp_path / "f.bin"
    target.write_bytes(body)
    fetch(url, target, md5(body), "md5", log=quiet)
    assert server.routes["/f.bin"].requests == 0
    target.write_bytes(b"stale")
    fetch(url, target, md5(body), "md5", log=quiet)
    assert target.read_bytes() == body and server.routes["/f.bin"].requests == 1


def test_unpublished_digest_is_recorded_then_enforced(server, tmp_path):
    lock = ChecksumLock(tmp_path / "checksums.json")
    url = server.add("/imdb/IMDB-Dataset.csv", b"review,sentiment\nfine,positive\n")
    target = tmp_path / "imdb" / "IMDB-Dataset.csv"
    fetch(url, target, None, lock=lock, log=quiet)
    recorded = lock.get("imdb/IMDB-Dataset.csv")
    assert recorded == hashlib.sha256(target.read_bytes()).hexdigest()
    target.unlink()
    server.add("/imdb/IMDB-Dataset.csv", b"review,sentiment\nchanged,negative\n")
    with pytest.raises(FetchError, match=f"sha256 mismatch .* expected {recorded}"):
        fetch(url, target, None, lock=lock, log=quiet)
    assert not target.exists()


def test_a_file_put_there_by_hand_is_adopted_once_it_passes_the_format_check(tmp_path):
    lock = ChecksumLock(tmp_path / "checksums.json")
    target = tmp_path / "imdb" / "IMDB-Dataset.csv"
    target.parent.mkdir()
    target.write_bytes(b"<html>")
    is_csv = lambda path: None if path.read_bytes().startswith(b"review") else "not a CSV"
    with pytest.raises(FetchError, match="the file present is not the dataset: not a CSV"):
        fetch("http://127.0.0.1:9/x", target, None, lock=lock, validate=is_csv, log=quiet)
    assert lock.get("imdb/IMDB-Dataset.csv") is None
    target.write_bytes(b"review,sentiment\n")
    fetch("http://127.0.0.1:9/x", target, None, lock=lock, validate=is_csv, log=quiet)
    assert lock.get("imdb/IMDB-Dataset.csv") == hashlib.sha256(target.read_bytes()).hexdigest()


def test_unknown_digest_without_a_lock_is_refused(tmp_path):
    with pytest.raises(FetchError, match="no checksum to verify against"):
        fetch("http://127.0.0.1:9/x", tmp_path / "x", None)


def test_mirror_urls():
    assert mirror_url("https://a/mnist/", "f.gz") == "https://a/mnist/f.gz"
    assert mirror_url("https://a/get?file={name}", "f.gz") == "https://a/get?file=f.gz"
    assert mirror_url("https://a/files/3195404", "u.txt") == "https://a/files/3195404"


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """Four tiny idx files (5 train and 3 test images) and mnist.FILES pointing at their MD5s."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([7, 2, 1], dtype=np.uint8),
    }
    files = {}
    for name, array in arrays.items():
        write_idx(tmp_path / "fixtures" / name, array)
        files[name] = (tmp_path / "fixtures" / name).read_bytes()
    remote = tuple(RemoteFile(name, md5(body), "md5") for name, body in files.items())
    monkeypatch.setattr(mnist, "FILES", remote)
    return arrays, files


def test_fetch_command_downloads_mnist_then_the_loader_reads_it(
    server, tmp_path, tiny_mnist, capsys
):
    arrays, files = tiny_mnist
    for name, body in files.items():
        server.add(f"/mirror/{name}", body)
    root = tmp_path / "data"
    code = main(["fetch", "mnist", "--root", str(root), "--mirror", server.url + "/mirror/"])
    assert code == 0
    assert sorted(p.name for p in (root / "mnist").iterdir()) == sorted(files)
    dataset = mnist.build(source="download", n_train=4, root=str(root))
    assert dataset.train.inputs.shape == (4, 784) and dataset.val.inputs.shape == (3, 784)
    expected = arrays["train-images-idx3-ubyte.gz"][:4].reshape(4, 784) / 255.0
    assert np.allclose(dataset.train.inputs.numpy(), expected)
    assert dataset.train.labels.tolist() == [5, 0, 4, 1] and dataset.val.labels.tolist() == [
        7,
        2,
        1,
    ]
    swapped = mnist.build(source="download", n_train=2, split="swapped", n_val=4, root=str(root))
    assert swapped.train.labels.tolist() == [7, 2] and swapped.val.labels.tolist() == [5, 0, 4, 1]


def test_fetch_command_failure_is_one_line(server, tmp_path, tiny_mnist, capsys, monkeypatch):
    _, files = tiny_mnist
    name = "train-images-idx3-ubyte.gz"
    server.add(f"/m/{name}", gzip.compress(b"not the file"))
    monkeypatch.setenv("REPRO_MNIST_MIRRORS", server.url + "/m/")
    code = main(["fetch", "mnist", "--root", str(tmp_path / "data"), "--retries", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith(f"fetch error: mnist/{name}: md5 mismatch from {server.url}/m/")
    assert not (tmp_path / "data").exists()


def test_command_lists_every_downloadable_dataset(capsys):
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    assert "{" + ",".join(sorted(DOWNLOADABLE)) + "}" in capsys.readouterr().out
