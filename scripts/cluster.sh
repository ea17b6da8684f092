#!/usr/bin/env bash
# A whole local cluster on this machine, on 127.0.0.1 only:
#   scripts/cluster.sh up [--dir DIR] [--base-port P] [--tablets N] [--nameservers M]
#   scripts/cluster.sh down|status|add-tablet [--dir DIR]
# `status` lists the processes and runs ns_client's healthcheck; it exits 0 healthy, 1 degraded,
# 2 unavailable (STATUS_HEALTHCHECK_ARGS=--checksum adds replica checksums).
# `up` installs what is missing and builds (as scripts/test.sh), starts a standalone ZooKeeper
# from Debian's package (port P), M nameservers (ports P+1..P+M) and N tablets (ports
# P+21..P+20+N) through scripts/start.sh with flagfiles generated under DIR, waits until every
# tablet is healthy, and prints the ns_client command line. Defaults: DIR ./var/cluster, P 7181,
# 3 tablets, 2 nameservers. The cluster's settings are kept in DIR/cluster.env, so the other
# commands need only --dir. Two clusters with different DIR and ports run side by side.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/lib/setup.sh"
source "$here/scripts/lib/zk.sh"

# Timeouts suited to one machine (conf/*.flags keep production-like ones).
ZK_SESSION_TIMEOUT_MS="${ZK_SESSION_TIMEOUT_MS:-3000}"
TABLET_HEARTBEAT_TIMEOUT_MS="${TABLET_HEARTBEAT_TIMEOUT_MS:-1000}"
TABLE_STATUS_INTERVAL_MS="${TABLE_STATUS_INTERVAL_MS:-1000}"
IN_SYNC_SILENT_MS="${IN_SYNC_SILENT_MS:-2000}"
HEALTHY_TIMEOUT_S="${HEALTHY_TIMEOUT_S:-60}"
ZK_ROOT_PATH_DEFAULT="/tessera"

usage() {
  echo "usage: $0 up [--dir DIR] [--base-port P] [--tablets N] [--nameservers M]" >&2
  echo "       $0 down|status|add-tablet [--dir DIR]" >&2
  exit 2
}

[ "$#" -ge 1 ] || usage
action="$1"; shift
dir="$here/var/cluster"; base_port=""; tablets=""; nameservers=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --base-port) base_port="${2:?--base-port needs a value}"; shift 2 ;;
    --base-port=*) base_port="${1#--base-port=}"; shift ;;
    --tablets) tablets="${2:?--tablets needs a value}"; shift 2 ;;
    --tablets=*) tablets="${1#--tablets=}"; shift ;;
    --nameservers) nameservers="${2:?--nameservers needs a value}"; shift 2 ;;
    --nameservers=*) nameservers="${1#--nameservers=}"; shift ;;
    *) echo "unknown option $1" >&2; usage ;;
  esac
done
mkdir -p "$dir" && dir="$(cd "$dir" && pwd)"
env_file="$dir/cluster.env"

for n in "$base_port" "$tablets" "$nameservers"; do
  [ -z "$n" ] || [[ "$n" =~ ^[0-9]+$ ]] || { echo "numbers only: '$n'" >&2; exit 2; }
done

load_env() {
  [ -f "$env_file" ] || { echo "no cluster in $dir (run: $0 up --dir $dir)" >&2; exit 1; }
  # shellcheck disable=SC1090
  source "$env_file"
}

zk_cluster() { echo "127.0.0.1:$BASE_PORT"; }
ns_port() { echo $((BASE_PORT + $1)); }
tablet_port() { echo $((BASE_PORT + 20 + $1)); }

ns_client() {
  "$here/scripts/tessera" --zk_cluster="$(zk_cluster)" --zk_root_path="$ZK_ROOT_PATH" --role=ns_client --interactive=false "$@"
}

write_nameserver_flags() {
  local i="$1" d="$dir/nameserver-$1"
  mkdir -p "$d"
  cat > "$d/nameserver.flags" <<EOF
--endpoint=127.0.0.1:$(ns_port "$i")
--zk_cluster=$(zk_cluster)
--zk_root_path=$ZK_ROOT_PATH
--zk_session_timeout=$ZK_SESSION_TIMEOUT_MS
--tablet_heartbeat_timeout=$TABLET_HEARTBEAT_TIMEOUT_MS
--get_table_status_interval=$TABLE_STATUS_INTERVAL_MS
--in_sync_silent_ms=$IN_SYNC_SILENT_MS
--auto_failover=true
--log_level=info
EOF
}

write_tablet_flags() {
  local i="$1" d="$dir/tablet-$1"
  mkdir -p "$d/db"
  cat > "$d/tablet.flags" <<EOF
--endpoint=127.0.0.1:$(tablet_port "$i")
--db_root_path=$d/db
--zk_cluster=$(zk_cluster)
--zk_root_path=$ZK_ROOT_PATH
--zk_session_timeout=$ZK_SESSION_TIMEOUT_MS
--log_level=info
EOF
}

