"""Command line: python -m repro COMMAND --help, COMMAND one of plan, train, train-bundle,
aggregate, figure, claims, report, fetch, metrics, curves, share, mask."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from repro.config import ConfigError


def cmd_plan(args) -> None:
    from repro.plan import plan_paper

    for run in plan_paper(args.paper, args.scale):
        print(json.dumps(run.config.to_dict(), sort_keys=True) if args.json else run.outdir)


def cmd_train(args) -> int:
    from repro.config import load_run_config
    from repro.plan import find_run
    from repro.train import Interrupted, train

    if args.config:
        config = load_run_config(args.config)
    elif args.run:
        parts = args.run.split("/")
        if len(parts) != 3:
            raise ConfigError(f"--run: {args.run!r}; expected PAPER/EXPERIMENT/RUN_ID")
        overrides = {"train": {"device": args.device}} if args.device else None
        config = find_run(parts[0], args.scale, parts[1], parts[2], overrides)
    else:
        raise ConfigError("train: give --config FILE or --run PAPER/EXPERIMENT/RUN_ID")
    try:
        status = train(config, args.outdir, threads=args.threads)
    except Interrupted as interrupted:
        print(f"repro train: {interrupted}", file=sys.stderr)
        return interrupted.exit_code
    print(f"{config.run_id}: {status}")
    return 0


def cmd_train_bundle(args) -> int:
    from repro.batched import train_bundle
    from repro.bundles import Bundle
    from repro.plan import PlannedRun, find_run
    from repro.train import Interrupted

    overrides = {"train": {"device": args.device}} if args.device else None
    runs = []
    for name in args.runs:
        parts = name.split("/")
        if len(parts) != 3:
            raise ConfigError(f"train-bundle: {name!r}; expected PAPER/EXPERIMENT/RUN_ID")
        config = find_run(parts[0], args.scale, parts[1], parts[2], overrides)
        runs.append(PlannedRun(args.scale, config))
    papers = {(run.config.paper, run.config.experiment) for run in runs}
    if len(papers) != 1:
        raise ConfigError("train-bundle: the runs of a bundle belong to one paper and experiment")
    paper, experiment = papers.pop()
    bundle = Bundle(args.scale, paper, experiment, tuple(runs))
    configs = [run.config for run in runs]
    outdirs = [run.outdir for run in runs]
    try:
        statuses = train_bundle(
            configs, outdirs, args.state_dir or bundle.state_dir, threads=args.threads
        )
    except Interrupted as interrupted:
        print(f"repro train-bundle: {interrupted}", file=sys.stderr)
        return interrupted.exit_code
    for config, status in zip(configs, statuses, strict=True):
        print(f"{config.run_id}: {status}")
    return 0


def cmd_aggregate(args) -> None:
    from repro.aggregate import aggregate

    aggregate([Path(d) for d in args.run_dirs], Path(args.out_dir))


def cmd_figure(args) -> None:
    from repro.papers import draw

    for claim in draw(args.paper, args.figure, args.scale, Path(args.results), Path(args.out_dir)):
        print(f"[{claim.verdict}] {claim.statement}")


def cmd_claims(args) -> None:
    from repro.papers import merge_claims

    merge_claims(args.paper, args.scale, [Path(p) for p in args.figure_claims], Path(args.out))


def cmd_report(args) -> None:
    from repro.report import build

    build([Path(p) for p in args.claims], Path(args.out))
    print(f"wrote {args.out}")


def cmd_fetch(args) -> int:
    from repro.data import DOWNLOADABLE
    from repro.data.fetch import FetchError

    options = {"root": args.root, "mirrors": args.mirror or None}
    options.update(retries=args.retries, backoff=args.backoff)
    if args.source:
        if args.dataset != "imdb":
            raise ConfigError(f"fetch {args.dataset}: --source applies to imdb only")
        options["source"] = args.source
    try:
        for path in DOWNLOADABLE[args.dataset].download(**options):
            print(path)
    except FetchError as error:
        print(f"fetch error: {error}", file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m repro",
        description=(
            "Replication pipeline for papers on training dynamics. Snakemake calls these "
            "commands; each also runs by hand."
        ),
    )
    commands = root.add_subparsers(dest="command", required=True)
    scales = ["smoke", "laptop", "paper"]

    plan = commands.add_parser("plan", help="list the runs of a paper at a scale")
    plan.add_argument("paper")
    plan.add_argument("--scale", default="laptop", choices=scales)
    plan.add_argument("--json", action="store_true", help="print full run configs as JSON lines")
    plan.set_defaults(func=cmd_plan)

    train = commands.add_parser("train", help="train one run into OUTDIR (resumes if possible)")
    train.add_argument("outdir", help="run folder: config.json, metrics.parquet, final.pt, ...")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--config", help="a JSON run config")
    source.add_argument("--run", help="a planned run, PAPER/EXPERIMENT/RUN_ID")
    train.add_argument("--scale", default="laptop", choices=scales, help="scale of --run")
    train.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the device")
    train.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    train.set_defaults(func=cmd_train)

    bundle = commands.add_parser(
        "train-bundle",
        help="train planned runs that share shapes in one process, each into its own folder",
    )
    bundle.add_argument("runs", nargs="+", help="PAPER/EXPERIMENT/RUN_ID of each run")
    bundle.add_argument("--scale", default="laptop", choices=scales)
    bundle.add_argument("--device", choices=["cpu", "cuda", "auto"], help="override the device")
    bundle.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    bundle.add_argument(
        "--state-dir",
        help="stacked checkpoints (default results/SCALE/PAPER/EXPERIMENT/bundles/bundle_RUN1)",
    )
    bundle.set_defaults(func=cmd_train_bundle)

    aggregate = commands.add_parser("aggregate", help="gather runs into curves/summary.parquet")
    aggregate.add_argument("out_dir")
    aggregate.add_argument("run_dirs", nargs="+")
    aggregate.set_defaults(func=cmd_aggregate)

    figure = commands.add_parser("figure", help="draw one figure, its table and its claims")
    figure.add_argument("paper")
    figure.add_argument("figure")
    figure.add_argument("--scale", default="laptop", choices=scales)
    figure.add_argument("--results", required=True, help="results/<scale>/<paper>")
    figure.add_argument("--out-dir", required=True, help="paper_figures/<paper>")
    figure.set_defaults(func=cmd_figure)

    claims = commands.add_parser("claims", help="merge a paper's figure claims into claims.json")
    claims.add_argument("paper")
    claims.add_argument("--scale", default="laptop", choices=scales)
    claims.add_argument("--out", required=True)
    claims.add_argument("figure_claims", nargs="+")
    claims.set_defaults(func=cmd_claims)

    report = commands.add_parser("report", help="write paper_figures/REPORT.md")
    report.add_argument("--out", default="paper_figures/REPORT.md")
    report.add_argument("claims", nargs="+", help="each paper's claims.json")
    report.set_defaults(func=cmd_report)
    fetch = commands.add_parser(
        "fetch", help="download a dataset's files into data/ and verify their checksums"
    )
    fetch.add_argument("dataset", choices=["imdb", "mnist", "qm9"])
    fetch.add_argument("--source", help="imdb only: csv (default) or aclimdb")
    fetch.add_argument("--root", help="data folder (default: $REPRO_DATA_DIR or data/)")
    fetch.add_argument(
        "--mirror",
        action="append",
        help="a mirror to try, in order (repeatable); default: $REPRO_<DATASET>_MIRRORS, "
        "else the dataset module's list. A URL ending in / is a folder holding the files",
    )
    fetch.add_argument("--retries", type=int, default=3, help="retries per URL (default 3)")
    fetch.add_argument(
        "--backoff", type=float, default=2.0, help="seconds before the first retry, doubling"
    )
    fetch.set_defaults(func=cmd_fetch)
    # the DVC-facing commands: dvc.yaml's metrics and plots, and make pull / make push
    from repro import dvc_views, masks, share

    dvc_views.add_parsers(commands)
    share.add_parser(commands)
    masks.add_parser(commands)  # Grokking Tickets: masks and norm-matched starts
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
