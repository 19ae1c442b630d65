#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on this machine: Debian 12's SLURM 22.05 with munge,
# slurmctld and slurmd on localhost, plus slurmdbd and a local MariaDB so that `sacct` works
# (real clusters have accounting: the tests read the jobs back from sacct, and the Snakemake
# plugin polls with sacct unless told otherwise).
#
#   scripts/slurm/up.sh                   # with accounting (the default)
#   scripts/slurm/up.sh --no-accounting   # slurmctld without slurmdbd: sacct then only says
#                                         # "Slurm accounting storage is disabled"
#   scripts/slurm/down.sh                 # stop what these scripts started
#
# Root only; no systemd needed (the daemons are started by hand). Idempotent: it installs only
# missing packages, keeps the daemons it started before, and restarts slurmctld + slurmd when
# the mode changes. It reuses a running munged or MariaDB it did not start (and never stops
# those), and refuses to touch another SLURM: a slurm.conf it did not write, or a SLURM port
# held by a daemon it did not start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MODE=accounting
case "${1:-}" in
  "") ;;
  --no-accounting) MODE=none ;;
  *) die "usage: $0 [--no-accounting]" ;;
esac
need_root "scripts/slurm/up.sh"
command -v apt-get >/dev/null || die "no apt-get: these scripts set up Debian's SLURM packages"
mkdir -p "$RUN_DIR" "$STATE_DIR" "$LOG_DIR"

# 1. packages ---------------------------------------------------------------------------------
PACKAGES=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  # keep the packages' postinst from starting daemons on machines that would (we start them)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOG_DIR/apt.log" 2>&1 ||
    die "apt-get install failed; see $LOG_DIR/apt.log"
fi

# a SLURM port held by anything but our own daemon: say who holds it, then stop
check_port() {
  local name=$1 port=${PORT[$1]}
  port_taken "$port" || return 0
  die "port $port ($name) is taken by $(port_owner "$port" || true); these scripts did not \
start it. Stop it first: the test cluster needs ports 6817-6819 and 3306 on localhost."
}

# our own config files only: never overwrite a SLURM set-up we did not write
check_ours() {
  [ ! -e "$1" ] || [[ "$(head -n 1 "$1")" == "$MARKER"* ]] ||
    die "$1 exists and was not written by these scripts: another SLURM is set up here"
}
check_ours "$SLURM_CONF"
check_ours "$SLURMDBD_CONF"
# every port this call may need is free or held by our own daemon, before anything starts
for name in slurmdbd slurmctld slurmd; do
  [ "$MODE" = none ] && [ "$name" = slurmdbd ] && continue
  our_pid "$name" >/dev/null || check_port "$name"
done
if [ "$MODE" = accounting ] && ! mariadb-admin ping >/dev/null 2>&1; then
  check_port mariadbd
fi

# 2. munge: the daemons and commands authenticate each other with it --------------------------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running"
else
  [ -s /etc/munge/munge.key ] || mungekey --create --force # the package normally makes it
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged
  wait_for 10 bash -c 'munge -n | unmunge' || die "munged did not start; see /var/log/munge"
  cp /run/munge/munged.pid "$RUN_DIR/munged.pid"
  say "started munged (pid $(cat "$RUN_DIR/munged.pid"))"
fi

# 3. slurm.conf for this host -------------------------------------------------------------------
if [ "$MODE" = accounting ]; then
  ACCOUNTING="JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=${PORT[slurmdbd]}
# keep sbatch --comment (the plugin puts the rule and wildcards there) for sacct -o Comment
AccountingStoreFlags=job_comment"
else
  ACCOUNTING="JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none"
