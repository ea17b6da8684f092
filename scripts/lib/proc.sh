# Waiting for a process just started in the background to be ready, for scripts/start.sh (the
# roles) and scripts/lib/zk.sh (ZooKeeper). Sourced, not run. Function:
#   proc_wait_ready PID PIDFILE LOGFILE TIMEOUT_S WHAT READY_FN
#     calls READY_FN every 0.1 s until it returns 0 (ready: returns 0) or 2 (give up: returns 2);
#     1 means not yet. If PID exits first, prints `WHAT: the process exited during start. Last log
#     lines (LOGFILE):` and those lines to stderr, removes PIDFILE and returns 1. Returns 3 when
#     TIMEOUT_S seconds have passed. READY_FN sees the caller's local variables.

proc_wait_ready() {
  local pid="$1" pidfile="$2" log="$3" timeout_s="$4" what="$5" ready="$6"
  local deadline=$((SECONDS + timeout_s)) r
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what: the process exited during start. Last log lines ($log):" >&2
      tail -n 20 "$log" >&2
      rm -f "$pidfile"
      return 1
    fi
    "$ready"; r=$?
    [ "$r" -eq 1 ] || return "$r"
    sleep 0.1
  done
  return 3
}