start_tablet() {
  write_tablet_flags "$1"
  bash "$here/scripts/start.sh" start tablet "$dir/tablet-$1/tablet.flags"
}

healthy_count() {
  ns_client --cmd=showtablet 2>/dev/null | grep -c kTabletHealthy
}

wait_healthy() {
  local want="$1" deadline=$((SECONDS + HEALTHY_TIMEOUT_S)) n=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    n="$(healthy_count)"
    [ "${n:-0}" -ge "$want" ] && return 0
    sleep 0.5
  done
  echo "only ${n:-0} of $want tablets healthy after ${HEALTHY_TIMEOUT_S}s; logs are under $dir" >&2
  return 1
}

# The indexes i of the ROLE-i/ROLE.flags under $dir (ROLE tablet or nameserver), in order.
role_indexes() {
  local role="$1" f
  for f in "$dir/$role"-*/"$role.flags"; do
    [ -f "$f" ] || continue
    f="${f%/"$role.flags"}"; echo "${f##*-}"
  done | sort -n
}

case "$action" in
  up)
    if [ -f "$env_file" ]; then
      source "$env_file"
      [ -z "$base_port" ] || [ "$base_port" = "$BASE_PORT" ] || { echo "$dir already holds a cluster on base port $BASE_PORT" >&2; exit 1; }
    else
      BASE_PORT="${base_port:-7181}"
      ZK_ROOT_PATH="$ZK_ROOT_PATH_DEFAULT"
      printf 'BASE_PORT=%s\nZK_ROOT_PATH=%s\n' "$BASE_PORT" "$ZK_ROOT_PATH" > "$env_file"
    fi
    tablets="${tablets:-3}"; nameservers="${nameservers:-2}"
    [ "$nameservers" -ge 1 ] && [ "$nameservers" -le 19 ] || { echo "--nameservers must be 1..19" >&2; exit 2; }
    [ "$tablets" -ge 1 ] && [ "$tablets" -le 79 ] || { echo "--tablets must be 1..79" >&2; exit 2; }
    setup_all || exit 1
    zk_start "$dir" "$BASE_PORT" || exit 1
    for i in $(seq 1 "$nameservers"); do
      write_nameserver_flags "$i"
      bash "$here/scripts/start.sh" start nameserver "$dir/nameserver-$i/nameserver.flags" || exit 1
    done
    for i in $(seq 1 "$tablets"); do start_tablet "$i" || exit 1; done
    wait_healthy "$tablets" || exit 1
    echo
    echo "Tessera cluster is up: ZooKeeper 127.0.0.1:$BASE_PORT, $nameservers nameserver(s), $tablets tablet(s), files in $dir"
    echo "ns_client:"
    echo "  $here/scripts/tessera --zk_cluster=$(zk_cluster) --zk_root_path=$ZK_ROOT_PATH --role=ns_client"
    ;;
  add-tablet)
    load_env
    last="$(role_indexes tablet | tail -n 1)"
    next=$(( ${last:-0} + 1 ))
    start_tablet "$next" || exit 1
    want=$(( $(role_indexes tablet | wc -l) ))
    wait_healthy "$want" || exit 1
    echo "added tablet 127.0.0.1:$(tablet_port "$next") (flagfile $dir/tablet-$next/tablet.flags)"
    ;;
  down)
    load_env
    # Nameservers first: a planned shutdown must not fail the tablets over one by one.
    for i in $(role_indexes nameserver); do bash "$here/scripts/start.sh" stop nameserver "$dir/nameserver-$i/nameserver.flags"; done
    for i in $(role_indexes tablet); do bash "$here/scripts/start.sh" stop tablet "$dir/tablet-$i/tablet.flags"; done
    zk_stop "$dir"
    ;;
  status)
    # The processes, then ns_client's healthcheck of the cluster as a whole; exits as healthcheck
    # does: 0 healthy, 1 degraded, 2 unavailable (ZooKeeper down or no nameserver answering).
    load_env
    zk_status "$dir" "$BASE_PORT" || { echo "cluster status: unavailable (ZooKeeper is not running)"; exit 2; }
    for i in $(role_indexes nameserver); do bash "$here/scripts/start.sh" status nameserver "$dir/nameserver-$i/nameserver.flags"; done
    for i in $(role_indexes tablet); do bash "$here/scripts/start.sh" status tablet "$dir/tablet-$i/tablet.flags"; done
    echo
    ns_client --zk_session_timeout="$ZK_SESSION_TIMEOUT_MS" --cmd="healthcheck ${STATUS_HEALTHCHECK_ARGS:-}"
    code=$?
    # ns_client itself failing (no leader to ask) is not a verdict: the cluster is unavailable.
    [ "$code" -le 2 ] || code=2
    exit "$code"
    ;;
  *) usage ;;
esac