fi
MEM_MB=$(($(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 2048))
CONF="$MARKER (mode: $MODE)
# One node, named localhost whatever the hostname is; the default partition is \"debug\".
ClusterName=repro
SlurmctldHost=localhost
SlurmctldPort=${PORT[slurmctld]}
SlurmdPort=${PORT[slurmd]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# no cgroups needed: track job processes by parentage, no CPU binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
$ACCOUNTING
JobCompType=jobcomp/none
# finished jobs stay visible to squeue for 5 min: the plugin's squeue polling needs >= 120 s
MinJobAge=300
# a cancelled or preempted job gets SIGTERM, then SIGKILL this many seconds later
KillWait=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP"
mkdir -p /etc/slurm "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd"
if [ "$(cat "$SLURM_CONF" 2>/dev/null)" != "$CONF" ]; then
  if our_pid slurmctld >/dev/null || our_pid slurmd >/dev/null; then
    say "slurm.conf changes (mode $MODE): restarting slurmctld and slurmd"
    cancel_all_jobs
    stop_daemon slurmd
    stop_daemon slurmctld
  fi
  printf '%s\n' "$CONF" >"$SLURM_CONF"
fi

# 4. accounting: MariaDB and slurmdbd --------------------------------------------------------
if [ "$MODE" = accounting ]; then
  if mariadb-admin ping >/dev/null 2>&1; then
    say "MariaDB already running"
  else
    check_port mariadbd
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
      --pid-file=/run/mysqld/mysqld.pid >"$LOG_DIR/mariadb.log" 2>&1 </dev/null &
    wait_for 30 mariadb-admin ping || die "MariaDB did not start; see $LOG_DIR/mariadb.log"
    cp /run/mysqld/mysqld.pid "$RUN_DIR/mariadbd.pid"
    say "started MariaDB (pid $(cat "$RUN_DIR/mariadbd.pid"))"
  fi
  # the database password lives only in slurmdbd.conf (mode 600); made once, kept after
  PASSWORD=$(sed -n 's/^StoragePass=//p' "$SLURMDBD_CONF" 2>/dev/null || true)
  [ -n "$PASSWORD" ] || PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$PASSWORD';
    ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$PASSWORD';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  DBD_CONF="$MARKER
AuthType=auth/munge
DbdHost=localhost
DbdPort=${PORT[slurmdbd]}
SlurmUser=root
DebugLevel=info
LogFile=$LOG_DIR/slurmdbd.log
PidFile=$RUN_DIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=${PORT[mariadbd]}
StorageUser=slurm
StoragePass=$PASSWORD
StorageLoc=slurm_acct_db"
  (umask 077 && printf '%s\n' "$DBD_CONF" >"$SLURMDBD_CONF") # slurmdbd refuses it readable
  chmod 600 "$SLURMDBD_CONF"
  if our_pid slurmdbd >/dev/null; then
    say "slurmdbd already running"
  else
    check_port slurmdbd
    /usr/sbin/slurmdbd
    wait_for 30 port_taken "${PORT[slurmdbd]}" ||
      die "slurmdbd did not start; see $LOG_DIR/slurmdbd.log"
    say "started slurmdbd (pid $(cat "$RUN_DIR/slurmdbd.pid"))"
  fi
fi

# 5. slurmctld and slurmd ---------------------------------------------------------------------
if our_pid slurmctld >/dev/null; then
  say "slurmctld already running"
else
  check_port slurmctld
  # -c: start with an empty queue, whatever an earlier cluster left in its state files
  /usr/sbin/slurmctld -c
  wait_for 30 scontrol ping || die "slurmctld did not start; see $LOG_DIR/slurmctld.log"
  say "started slurmctld (pid $(cat "$RUN_DIR/slurmctld.pid"))"
fi
printf '%s\n' "$MODE" >"$RUN_DIR/mode"
if our_pid slurmd >/dev/null; then
  say "slurmd already running"
else
  check_port slurmd
  # -N: the node's name in slurm.conf, whatever `hostname` says
  /usr/sbin/slurmd -N localhost
  say "started slurmd (pid $(cat "$RUN_DIR/slurmd.pid" 2>/dev/null || echo ?))"
fi
# idle on a fresh cluster; mixed or allocated when up.sh finds jobs running on it
node_ready() { sinfo -h -N -o %T | grep -qxE 'idle|mixed|allocated'; }
wait_for 60 node_ready || die "the node is not idle after 60 s: $(sinfo -h -N -o '%N %T %E'); \
see $LOG_DIR/slurmd.log and slurmctld.log"
if [ "$MODE" = accounting ]; then
  # slurmctld registers the cluster with slurmdbd; jobs are accounted once it is known there
  cluster_known() { sacctmgr -n -P show cluster format=cluster | grep -qx repro; }
  wait_for 30 cluster_known || die "the cluster is not registered in slurmdbd; see \
$LOG_DIR/slurmdbd.log"
fi
say "cluster up ($([ "$MODE" = none ] && echo "no ")accounting):" \
  "$(sinfo -h -o 'partition %P, %D node %T, %c CPUs, %m MB')"
