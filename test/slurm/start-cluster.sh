#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine for etok's fleet tests: munged, slurmctld and slurmd on loopback,
# all state, sockets, logs and pid files in one directory (default /tmp/etok-slurm, or $ETOK_SLURM_DIR, or $1).
# Needs root and Debian's slurm-wlm + munge (apt-get install -y slurm-wlm munge). Idempotent: when the cluster in
# that directory already answers, it says so and exits 0. Every wait is bounded. On success the last line is
# `started DIR` or `already running DIR`; clients reach the cluster with SLURM_CONF=DIR/slurm.conf (also written to
# DIR/env.sh). On failure it stops what it started, prints one line saying why, and exits 1.
# Stop it with test/slurm/stop-cluster.sh (same directory).
set -euo pipefail

DIR="${1:-${ETOK_SLURM_DIR:-/tmp/etok-slurm}}"
CTLD_PORT="${ETOK_SLURM_CTLD_PORT:-16817}"
SLURMD_PORT="${ETOK_SLURM_SLURMD_PORT:-16818}"
HERE="$(cd "$(dirname "$0")" && pwd)"

fail() {
  echo "start-cluster: $*" >&2
  "$HERE/stop-cluster.sh" "$DIR" >/dev/null 2>&1 || true
  exit 1
}

for cmd in munged munge unmunge slurmctld slurmd sinfo sbatch squeue scontrol; do
  command -v "$cmd" >/dev/null || { echo "start-cluster: $cmd is not installed (apt-get install -y slurm-wlm munge)" >&2; exit 1; }
done
[[ "$(id -u)" == 0 ]] || { echo "start-cluster: needs root (slurmd starts jobs as their user)" >&2; exit 1; }

export SLURM_CONF="$DIR/slurm.conf"
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if alive "$DIR/munge/munged.pid" && alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid" &&
  timeout 10 sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "already running $DIR"
  exit 0
fi
# Anything half-started in this directory goes first, so a retry starts clean.
"$HERE/stop-cluster.sh" "$DIR" >/dev/null 2>&1 || true

mkdir -p "$DIR"/{munge,state,spool,log,jobs}
chmod 755 "$DIR"
chmod 700 "$DIR/munge"
# The daemons carry this marker in their environment (and pass it to the jobs they start), so stop-cluster.sh can
# end exactly them, by process id.
marked() { env ETOK_SLURM_CLUSTER="$DIR" "$@"; }

dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$DIR/munge/munge.key"
marked munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
  --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" ||
  fail "munged did not start (see $DIR/munge/munged.log)"
for _ in $(seq 50); do [[ -S "$DIR/munge/munge.socket" ]] && break; sleep 0.1; done
munge -S "$DIR/munge/munge.socket" -n | unmunge -S "$DIR/munge/munge.socket" >/dev/null 2>&1 ||
  fail "munge cannot encode and decode a credential (see $DIR/munge/munged.log)"

NODE="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)"
cat >"$SLURM_CONF" <<CONF
# One-node test cluster written by etok's test/slurm/start-cluster.sh; nothing here is meant for production.
ClusterName=etoktest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# No cgroups (containers and sandboxes rarely delegate them): track processes through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: sacct says accounting is disabled, and etok fleet status falls back to squeue and the files.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
# Finished jobs stay visible to squeue for 10 minutes.
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=60 State=UP
CONF
echo "export SLURM_CONF=$SLURM_CONF" >"$DIR/env.sh"

marked slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start (see $DIR/log/slurmctld.log)"
marked slurmd -f "$SLURM_CONF" -N "$NODE" || fail "slurmd did not start (see $DIR/log/slurmd.log)"

# Bounded wait (30 s) for the node to come up idle.
state=""
for _ in $(seq 60); do
  state="$(timeout 5 sinfo -h -N -o %T 2>/dev/null | head -n1 || true)"
  [[ "$state" == idle* ]] && break
  if [[ "$state" == down* || "$state" == drain* ]]; then
    timeout 5 scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
  fi
  sleep 0.5
done
[[ "$state" == idle* ]] ||
  fail "node $NODE did not come up (state '${state:-no answer}'; see $DIR/log/slurmctld.log and slurmd.log)"
echo "started $DIR"
