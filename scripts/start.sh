#!/usr/bin/env bash
# Runs one role in the background, as OpenMLDB's bin/start.sh:
#   scripts/start.sh start|stop|restart|status tablet|nameserver [FLAGFILE]
# FLAGFILE defaults to conf/<role>.flags. The pid file and the log sit next to the flagfile
# (conf/tablet.flags → conf/tablet.pid, conf/tablet.log), so several tablets on one machine each
# have their own. `start` returns once the endpoint accepts connections; `stop` sends SIGTERM and
# waits for the process to exit (SIGKILL after STOP_TIMEOUT_S, default 30). The log is JSON lines;
# after logrotate moves it, SIGHUP makes the process write a new one at the same path.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/lib/proc.sh"

usage() { echo "usage: $0 start|stop|restart|status tablet|nameserver [FLAGFILE]" >&2; exit 2; }
[ "$#" -ge 2 ] || usage
action="$1"; role="$2"; flagfile="${3:-$here/conf/$role.flags}"
case "$role" in tablet|nameserver) ;; *) usage ;; esac
case "$action" in start|stop|restart|status) ;; *) usage ;; esac
[ -f "$flagfile" ] || { echo "flagfile $flagfile not found" >&2; exit 1; }
flagfile="$(cd "$(dirname "$flagfile")" && pwd)/$(basename "$flagfile")"
base="${flagfile%.flags}"
pidfile="$base.pid"
logfile="$base.log"
START_TIMEOUT_S="${START_TIMEOUT_S:-30}"
STOP_TIMEOUT_S="${STOP_TIMEOUT_S:-30}"

endpoint="$(grep -E '^\s*--endpoint=' "$flagfile" | tail -n 1 | sed -E 's/^\s*--endpoint=//' | tr -d '[:space:]')"

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid="$(cat "$pidfile" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid must still be ours (not a recycled pid of another program).
  grep -q -- "--role=$role" "/proc/$pid/cmdline" 2>/dev/null || tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "role=$role" || return 1
  echo "$pid"
}

port_open() {
  local host="${endpoint%:*}" port="${endpoint##*:}"
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# Ready: the endpoint accepts connections (a role without --endpoint, at once).
listening() { [ -z "$endpoint" ] || port_open; }

do_start() {
  local pid
  if pid="$(running_pid)"; then echo "$role is already running (pid $pid)"; return 0; fi
  mkdir -p "$(dirname "$logfile")"
  cd "$here" || return 1
  # The role writes its log (JSON lines) to $logfile itself and reopens it on SIGHUP (logrotate:
  # move the file, then `kill -HUP $(cat $pidfile)`); anything printed outside the logger (a
  # fatal startup error) is appended to the same file.
  proc_start "$pidfile" "$logfile" "$START_TIMEOUT_S" "Start $role failed" listening \
    "$here/scripts/tessera" --role="$role" --flagfile="$flagfile" --log_file="$logfile"
  case $? in
    0) echo "Start $role success (pid $PROC_PID, endpoint ${endpoint:-?}, log $logfile)"; return 0 ;;
    1) return 1 ;;
  esac
  echo "Start $role: not listening on $endpoint after ${START_TIMEOUT_S}s (pid $PROC_PID still running; see $logfile)" >&2
  return 1
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then echo "$role is not running"; rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid" 2>/dev/null
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$role (pid $pid) did not exit within ${STOP_TIMEOUT_S}s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
    sleep 0.1
  done
  rm -f "$pidfile"
  echo "Stop $role success"
}

case "$action" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop && do_start ;;
  status)
    if pid="$(running_pid)"; then echo "$role is running (pid $pid, endpoint ${endpoint:-?})"; else echo "$role is not running"; exit 3; fi ;;
esac
