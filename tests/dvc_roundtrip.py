"""The DVC round trip of the README, in temporary clones (`make test-dvc`, about 3 minutes).

    python tests/dvc_roundtrip.py [--keep]

Not collected by pytest (it collects test_*.py): it runs the smoke DAG again, which `make test`
already does once, so it is its own target, called by .ci/run after `make test`.

1. origin: a bare repository holding a snapshot of this working tree (tracked files plus the
   untracked ones git does not ignore, as tests/conftest.py's repo_copy): on a clean clone that
   is HEAD; during development it includes your uncommitted edits.
2. clone A, the author: scale smoke and exploring_grokking alone in config/config.yaml, the
   default remote pointed at a temporary folder (.dvc/config.local). `dvc repro` runs the smoke
   DAG once (one train job per planned run); a second `dvc repro` runs nothing; `dvc metrics
   show` lists every claim; `dvc plots show --json` renders the learning curves; dvc.lock is
   deleted and `make push` rebuilds the same one with `dvc commit`, then pushes; git commits
   dvc.lock, metrics/ and the config (no checkpoint, no run file) and pushes them to origin;
   `dvc metrics diff` between the two commits lists every claim.
3. clone B, the collaborator: fresh clone, `make pull`; Snakemake then has nothing to do
   (`-n`), and `--summary` finds every output up to date. fig1 is deleted and `snakemake
   exploring_grokking_fig1` redraws it with one figure job and no training job (Snakemake's
   job summary); `snakemake exploring_grokking`, the whole paper, trains nothing either.
   fig1's files, claims.json and metrics/ equal A's byte for byte; `dvc status` is clean.
4. clone E changes the figure code before `make pull`: the runs are marked up to date, the
   figures are not (make pull says so and exits 1), and `snakemake exploring_grokking` redraws
   every figure without a training job.
5. one file in the remote is corrupted: in a fresh clone C, `make pull` fails on DVC's hash
   check (the remote has `verify = true`) and checks out nothing wrong; the test prints the
   error and `dvc pull -v`'s line naming the file. It also shows why verify is on: with
   `verify = false` (DVC's default) a fresh clone D's pull succeeds with the bad bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from repro.share import not_up_to_date  # noqa: E402

PAPER = "exploring_grokking"
FIGURE = "fig1"
FIGURE_FILES = [f"{FIGURE}{suffix}" for suffix in (".png", ".pdf", ".md", ".csv", ".claims.json")]
# the clones use this venv: `make -o` keeps make from building one in each clone
MAKE = ["make", "-o", ".venv/.installed"]
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "repro test",
    "GIT_AUTHOR_EMAIL": "test@repro.invalid",
    "GIT_COMMITTER_NAME": "repro test",
    "GIT_COMMITTER_EMAIL": "test@repro.invalid",
}


class Failed(Exception):
    """A check of the round trip did not hold."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def sh_json(command: list[str], cwd: Path):
    """A command's JSON output (stdout only: DVC writes its warnings to stderr)."""
    return json.loads(sh(command, cwd, stdout_only=True) or "{}")


