#!/usr/bin/env bash
# Runs a throw-away single-node Slurm cluster on this machine for icmbench's tests.
#
#   scripts/slurm-local.sh install   apt-get install slurm-wlm + munge (only when missing), munge key
#   scripts/slurm-local.sh start     write the config, start munged, slurmctld and slurmd, wait until
#                                    the node is idle (already running: says so and exits 0)
#   scripts/slurm-local.sh stop      cancel queued/running jobs, stop exactly the daemons `start`
#                                    started (by the PIDs in their pid files); harmless when none run
#   scripts/slurm-local.sh status    exit 0 only when sinfo answers with an idle/mixed/allocated node
#   scripts/slurm-local.sh logs      last lines of the daemons' logs (SLURM_LOCAL_LOG_LINES, default 50)
#   scripts/slurm-local.sh env       prints `export SLURM_CONF=...`; use: eval "$(scripts/slurm-local.sh env)"
#
# Everything lives in ${ICMBENCH_SLURM_DIR:-$HOME/.cache/icmbench-slurm} (config slurm.conf, state/,
# spool/, log/, pid files); /etc/slurm is not touched: the daemons get the config with `-f` and the
# clients (sinfo, sbatch, squeue, scancel, scontrol) with SLURM_CONF. Every start begins with an empty
# state/ and spool/, so job IDs restart at 1 and no job survives a restart.
#
# Optional settings: ICMBENCH_SLURM_CTLD_PORT (6817) and ICMBENCH_SLURM_D_PORT (6818) for the daemons'
# ports, ICMBENCH_SLURM_START_TIMEOUT (60) seconds to wait for the node to become idle,
# ICMBENCH_SLURM_KILL_WAIT (30, Slurm's default) seconds between the SIGTERM and the SIGKILL that
# scancel sends; the single node stays COMPLETING (starts nothing new) until the job's processes end.
# ICMBENCH_SLURM_SCHED_PARAMS (batch_sched_delay=0,sched_min_interval=0): SchedulerParameters; the
# default starts queued jobs as soon as CPUs free up instead of up to 3 s later (set it empty for
# Slurm's own defaults).
#
# Known to work with Debian 12's Slurm 22.05.8 and munge 0.5.15. The daemons run as root
# (SlurmUser=root), so install/start/stop need root; run as another user they re-run through sudo.
# No accounting is configured: `sacct` does not work; use `squeue` and `scontrol show job` (a finished
# job stays visible there for MinJobAge, 300 s).
set -euo pipefail

say() { echo "slurm-local: $*" >&2; }
die() { say "$*"; exit 1; }

D="${ICMBENCH_SLURM_DIR:-$HOME/.cache/icmbench-slurm}"
[[ $D != *[[:space:]]* ]] || die "ICMBENCH_SLURM_DIR must not contain spaces (slurm.conf cannot quote them): $D"
CONF="$D/slurm.conf"
CTLD_PORT="${ICMBENCH_SLURM_CTLD_PORT:-6817}"
D_PORT="${ICMBENCH_SLURM_D_PORT:-6818}"
START_TIMEOUT="${ICMBENCH_SLURM_START_TIMEOUT:-60}"
KILL_WAIT="${ICMBENCH_SLURM_KILL_WAIT:-30}"
SCHED_PARAMS="${ICMBENCH_SLURM_SCHED_PARAMS-batch_sched_delay=0,sched_min_interval=0}"
H="$(hostname -s)"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET_DIR=/run/munge

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# Re-runs this script as root (through sudo) keeping the same state folder.
need_root() {
  [[ $(id -u) -eq 0 ]] && return 0
  command -v sudo >/dev/null 2>&1 || die "this needs root (the Slurm daemons run as root)"
  exec sudo ICMBENCH_SLURM_DIR="$D" ICMBENCH_SLURM_CTLD_PORT="$CTLD_PORT" ICMBENCH_SLURM_D_PORT="$D_PORT" \
    ICMBENCH_SLURM_START_TIMEOUT="$START_TIMEOUT" ICMBENCH_SLURM_KILL_WAIT="$KILL_WAIT" \
    ICMBENCH_SLURM_SCHED_PARAMS="$SCHED_PARAMS" "$0" "$@"
}

# The clients read the config given by SLURM_CONF (works with 22.05: checked).
export SLURM_CONF="$CONF"

# running PID: the process exists and is not a zombie (a killed daemon can linger as one until
# init reaps it).
running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [[ -n $state && $state != Z ]]
}

