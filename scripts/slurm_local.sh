#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (Debian's slurm-wlm + munge), for trying sharded runs
# (`visbone run --shard`, issue #17) as Slurm job arrays. Needs root.
#
#   scripts/slurm_local.sh start [DIR]   installs slurm-wlm and munge if missing, writes DIR/slurm.conf (default
#                                        /tmp/visbone-slurm), starts munged, slurmctld and slurmd, waits until
#                                        the node is idle and prints the `export SLURM_CONF=...` line to use
#   scripts/slurm_local.sh stop [DIR]    stops the three daemons it started (by the PIDs they recorded)
#
# Then, for example (4 shards of the digits demo into one folder, merged):
#   export SLURM_CONF=/tmp/visbone-slurm/slurm.conf
#   sbatch --wait --array=0-3 --wrap "build/bin/visbone run configs/default.yaml --output out/sharded --progress none"
#   build/bin/visbone merge out/sharded
# Stop the cluster only once squeue is empty: the job steps of running jobs outlive the daemons.
# SLURM_LOCAL_PORT (default 6817, Slurm's own) sets slurmctld's port, slurmd takes the next one: a second
# cluster on other ports (and in another DIR) can run beside one already there.
set -euo pipefail
cmd=${1:-}
DIR=${2:-/tmp/visbone-slurm}
PORT=${SLURM_LOCAL_PORT:-6817}

start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
  fi
  mkdir -p "$DIR"/{state,spool,log,munge}
  chown munge:munge "$DIR/munge"
  if [ ! -f "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" 2>/dev/null
    chown munge:munge "$DIR/munge/munge.key"
    chmod 400 "$DIR/munge/munge.key"
  fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
  # Root runs everything; no accounting; processes tracked by their parent ids (no cgroups in containers).
  cat >"$DIR/slurm.conf" <<CONF
ClusterName=visbone
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  su -s /bin/sh munge -c "/usr/sbin/munged --socket=$DIR/munge/munge.socket --key-file=$DIR/munge/munge.key \
    --pid-file=$DIR/munge/munged.pid --log-file=$DIR/munge/munged.log --seed-file=$DIR/munge/munged.seed"
  export SLURM_CONF="$DIR/slurm.conf"
  /usr/sbin/slurmctld -f "$SLURM_CONF"
  /usr/sbin/slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep idle >/dev/null; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 1
  done
  echo "slurm_local.sh: the node did not become idle in 30 s; see $DIR/log" >&2
  return 1
}

stop() {
  local p pid pids=()
  for p in "$DIR/slurmd.pid" "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
    if [ -f "$p" ]; then
      pid=$(cat "$p")
      kill "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  # slurmctld saves its state as it goes down: wait (up to 10 s) so that DIR can be removed afterwards.
  local alive
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  echo "slurm_local.sh: the daemons did not stop within 10 s" >&2
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: scripts/slurm_local.sh start|stop [DIR]" >&2
    exit 2
    ;;
esac