def sh(
    command: list[str], cwd: Path, expect_ok: bool | None = True, stdout_only: bool = False
) -> str:
    """Run a command with the venv first on PATH and cwd's src/ importable; its output."""
    env = dict(os.environ, **GIT_IDENTITY, PYTHONPATH=str(cwd / "src"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    print(f"  {cwd.name}$ {' '.join(command)}   [{took:.1f} s, exit {result.returncode}]")
    output = result.stdout + result.stderr
    if expect_ok is True and result.returncode != 0:
        raise Failed(f"{' '.join(command)} failed in {cwd.name}:\n{output[-3000:]}")
    if expect_ok is False and result.returncode == 0:  # None: either way
        raise Failed(f"{' '.join(command)} succeeded in {cwd.name}; expected a failure")
    return result.stdout if stdout_only else output


def job_counts(snakemake_output: str) -> dict[str, int]:
    """{rule: jobs} from the first 'Job stats:' table Snakemake prints, which is the plan of a
    run or of a dry run (-n prints it again at the end); {} when there is nothing to do."""
    table = re.search(r"Job stats:\n(.*?)(?:\n\s*\n|\Z)", snakemake_output, re.S)
    counts = {}
    for line in table[1].splitlines() if table else []:
        match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s+(\d+)\s*", line)
        if match and match[1] not in ("job", "total"):
            counts[match[1]] = int(match[2])
    return counts


def jobs_run(output: str) -> dict[str, int]:
    """{rule: jobs} that ran, counted from the 'rule X:' header Snakemake prints per job."""
    counts: dict[str, int] = {}
    for rule in re.findall(r"^(?:local)?rule (\w+):$", output, re.M):
        counts[rule] = counts.get(rule, 0) + 1
    return counts


def snapshot(workdir: Path) -> Path:
    """A bare origin holding this working tree as one commit."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    tree = workdir / "snapshot"
    for name in filter(None, listed):
        if (ROOT / name).is_file():  # a tracked file deleted in the working tree is skipped
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    sh(["git", "init", "--quiet"], tree)
    sh(["git", "add", "--all"], tree)
    sh(["git", "commit", "--quiet", "-m", "snapshot of the working tree"], tree)
    sh(["git", "clone", "--quiet", "--bare", str(tree), str(workdir / "origin.git")], workdir)
    return workdir / "origin.git"


def claims_of(repo: Path) -> list[dict]:
    return json.loads((repo / "paper_figures" / PAPER / "claims.json").read_text())["claims"]


def clone(origin: Path, target: Path, remote: Path) -> Path:
    sh(["git", "clone", "--quiet", str(origin), str(target)], target.parent)
    # the committed default remote (~/.cache/repro-dvc-remote) stays untouched: this clone's
    # .dvc/config.local points it at the temporary one, keeping its verify = true
    sh(["dvc", "remote", "modify", "--local", "local", "url", str(remote)], target)
    return target


def author(origin: Path, workdir: Path, remote: Path) -> Path:
    print("clone A (the author): dvc repro at smoke scale")
    a = clone(origin, workdir / "a", remote)
    config = a / "config" / "config.yaml"
    text = config.read_text()
    for key, value in (("scale", "smoke"), ("papers", f"[{PAPER}]")):  # one paper, the smoke DAG
        text, n = re.subn(rf"^{key}: .*$", f"{key}: {value}", text, flags=re.M)
        check(n == 1, f"config/config.yaml: no one-line top-level `{key}:` to set")
    config.write_text(text)
    planned = sh(["python", "-m", "repro", "plan", PAPER, "--scale", "smoke"], a).split()

    first = sh(["dvc", "repro"], a)
    ran = jobs_run(first)
    check(ran.get("train") == len(planned), f"first dvc repro: {ran} for {len(planned)} runs")
    print(f"    ran {ran.get('train')} training jobs for {len(planned)} planned runs: {ran}")
    second = sh(["dvc", "repro"], a)
    check(not jobs_run(second) and "Running stage" not in second, f"2nd dvc repro:\n{second}")
    print("    second dvc repro: " + second.strip().splitlines()[-1])

    claims = claims_of(a)
    shown = sh_json(["dvc", "metrics", "show", "--json"], a)
    rows = next(iter(shown.values()))["data"]  # one revision: the workspace
    rows = {path: row["data"] for path, row in rows.items() if path.startswith(f"metrics/{PAPER}")}
    check(len(rows) == len(claims), f"dvc metrics show: {len(rows)} rows, {len(claims)} claims")
    check(
        sorted((r["paper"], r["ours"], r["verdict"]) for r in rows.values())
        == sorted((c["paper_value"], c["our_value"], c["verdict"]) for c in claims),
        "dvc metrics show does not match claims.json",
    )
    table = sh(["dvc", "metrics", "show"], a).splitlines()
    print(f"    dvc metrics show: {len(rows)} claims, e.g.\n      " + "\n      ".join(table[:3]))
    plots = sh_json(["dvc", "plots", "show", "--json"], a)["data"]
    curves = plots.get(f"paper_figures/curves/{PAPER}.csv", [{}])[0].get("content", {})
    points = curves.get("data", {}).get("values", [])
    check(points and {"run", "split", "step", "accuracy"} <= set(points[0]), "dvc plots: no curves")
    print(f"    dvc plots show --json: {len(points)} points of the learning curves")
    return a


def push(a: Path, claims: int) -> None:
    """make push from a fresh dvc.lock, then the pointers through git."""
    print("clone A: make push, git push")
    lock = (a / "dvc.lock").read_text()
    (a / "dvc.lock").unlink()
    sh([*MAKE, "push"], a)  # dvc commit rebuilds dvc.lock from the outputs, then dvc push
    check((a / "dvc.lock").read_text() == lock, "dvc commit wrote another dvc.lock")
    sh(["git", "add", "dvc.lock", "metrics", "config/config.yaml"], a)
    sh(["git", "commit", "--quiet", "-m", "smoke results"], a)
    sh(["git", "push", "--quiet", "origin", "HEAD"], a)
    diff = sh_json(["dvc", "metrics", "diff", "HEAD~1", "HEAD", "--json"], a)
    diff = {path: change for path, change in diff.items() if f"metrics/{PAPER}/" in path}
    check(len(diff) == claims, f"dvc metrics diff HEAD~1 HEAD: {len(diff)} files changed")
    print(f"    dvc metrics diff HEAD~1 HEAD: {len(diff)} claims added by the commit")
    tracked = sh(["git", "ls-files"], a).split()
    leaked = [f for f in tracked if f.startswith(("results/", "data/")) or f.endswith(".pt")]
    check(not leaked, f"committed to git: {leaked[:5]}")


def collaborator(origin: Path, workdir: Path, remote: Path, a: Path) -> None:
    print("clone B (the collaborator): make pull, then one figure without training")
    b = clone(origin, workdir / "b", remote)
    pulled = sh([*MAKE, "pull"], b)
    print("    " + next(line for line in pulled.splitlines() if line.startswith("make pull:")))
    dry = sh(["snakemake", "--dry-run"], b)
    check(not job_counts(dry), f"after make pull, Snakemake would run {job_counts(dry)}")
    stale = not_up_to_date(sh(["snakemake", "--summary"], b, stdout_only=True))
    check(not stale, f"after make pull, not up to date for Snakemake: {stale[:3]}")

    figures = b / "paper_figures" / PAPER
    for name in FIGURE_FILES:
        (figures / name).unlink()
    redraw = job_counts(sh(["snakemake", "--cores", "2", f"{PAPER}_{FIGURE}"], b))
    check(redraw.get("figure") == 1, f"{PAPER}_{FIGURE}: jobs {redraw}, expected one figure")
    merge = job_counts(sh(["snakemake", "--cores", "2", PAPER], b))
    for jobs in (redraw, merge):
        check(not {"train", "aggregate"} & set(jobs), f"a training job ran after make pull: {jobs}")
    print(f"    jobs: {redraw} then {merge}: no train, no aggregate")

    same = [*FIGURE_FILES, "claims.json"]
    theirs = a / "paper_figures" / PAPER
    differ = [n for n in same if not filecmp.cmp(theirs / n, figures / n, shallow=False)]
    metrics = filecmp.dircmp(a / "metrics" / PAPER, b / "metrics" / PAPER, [".snakemake_timestamp"])
    differ += metrics.diff_files + metrics.left_only + metrics.right_only
    check(not differ, f"differ from clone A: {differ}")
    status = sh_json(["dvc", "status", "--json"], b)
    check(not status, f"dvc status after the redraw: {status}")
    print(f"    {', '.join(same)} and metrics/{PAPER}/ equal clone A's; dvc status clean")


def code_moved_on(origin: Path, workdir: Path, remote: Path) -> None:
    print("clone E: the figure code changed after the push")
    e = clone(origin, workdir / "e", remote)
    code = e / "src" / "repro" / "figures.py"
    code.write_text(code.read_text() + "\n# a change to the figure code after the push\n")
    pulled = sh([*MAKE, "pull"], e, expect_ok=False)
    said = next((line for line in pulled.splitlines() if line.startswith("make pull:")), pulled)
    check("figures@" in said and "runs@" not in said, f"make pull: {said}")
    print(f"    {said[:110]}...")
    jobs = job_counts(sh(["snakemake", "--cores", "2", PAPER], e))
    check("figure" in jobs and not {"train", "aggregate"} & set(jobs), f"jobs: {jobs}")
    print(f"    jobs: {jobs}: the figures are redrawn from the pulled runs, nothing retrains")


def corrupted(origin: Path, workdir: Path, remote: Path, a: Path) -> None:
    print("clone C: a corrupted file in the remote")
    png = a / "paper_figures" / PAPER / f"{FIGURE}.png"
    md5 = hashlib.md5(png.read_bytes()).hexdigest()
    stored = remote / "files" / "md5" / md5[:2] / md5[2:]
    check(stored.is_file(), f"{stored} is not in the remote")
    stored.chmod(0o644)
    stored.write_bytes(b"not a png" + png.read_bytes()[9:])
    c = clone(origin, workdir / "c", remote)
    error = sh([*MAKE, "pull"], c, expect_ok=False)
    lines = [line for line in error.splitlines() if re.match(r"ERROR|make pull:", line)]
    check(lines, f"no error line from the corrupted pull:\n{error}")
    verbose = sh(["dvc", "pull", "-v"], c, expect_ok=False)
    corrupt = [line.split("DEBUG: ")[-1] for line in verbose.splitlines() if "corrupted" in line]
    check(corrupt, f"dvc pull -v does not name the corrupted file:\n{verbose[-2000:]}")
    print("    make pull fails:\n      " + "\n      ".join(lines + corrupt[:1]))
    pulled = c / png.relative_to(a)
    check(not pulled.exists(), "the corrupted file was checked out")
    # what verify = true is for: without it (DVC's default) the same pull checks out bad bytes
    d = clone(origin, workdir / "d", remote)
    sh(["dvc", "remote", "modify", "--local", "local", "verify", "false"], d)
    sh(["dvc", "pull", "--quiet"], d, expect_ok=None)
    target = d / png.relative_to(a)
    bad = target.exists() and target.read_bytes() != png.read_bytes()
    print(f"    with verify = false, the same dvc pull checks out bad bytes: {bad}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="repro-dvc-"))
    remote = workdir / "remote"
    # DVC's state and index databases of the clones go away with them (not in /var/tmp/dvc)
    os.environ["DVC_SITE_CACHE_DIR"] = str(workdir / "dvc-site-cache")
    try:
        origin = snapshot(workdir)
        a = author(origin, workdir, remote)
        push(a, len(claims_of(a)))
        collaborator(origin, workdir, remote, a)
        code_moved_on(origin, workdir, remote)
        corrupted(origin, workdir, remote, a)
    except Failed as failure:
        print(f"test-dvc: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"test-dvc: passed in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