# pid_alive FILE NAME: the PID in FILE runs and its command is NAME (guards against PID reuse).
pid_alive() {
  local file=$1 name=$2 pid comm
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] && running "$pid"
}

pid_of() { tr -dc '0-9' <"$1"; }

# Node state(s) as sinfo reports them; empty when slurmctld does not answer.
node_states() { timeout 10 sinfo -h -o %T 2>/dev/null || true; }

is_up() { node_states | grep -Eq '^(idle|mixed|allocated)$'; }

munge_works() { command -v munge >/dev/null 2>&1 && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

ensure_munge_key() {
  [[ -s $MUNGE_KEY ]] && return 0
  say "creating $MUNGE_KEY"
  install -d -m 0700 "$(dirname "$MUNGE_KEY")"
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$MUNGE_KEY"
  elif command -v create-munge-key >/dev/null 2>&1; then
    create-munge-key -f
  else
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
  fi
  if getent passwd munge >/dev/null; then
    chown munge:munge "$(dirname "$MUNGE_KEY")" "$MUNGE_KEY"
  fi
  chmod 0600 "$MUNGE_KEY"
}

cmd_install() {
  need_root install
  if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
    || ! command -v sinfo >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    say "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  else
    say "slurm-wlm and munge are already installed ($(slurmctld -V 2>/dev/null || echo slurmctld))"
  fi
  ensure_munge_key
}

write_conf() {
  local cpus mem_mb margin
  cpus=$(nproc)
  mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024))
  # Leave 10% (at least 256 MB) for the system; slurmd drains a node that has less than configured.
  margin=$((mem_mb / 10))
  ((margin < 256)) && margin=256
  mem_mb=$((mem_mb - margin))
  ((mem_mb < 100)) && mem_mb=100
  cat >"$CONF.tmp" <<EOF
# Written by scripts/slurm-local.sh: a single-node cluster on $H for icmbench's tests.
ClusterName=local
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldLogFile=$D/log/ctld.log
SlurmdLogFile=$D/log/d.log
SlurmctldPidFile=$D/ctld.pid
SlurmdPidFile=$D/d.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
KillWait=$KILL_WAIT
${SCHED_PARAMS:+SchedulerParameters=$SCHED_PARAMS}
# Trust the CPUs/RealMemory below rather than draining the node over a topology mismatch.
SlurmdParameters=config_overrides
NodeName=$H NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

show_logs() {
  local n=${1:-50} f
  for f in "$D/log/munged.log" "$D/log/ctld.log" "$D/log/d.log"; do
    [[ -f $f ]] || continue
    echo "==> $f (last $n lines) <==" >&2
    tail -n "$n" "$f" >&2
  done
}

start_munged() {
  if pid_alive "$D/munged.pid" munged && munge_works; then
    return 0
  fi
  if munge_works; then
    # Someone else's munged (a system service) answers on the default socket: use it, never stop it.
    say "using the munged that is already running"
    rm -f "$D/munged.pid"
    return 0
  fi
  ensure_munge_key
  mkdir -p "$MUNGE_SOCKET_DIR"
  getent passwd munge >/dev/null && chown munge:munge "$MUNGE_SOCKET_DIR"
  chmod 0755 "$MUNGE_SOCKET_DIR"
  rm -f "$D/munged.pid"
  # --force: start even when run as root or when a stale socket is left over.
  munged --force --pid-file="$D/munged.pid" --log-file="$D/log/munged.log"
  local i
  for ((i = 0; i < 50; i++)); do
    munge_works && return 0
    sleep 0.1
  done
  show_logs 50
  die "munged did not start"
}

