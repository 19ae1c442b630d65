#!/usr/bin/env bash
# Stop the daemons that scripts/slurm/up.sh started (all of them, or the ones named), after
# cancelling the jobs still queued, and remove the slurm.conf it wrote once no controller is
# left. A munged or MariaDB that was running before up.sh is never stopped: only daemons with a
# live pid file in /run/repro-slurm are ours.
#
#   scripts/slurm/down.sh                      # everything up.sh started
#   scripts/slurm/down.sh slurmd slurmctld     # only these
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root "scripts/slurm/down.sh"

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=("${DAEMONS[@]}")
fi
for name in "${names[@]}"; do
  [[ " ${DAEMONS[*]} " == *" $name "* ]] || die "unknown daemon $name (one of: ${DAEMONS[*]})"
done

# jobs first: with slurmd gone, their processes would keep running unsupervised
if [[ " ${names[*]} " == *" slurmd "* || " ${names[*]} " == *" slurmctld "* ]]; then
  cancel_all_jobs
fi
# reverse start order: slurmd, slurmctld, slurmdbd, mariadbd, munged
for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
  name=${DAEMONS[$i]}
  if [[ " ${names[*]} " == *" $name "* ]]; then
    stop_daemon "$name"
  fi
done
# With no controller left, take our slurm.conf away too: with it, every SLURM client command
# retries the absent slurmctld for ~9 s, and the Snakemake SLURM plugin runs `scontrol show
# config` whenever Snakemake starts, even for local runs (measured: snakemake -n 15 s vs 6 s).
if ! our_pid slurmctld >/dev/null && ! our_pid slurmd >/dev/null; then
  rm -f "$RUN_DIR/mode"
  if [ -e "$SLURM_CONF" ] && [[ "$(head -n 1 "$SLURM_CONF")" == "$MARKER"* ]]; then
    rm -f "$SLURM_CONF"
  fi
fi
exit 0
