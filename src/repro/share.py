"""`make pull` and `make push`: share runs and figures through DVC without retraining.

Snakemake schedules and writes every output; DVC only records them (dvc.lock), stores them in
its cache and a remote, and restores them. Both work at the scale in config/config.yaml.

pull: `dvc pull`, then `snakemake --touch`. DVC restores content, not mtimes: pulled files get
the time of the checkout, in no useful order, and a fresh clone has no .snakemake/ records, so
Snakemake would judge outputs by mtime alone and retrain. `--touch` rewrites the mtimes in DAG
order, but it also silences Snakemake for good (no records, so no params or code trigger can
fire). So a stage's target is touched only when `dvc status` finds that stage and every stage
upstream of it unchanged since dvc.lock. A stage whose code or config changed since the push is
left alone, and Snakemake rebuilds it from what arrived (the figures from the pulled runs).

push: refuse while any output of the DAG is missing or out of date (`snakemake --summary`), so
dvc.lock never records a partial or stale result; then `dvc commit` (records what Snakemake made
into dvc.lock and the cache; a no-op after `dvc repro`) and `dvc push`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


class ShareError(Exception):
    """A one-line reason why pull or push stopped."""


def run(command: list[str], capture: bool = False) -> subprocess.CompletedProcess:
    print("+ " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=capture, text=True)
    if result.returncode != 0:
        if capture:
            sys.stderr.write(result.stdout + result.stderr)
        raise ShareError(f"`{' '.join(command)}` failed (exit {result.returncode})")
    return result


def dvc_changes() -> dict:
    """`dvc status` as {stage: [changes]}; {} when the workspace matches dvc.lock."""
    return json.loads(run(["dvc", "status", "--json"], capture=True).stdout or "{}")


def snakemake_target(name: str, cmd: str) -> str:
    """The target of a stage's `snakemake --cores all TARGET ...` (the convention of dvc.yaml)."""
    match = re.match(r"snakemake --cores all ([^\s-]\S*)", cmd or "")
    if not match:
        raise ShareError(f"dvc.yaml: stage {name}: cmd must start 'snakemake --cores all TARGET'")
    return match[1]


def dvc_stages() -> list[tuple[str, str, set[str]]]:
    """(stage, its Snakemake target, the stages upstream of it) for every stage of dvc.yaml."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo() as repo:
        graph = repo.index.graph  # an edge runs from a stage to a stage it depends on
        return [
            (
                stage.addressing,
                snakemake_target(stage.addressing, stage.cmd),
                {upstream.addressing for upstream in nx.descendants(graph, stage)},
            )
            for stage in repo.index.stages
            if stage.cmd  # a `dvc add` file has no command, and nothing for Snakemake
        ]


def pull() -> None:
    if not Path("dvc.lock").exists():
        raise ShareError("no dvc.lock: nothing has been pushed from this commit (see make push)")
    try:
        run(["dvc", "pull"])
    except ShareError as error:
        raise ShareError(
            f"{error}: a file is missing from the remote or fails its hash check (`dvc pull -v` "
            "says 'corrupted'); `make push` from a clone that has it puts it back"
        ) from None
    changed = set(dvc_changes())
    stages = dvc_stages()
    fresh = [(name, target) for name, target, up in stages if not ({name} | up) & changed]
    if fresh:
        # targets first: --quiet would take them as its own values
        run(["snakemake", *[t for _, t in fresh], "--cores", "1", "--touch", "--quiet"])
    stale = sorted({name for name, _, _ in stages} - {name for name, _ in fresh})
    if stale:
        raise ShareError(
            f"pulled, but {', '.join(stale)} differ from dvc.lock (or sit downstream of a stage "
            "that does; see `dvc status`): their outputs were not marked up to date, so "
            "Snakemake will rebuild them"
        )
    print("make pull: every output matches dvc.lock and is up to date for Snakemake")


def not_up_to_date(summary: str) -> list[tuple[str, str]]:
    """(file, why) for each output of `snakemake --summary` that is not 'ok' and 'no update'.
    Not `snakemake -n`: it does not rebuild a missing file whose downstream files exist, so it
    says "Nothing to be done" with a figure or a final.pt missing."""
    lines = summary.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("output_file\t")), None)
    if start is None:
        raise ShareError("snakemake --summary printed no table")
    # columns: output_file, date, rule, log-file(s), status, plan
    rows = [(line.split("\t") + [""] * 6)[:6] for line in lines[start + 1 :] if line.strip()]
    return [
        (row[0], row[4] if row[4] != "ok" else row[5])
        for row in rows
        if (row[4], row[5]) != ("ok", "no update")
    ]


def push() -> None:
    pending = not_up_to_date(run(["snakemake", "--summary"], capture=True).stdout)
    if pending:
        path, why = pending[0]
        raise ShareError(
            f"{len(pending)} outputs are not up to date at the scale in config/config.yaml "
            f"(e.g. {path}: {why}): finish the run first (`snakemake --cores all`; it rebuilds "
            "a missing file whose downstream files exist only when named: `... --cores all PATH`)"
        )
    run(["dvc", "commit", "--force", "--quiet"])
    run(["dvc", "push"])
    print("make push: pushed; now commit dvc.lock and metrics/ with git so others can pull")


def add_parser(commands) -> None:
    """`python -m repro share {pull,push}` (what make pull / make push run)."""
    share = commands.add_parser("share", help="make pull / make push: dvc pull+touch, dvc push")
    share.add_argument("action", choices=["pull", "push"])
    share.set_defaults(func=main)


def main(args) -> int:
    try:
        {"pull": pull, "push": push}[args.action]()
    except ShareError as error:
        print(f"make {args.action}: {error}", file=sys.stderr)
        return 1
    return 0
