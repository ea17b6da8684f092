# A standalone ZooKeeper for a local cluster: Debian's ZooKeeper 3.8 jars run as a plain `java`
# process with its own config under DIR/zk, listening on 127.0.0.1 only. Sourced (by
# scripts/cluster.sh), not run. Functions:
#   zk_start DIR PORT    write DIR/zk/conf/{zoo.cfg,log4j.properties}, start the server in the
#                        background (data DIR/zk/data, pid DIR/zk/zk.pid, log DIR/zk/zk.log, its
#                        JVM's every GC pause DIR/zk/gc.log) and
#                        return once `srvr` answers on 127.0.0.1:PORT (bounded, ZK_START_TIMEOUT_S)
#   zk_stop DIR          SIGTERM by pid file, wait (ZK_STOP_TIMEOUT_S), then SIGKILL
#   zk_status DIR PORT   print `zookeeper running (...)` / `zookeeper stopped`; exit status 0 when
#                        running and answering, 1 when running but not answering, 3 when stopped
# ZK_CLIENT_PORT_ADDRESS (default 127.0.0.1) is the address it listens on; the chaos harness sets
# 0.0.0.0 when it runs ZooKeeper in a network namespace of its own.
# Settings match the test kit's server (packages/testkit/src/zookeeper.ts): tickTime 200 ms so
# sessions may be as short as 0.4 s, four-letter commands ruok/srvr/stat/mntr/conf, no admin server.
# Unlike the test server it keeps fsync on and purges old snapshots.

source "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

ZK_CLASSPATH_JARS="/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
ZK_MAIN_CLASS="org.apache.zookeeper.server.ZooKeeperServerMain"
ZK_START_TIMEOUT_S="${ZK_START_TIMEOUT_S:-30}"
ZK_STOP_TIMEOUT_S="${ZK_STOP_TIMEOUT_S:-10}"
ZK_KILL_TIMEOUT_S="${ZK_KILL_TIMEOUT_S:-5}"
ZK_COMMAND_TIMEOUT_S=2
ZK_HEAP_MAX="${ZK_HEAP_MAX:-512m}"

# _zk_cmd PORT WORD: sends a four-letter command to 127.0.0.1:PORT and prints the answer.
_zk_cmd() {
  timeout "$ZK_COMMAND_TIMEOUT_S" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "%s" "$1" >&3 && cat <&3' "$1" "$2" 2>/dev/null
}

# _zk_pid DIR: prints the pid from DIR/zk/zk.pid if that process is alive and is our server.
_zk_pid() {
  local dir="$1" pid
  [ -f "$dir/zk/zk.pid" ] || return 1
  pid="$(cat "$dir/zk/zk.pid" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid of another program is not ours: the command line must name our zoo.cfg.
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/zk/conf/zoo.cfg" || return 1
  echo "$pid"
}

# _zk_abs DIR: DIR as an absolute path (created if missing).
_zk_abs() {
  mkdir -p "$1" && (cd "$1" && pwd)
}

_zk_write_config() {
  local dir="$1" port="$2"
  mkdir -p "$dir/zk/conf" "$dir/zk/data"
  cat > "$dir/zk/conf/zoo.cfg" <<EOF
tickTime=200
minSessionTimeout=400
maxSessionTimeout=60000
initLimit=10
syncLimit=5
dataDir=$dir/zk/data
clientPort=$port
clientPortAddress=${ZK_CLIENT_PORT_ADDRESS:-127.0.0.1}
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,conf
maxClientCnxns=0
preAllocSize=4096
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  cat > "$dir/zk/conf/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n
EOF
}

