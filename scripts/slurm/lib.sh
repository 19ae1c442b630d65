# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this
# Shared by up.sh, down.sh and test.sh (sourced, not run): where the test cluster keeps its
# files, and how to tell the daemons it started from anything else on the machine.
#
# A daemon counts as ours when /run/repro-slurm/NAME.pid names a live process called NAME:
# pid files go stale after a crash or a reboot, and a recycled PID runs another program.

RUN_DIR=/run/repro-slurm              # pid files of the daemons we started, the cluster mode
STATE_DIR=/var/lib/repro-slurm        # slurmctld state, slurmd spool
LOG_DIR=/var/log/repro-slurm          # every daemon's log
SLURM_CONF=/etc/slurm/slurm.conf      # the default path: srun inside jobs finds it without env
SLURMDBD_CONF=/etc/slurm/slurmdbd.conf
MARKER="# written by repro scripts/slurm/up.sh"  # first line of the files we own

# every daemon, in start order; down.sh stops them in reverse
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
declare -A PORT=([mariadbd]=3306 [slurmdbd]=6819 [slurmctld]=6817 [slurmd]=6818)

say() { printf '[slurm %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root: it installs Debian packages and starts the SLURM, \
munge and MariaDB daemons. Run it as root (CI containers are), e.g. sudo make test-slurm."
}

# pid of our daemon NAME if it runs, else nothing (exit 1)
our_pid() {
  local name=$1 pid
  [ -s "$RUN_DIR/$name.pid" ] || return 1
  pid=$(cat "$RUN_DIR/$name.pid")
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  # a killed daemon stays a zombie until PID 1 reaps it: that is stopped, not running
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  echo "$pid"
}

# names of our daemons that run now, in start order
running_ours() {
  local name
  for name in "${DAEMONS[@]}"; do
    our_pid "$name" >/dev/null && printf '%s\n' "$name"
  done
  return 0
}

# "slurmctld (pid 123)" for whatever listens on TCP port $1, or nothing
port_owner() {
  ss -Hltnp "sport = :$1" 2>/dev/null |
    sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1
}

port_taken() {
  [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# wait up to $1 seconds for the command in "$@" (after $1) to succeed
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# exit 0 when process $1 has ended (a zombie counts: PID 1 reaps killed daemons late)
gone() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$state" ] || [ "$state" = Z ]
}

# stop our daemon NAME (SIGTERM, SIGKILL after 20 s) and forget its pid file
stop_daemon() {
  local name=$1 pid
  if pid=$(our_pid "$name"); then
    kill "$pid" 2>/dev/null || true
    wait_for 20 gone "$pid" || kill -9 "$pid" 2>/dev/null || true
    say "stopped $name (pid $pid)"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

queue_empty() {
  [ -z "$(squeue -h -o %i 2>/dev/null)" ]
}

# cancel every job of our cluster and wait until SLURM has cleaned them up: stopping slurmd
# first would leave the jobs' processes running on their own
cancel_all_jobs() {
  our_pid slurmctld >/dev/null || return 0
  queue_empty && return 0
  say "cancelling the jobs still in the queue"
  squeue -h -o %i | xargs -r scancel || true
  wait_for 45 queue_empty || say "jobs still listed after 45 s: $(squeue -h -o '%i %T' | xargs)"
}
