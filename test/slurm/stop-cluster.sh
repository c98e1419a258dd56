#!/usr/bin/env bash
# Stops the test cluster that start-cluster.sh started in DIR (default /tmp/etok-slurm, or $ETOK_SLURM_DIR, or $1):
# cancels its jobs, ends its daemons and every process that carries its marker (jobs' steps and their children),
# each by process id, then removes DIR. Idempotent: a directory with nothing running is just removed. Bounded waits.
set -uo pipefail

DIR="${1:-${ETOK_SLURM_DIR:-/tmp/etok-slurm}}"
[[ -d "$DIR" ]] || exit 0
# Refuse anything that does not look like our directory, since it is removed at the end.
if [[ -e "$DIR/slurm.conf" ]] && ! grep -q 'start-cluster.sh' "$DIR/slurm.conf"; then
  echo "stop-cluster: $DIR/slurm.conf was not written by start-cluster.sh; leaving it alone" >&2
  exit 1
fi
export SLURM_CONF="$DIR/slurm.conf"
if [[ -f "$DIR/slurmctld.pid" ]] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
  timeout 10 scancel --full --quiet --user=root >/dev/null 2>&1 || true
fi

# Processes started by start-cluster.sh (and the jobs they ran) carry ETOK_SLURM_CLUSTER=DIR in their environment.
marked() {
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid="${env#/proc/}"
    pid="${pid%/environ}"
    [[ "$pid" == "$$" ]] && continue
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qxF "ETOK_SLURM_CLUSTER=$DIR"; then echo "$pid"; fi
  done
}

pids=()
for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
  [[ -f "$f" ]] && pids+=("$(cat "$f")")
done
pids+=($(marked))
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
# Up to 10 s for them to go, then SIGKILL whatever is left.
for _ in $(seq 20); do
  left=()
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
  [[ ${#left[@]} -eq 0 ]] && break
  sleep 0.5
done
for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
for pid in $(marked); do kill -KILL "$pid" 2>/dev/null || true; done
sleep 0.2
rm -rf "$DIR"
echo "stopped $DIR"