zk_start() {
  if [ "$#" -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then echo "usage: zk_start DIR PORT" >&2; return 2; fi
  local dir port="$2" pid
  dir="$(_zk_abs "$1")" || return 1
  if pid="$(_zk_pid "$dir")"; then
    echo "zookeeper already running (pid $pid, $dir/zk)"
    return 0
  fi
  if _zk_cmd "$port" srvr | grep -q '^Mode:'; then
    echo "zk_start: 127.0.0.1:$port is already served by another ZooKeeper" >&2
    return 1
  fi
  command -v java >/dev/null 2>&1 || { echo "zk_start: java not found" >&2; return 1; }
  [ -f /usr/share/java/zookeeper.jar ] || { echo "zk_start: /usr/share/java/zookeeper.jar missing (apt-get install zookeeper)" >&2; return 1; }
  _zk_write_config "$dir" "$port"
  proc_start "$dir/zk/zk.pid" "$dir/zk/zk.log" "$ZK_START_TIMEOUT_S" "zk_start: zookeeper" _zk_ready \
    java -Xms64m "-Xmx$ZK_HEAP_MAX" -XX:+UseSerialGC -XX:-UsePerfData -Djava.net.preferIPv4Stack=true \
    "-Xlog:gc:file=$dir/zk/gc.log:uptime:filecount=2,filesize=10m" \
    -Dzookeeper.jmx.log4j.disable=true "-Dlog4j.configuration=file:$dir/zk/conf/log4j.properties" \
    -cp "$dir/zk/conf:$ZK_CLASSPATH_JARS" "$ZK_MAIN_CLASS" "$dir/zk/conf/zoo.cfg"
  case $? in
    0) echo "zookeeper started (pid $PROC_PID, 127.0.0.1:$port, log $dir/zk/zk.log)"; return 0 ;;
    1) return 1 ;;
  esac
  echo "zk_start: zookeeper not ready on 127.0.0.1:$port after ${ZK_START_TIMEOUT_S}s; stopping it. Last log lines:" >&2
  tail -n 20 "$dir/zk/zk.log" >&2
  zk_stop "$dir" >/dev/null
  return 1
}

# zk_start's readiness (proc_wait_ready): 0 serving standalone from our data dir, 1 not yet, 2
# another server answers on the port. Reads zk_start's locals `port` and `dir`.
_zk_ready() {
  _zk_cmd "$port" srvr | grep -q '^Mode: standalone' || return 1
  _zk_cmd "$port" conf | grep -qF "dataDir=$dir/zk/data" && return 0
  echo "zk_start: 127.0.0.1:$port answers, but not with our data dir" >&2
  return 2
}

zk_stop() {
  if [ "$#" -ne 1 ]; then echo "usage: zk_stop DIR" >&2; return 2; fi
  local dir pid
  dir="$(cd "$1" 2>/dev/null && pwd)" || { echo "zookeeper stopped"; return 0; }
  if ! pid="$(_zk_pid "$dir")"; then
    rm -f "$dir/zk/zk.pid"
    echo "zookeeper stopped"
    return 0
  fi
  kill -CONT "$pid" 2>/dev/null # a paused JVM cannot act on SIGTERM
  kill -TERM "$pid" 2>/dev/null
  local deadline=$((SECONDS + ZK_STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "zk_stop: pid $pid still running after ${ZK_STOP_TIMEOUT_S}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    deadline=$((SECONDS + ZK_KILL_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "zk_stop: pid $pid did not exit after SIGKILL" >&2
      return 1
    fi
  fi
  rm -f "$dir/zk/zk.pid"
  echo "zookeeper stopped (pid $pid)"
  return 0
}

zk_status() {
  if [ "$#" -ne 2 ]; then echo "usage: zk_status DIR PORT" >&2; return 2; fi
  local dir port="$2" pid mode
  dir="$(cd "$1" 2>/dev/null && pwd)" || { echo "zookeeper stopped"; return 3; }
  if ! pid="$(_zk_pid "$dir")"; then
    echo "zookeeper stopped"
    return 3
  fi
  mode="$(_zk_cmd "$port" srvr | sed -n 's/^Mode: //p')"
  if [ -n "$mode" ]; then
    echo "zookeeper running (pid $pid, 127.0.0.1:$port, mode $mode)"
    return 0
  fi
  echo "zookeeper running (pid $pid) but not answering on 127.0.0.1:$port"
  return 1
}
