#!/usr/bin/env bash
# `make test-slurm`: bring up the one-node SLURM cluster (up.sh), run tests/slurm against it,
# and stop the daemons this run started, on success, failure or Ctrl-C alike. Daemons that were
# already up before (a cluster started by hand with up.sh) are left running.
# Safe to run twice: a second run at the same time stops at the lock.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
need_root "make test-slurm"
[ -x .venv/bin/pytest ] && export PATH="$PWD/.venv/bin:$PATH"

mkdir -p "$RUN_DIR"
exec 9>"$RUN_DIR/test.lock"
flock -n 9 || die "another make test-slurm is running (it holds $RUN_DIR/test.lock)"

before=" $(running_ours | xargs) "
start=$SECONDS
up_s=0 tests_s=0
cleanup() {
  local rc=$? stop=() name
  trap - EXIT INT TERM
  local t=$SECONDS
  for name in $(running_ours); do
    [[ "$before" == *" $name "* ]] || stop+=("$name")
  done
  if [ ${#stop[@]} -gt 0 ]; then
    scripts/slurm/down.sh "${stop[@]}" || rc=1
  fi
  say "make test-slurm: $([ $rc = 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s" \
    "(cluster up ${up_s} s, tests ${tests_s} s, cluster down $((SECONDS - t)) s)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t=$SECONDS
scripts/slurm/up.sh
up_s=$((SECONDS - t))

t=$SECONDS
# extra arguments go to pytest, e.g. `scripts/slurm/test.sh -k scancel`
REPRO_SLURM_TEST=1 pytest tests/slurm -v --durations=0 "$@" ||
  { tests_s=$((SECONDS - t)) && exit 1; }
tests_s=$((SECONDS - t))
