#!/usr/bin/env bash
# Stop the daemons that scripts/slurm/up.sh started (all of them, or the ones named), after
# cancelling the jobs still queued. A munged or MariaDB that was running before up.sh is
# never stopped: only daemons with a live pid file in /run/repro-slurm are ours.
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
if [ -z "$(running_ours)" ]; then
  rm -f "$RUN_DIR/mode"
fi
exit 0
