# Starting a process in the background and waiting for it to be ready, for scripts/start.sh (the
# roles) and scripts/lib/zk.sh (ZooKeeper). Sourced, not run. Functions:
#   proc_start PIDFILE LOGFILE TIMEOUT_S WHAT READY_FN CMD [ARG...]
#     runs CMD under nohup in the background (output appended to LOGFILE, stdin /dev/null, not a
#     job of the calling shell, so a later `wait` does not wait for it), writes its pid to PIDFILE
#     and to PROC_PID, then returns what proc_wait_ready returns
#   proc_wait_ready PID PIDFILE LOGFILE TIMEOUT_S WHAT READY_FN
#     calls READY_FN every 0.1 s until it returns 0 (ready: returns 0) or 2 (give up: returns 2);
#     1 means not yet. If PID exits first, prints `WHAT: the process exited during start. Last log
#     lines (LOGFILE):` and those lines to stderr, removes PIDFILE and returns 1. Returns 3 when
#     TIMEOUT_S seconds have passed. READY_FN sees the caller's local variables.

proc_start() {
  local pidfile="$1" log="$2" timeout_s="$3" what="$4" ready="$5"
  shift 5
  nohup "$@" >> "$log" 2>&1 < /dev/null &
  PROC_PID=$!
  disown "$PROC_PID" 2>/dev/null
  echo "$PROC_PID" > "$pidfile"
  proc_wait_ready "$PROC_PID" "$pidfile" "$log" "$timeout_s" "$what" "$ready"
}

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
