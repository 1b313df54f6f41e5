#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine, as root: munged,
# slurmctld and slurmd on localhost, one partition `local` holding every CPU
# of the machine. For trying `dlp run --executor slurm` and for the
# integration test in CI; not a production configuration (no accounting
# database, no cgroups: proctrack/linuxproc, task/none).
#
#   apt-get install -y --no-install-recommends slurm-wlm munge   # Debian 12: Slurm 22.05
#   scripts/slurm-local.sh          # start (or confirm it is up); prints the partition
#   scripts/slurm-local.sh stop     # stop the daemons this script started
#
# It writes /etc/slurm/slurm.conf, and refuses to replace one it did not
# write. State and logs go under /var/spool/slurm-local and /var/log/slurm-local.
set -euo pipefail
shopt -s extglob

MARK="# written by dlp scripts/slurm-local.sh"
CONF=/etc/slurm/slurm.conf
SPOOL=/var/spool/slurm-local
LOGS=/var/log/slurm-local

die() { echo "slurm-local.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the daemons need it)"
for b in munged munge slurmctld slurmd sinfo scontrol; do
  command -v "$b" >/dev/null ||
    die "$b is missing: apt-get install -y --no-install-recommends slurm-wlm munge"
done

pidof_file() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

if [ "${1:-start}" = stop ]; then
  for f in "$SPOOL/slurmd.pid" "$SPOOL/slurmctld.pid" "$SPOOL/munged.pid"; do
    if pid=$(pidof_file "$f"); then kill "$pid"; fi
  done
  exit 0
fi
[ "${1:-start}" = start ] || die "usage: slurm-local.sh [start|stop]"

if [ -f "$CONF" ] && ! grep -qxF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script: not replacing it"
fi

host=$(hostname -s)
# The node line as slurmd sees the hardware (CPUs, sockets, cores, threads).
node=$(slurmd -C | head -n 1)
case "$node" in NodeName=*) ;; *) die "slurmd -C gave no node line: $node" ;; esac
node="${node#NodeName=* } "
node="${node/RealMemory=*([0-9]) /}"

mkdir -p "$SPOOL/ctld" "$SPOOL/d" "$LOGS" /etc/slurm
cat > "$CONF.tmp" <<CONF
$MARK
ClusterName=dlp-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$SPOOL/slurmctld.pid
SlurmdPidFile=$SPOOL/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# Finished jobs stay visible to squeue for 10 minutes (there is no sacct
# without an accounting database).
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 ${node% } State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mv "$CONF.tmp" "$CONF"

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  [ -f /etc/munge/munge.key ] || { mungekey --create; chown munge:munge /etc/munge/munge.key; }
  runuser -u munge -- munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$SPOOL/munged.pid" 2>/dev/null || true
fi

if ! pidof_file "$SPOOL/slurmctld.pid" >/dev/null; then slurmctld -c; fi
if ! pidof_file "$SPOOL/slurmd.pid" >/dev/null; then slurmd; fi

for _ in $(seq 60); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  case "$state" in
    idle* | mixed* | allocated*) echo "slurm-local: partition local, node $host ($state)"; exit 0 ;;
    down* | drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
  esac
  sleep 1
done
die "the node did not come up within 60 s (state: ${state:-none}); see $LOGS/"
