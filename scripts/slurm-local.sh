#!/usr/bin/env bash
# A single-node Slurm cluster on this Debian 12 machine, for sweeps (issue 15) and CI: no systemd, no cgroups.
#   scripts/slurm-local.sh install   # Debian's slurmctld, slurmd, slurm-client and munge (apt-get)
#   scripts/slurm-local.sh start     # munge key, slurm.conf for this host's name and CPUs, munged, slurmctld, slurmd
#   scripts/slurm-local.sh check     # sinfo shows the node idle and a one-task array runs
#   scripts/slurm-local.sh stop
set -euo pipefail

CONF=/etc/slurm/slurm.conf
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGS=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install() {
    if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    # The packages' scripts would start the daemons before a slurm.conf exists (and fail the install where there is no
    # init system, as in a container): a policy-rc.d that says no, for the install only, unless the machine has one.
    local policy=/usr/sbin/policy-rc.d added=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 0755 "$policy"
        added=1
    fi
    as_root apt-get update -q
    local status=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        slurmctld slurmd slurm-client munge || status=$?
    if [ -n "$added" ]; then as_root rm -f "$policy"; fi
    return "$status"
}

# Whether the daemon whose pid file is $1 runs.
running() { [ -s "$1" ] && as_root kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
    install
    local host cpus memory
    host=$(hostname -s)
    cpus=$(nproc)
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
    as_root mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge "$STATE" "$SPOOL" "$LOGS" /etc/slurm
    as_root chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
    if [ ! -s /etc/munge/munge.key ]; then as_root mungekey --create --keyfile=/etc/munge/munge.key; fi
    as_root chown munge:munge /etc/munge/munge.key
    as_root chmod 0400 /etc/munge/munge.key
    local previous=""
    if [ -f "$CONF" ]; then previous=$(cat "$CONF"); fi
    as_root tee "$CONF" >/dev/null <<CONF
ClusterName=lgc-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Schedule at every second's check after a task ends, not after 3 s (the default): a sweep's next tasks start sooner.
SchedulerParameters=batch_sched_delay=0
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ReturnToService=2
MaxArraySize=10001
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    running "$MUNGE_PID" || as_root runuser -u munge -- /usr/sbin/munged
    if running "$CTLD_PID"; then
        # Already up: a changed slurm.conf (another host name, CPUs, settings) is read again.
        if [ "$previous" != "$(cat "$CONF")" ]; then as_root scontrol reconfigure; fi
    else
        as_root /usr/sbin/slurmctld
    fi
    running "$SLURMD_PID" || as_root /usr/sbin/slurmd
    for _ in $(seq 1 50); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then return; fi
        sleep 0.2
    done
    echo "slurm-local: the node did not come up idle; see $LOGS" >&2
    sinfo >&2 || true
    return 1
}

check() {
    sinfo
    local folder job
    folder=$(mktemp -d)
    job=$(sbatch --parsable --array=0-1 --output="$folder/%a.out" --wrap 'echo task $SLURM_ARRAY_TASK_ID')
    for _ in $(seq 1 100); do
        if [ -s "$folder/0.out" ] && [ -s "$folder/1.out" ] && ! squeue -h -j "$job" 2>/dev/null | grep -q .; then
            cat "$folder"/*.out
            rm -rf "$folder"
            return
        fi
        sleep 0.2
    done
    echo "slurm-local: job array $job did not finish" >&2
    return 1
}

# Each daemon by the pid in its pid file (never by name: other Slurm or munge processes on the machine stay).
stop() {
    local file pid
    for file in "$SLURMD_PID" "$CTLD_PID" "$MUNGE_PID"; do
        running "$file" || continue
        pid=$(cat "$file")
        as_root kill "$pid" || true
        for _ in $(seq 1 50); do
            as_root kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    done
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    check) check ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|check|stop" >&2; exit 2 ;;
esac