cmd_start() {
  need_root start
  command -v slurmctld >/dev/null 2>&1 || die "Slurm is not installed: run '$0 install' first"
  if pid_alive "$D/ctld.pid" slurmctld && pid_alive "$D/d.pid" slurmd && is_up; then
    say "already running ($H: $(node_states | head -1)); $0 env gives SLURM_CONF"
    return 0
  fi
  # Half-running leftovers from an earlier start: stop them to begin clean.
  if pid_alive "$D/ctld.pid" slurmctld || pid_alive "$D/d.pid" slurmd; then
    say "daemons from an earlier start are not healthy: stopping them first"
    stop_daemons "$D/d.pid:slurmd" "$D/ctld.pid:slurmctld"
  fi
  local pid others=""
  for pid in $(pgrep -x slurmctld || true) $(pgrep -x slurmd || true); do
    running "$pid" && others+=" $pid"
  done
  [[ -z $others ]] || say "warning: a slurmctld/slurmd not started by this script is running (pids:$others)"

  local t0=$SECONDS
  mkdir -p "$D"/{state,spool,log}
  # A clean start every time: no jobs or node states recovered from an earlier run.
  find "$D/state" "$D/spool" -mindepth 1 -delete
  write_conf
  start_munged
  slurmctld -f "$CONF"
  slurmd -f "$CONF"

  local states resumed=0
  while ((SECONDS - t0 < START_TIMEOUT)); do
    # The daemons write their pid files just after forking; one missing after 3 s has died.
    if ((SECONDS - t0 >= 3)) && { ! pid_alive "$D/ctld.pid" slurmctld || ! pid_alive "$D/d.pid" slurmd; }; then
      say "slurmctld or slurmd exited (port $CTLD_PORT/$D_PORT taken by another Slurm?)"
      start_failed
    fi
    states=$(node_states)
    if grep -Eq '^(idle|mixed|allocated)$' <<<"$states"; then
      say "started in $((SECONDS - t0)) s: node $H is $states (ctld pid $(pid_of "$D/ctld.pid"), slurmd pid $(pid_of "$D/d.pid"))"
      say "use: eval \"\$($0 env)\""
      return 0
    fi
    if ((!resumed)) && grep -Eq 'down|drain' <<<"$states"; then
      say "node is $states: resuming it"
      scontrol update nodename="$H" state=resume || true
      resumed=1
    fi
    sleep 1
  done
  say "the node did not become idle within $START_TIMEOUT s (sinfo: ${states:-no answer})"
  start_failed
}

# Shows the logs, stops whatever this start left running, fails.
start_failed() {
  show_logs 50
  stop_daemons "$D/d.pid:slurmd" "$D/ctld.pid:slurmctld"
  stop_daemons "$D/munged.pid:munged"
  exit 1
}

# stop_daemons FILE:NAME...: SIGTERM each daemon whose PID is in FILE (if it is NAME), wait up to
# 15 s for all of them to exit, SIGKILL what is left, remove the pid files.
stop_daemons() {
  local spec file name pid i alive pids=() names=()
  for spec in "$@"; do
    file=${spec%%:*} name=${spec#*:}
    if pid_alive "$file" "$name"; then
      pid=$(pid_of "$file")
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid") names+=("$name")
    fi
  done
  for ((i = 0; i < 150; i++)); do
    alive=0
    for pid in "${pids[@]}"; do running "$pid" && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if running "${pids[$i]}"; then
      say "${names[$i]} (${pids[$i]}) ignored SIGTERM for 15 s: killing it"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    say "stopped ${names[$i]} (${pids[$i]})"
  done
  for spec in "$@"; do rm -f "${spec%%:*}"; done
}

# Cancels every job so no slurmstepd or job process outlives the daemons.
cancel_jobs() {
  pid_alive "$D/ctld.pid" slurmctld || return 0
  local jobs i
  jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ') || return 0
  [[ -n ${jobs// /} ]] || return 0
  say "cancelling jobs: $jobs"
  # shellcheck disable=SC2086
  scancel $jobs 2>/dev/null || true
  for ((i = 0; i < 45; i++)); do
    [[ -z $(timeout 10 squeue -h -o %A 2>/dev/null) ]] && return 0
    sleep 1
  done
  say "warning: jobs still listed after 45 s: $(squeue -h -o '%i %T' 2>/dev/null | tr '\n' ' ')"
}

cmd_stop() {
  need_root stop
  [[ -d $D ]] || { say "nothing to stop"; return 0; }
  cancel_jobs
  stop_daemons "$D/d.pid:slurmd" "$D/ctld.pid:slurmctld"
  stop_daemons "$D/munged.pid:munged"
  local pid left=""
  for pid in $(pgrep -x slurmstepd || true); do
    running "$pid" && left+=" $pid"
  done
  [[ -z $left ]] || say "warning: slurmstepd processes remain (pids:$left)"
  say "stopped"
}

cmd_status() {
  local states=""
  # Without our slurmctld, sinfo would only retry for ~10 s before giving up.
  pid_alive "$D/ctld.pid" slurmctld && states=$(node_states)
  if grep -Eq '^(idle|mixed|allocated)$' <<<"$states"; then
    echo "slurm-local: up: $H is $(tr '\n' ' ' <<<"$states")(SLURM_CONF=$CONF)"
    return 0
  fi
  echo "slurm-local: not up (sinfo: ${states:-no answer})"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) show_logs "${SLURM_LOCAL_LOG_LINES:-50}" ;;
  env) printf 'export SLURM_CONF=%q\n' "$CONF" ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
