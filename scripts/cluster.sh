#!/usr/bin/env bash
# Runs the topology of deploy/compose.yaml from local processes, without Docker: Jeco nodes
# sharing one PostgreSQL database, one Redis and one data directory, behind nginx.
#
#   scripts/cluster.sh          build jeco-server, start everything, stop it all on Ctrl-C
#   scripts/cluster.sh stop     stop what a run left behind (its pid files say what)
#
# PostgreSQL and Redis must already be running. Settings, from the environment:
#   JECO_DATABASE_URL      postgres://postgres@127.0.0.1:5432/test
#   JECO_REDIS_URL         redis://127.0.0.1:6379/0
#   JECO_CLUSTER_NODES     2: node N listens on 127.0.0.1:(JECO_CLUSTER_PORT + N), and serves
#                          its metrics on 127.0.0.1:(JECO_CLUSTER_PORT + 100 + N)
#   JECO_CLUSTER_PORT      8080: the load balancer's port
#   JECO_CLUSTER_DIR       ./jeco-cluster in the repository: data, logs, nginx configuration
#   JECO_SERVER_BIN        a jeco-server binary to run instead of building one
#   NGINX                  the nginx binary [default: nginx from PATH, or /usr/sbin/nginx];
#                          "none" runs the nodes without a load balancer
# Other JECO_* variables (JECO_REDIS_PREFIX, JECO_SEND_RATE, ...) reach every node as usual.
#
# Without nginx the nodes still start and can be used directly.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${JECO_CLUSTER_DIR:-$root/jeco-cluster}
database_url=${JECO_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
redis_url=${JECO_REDIS_URL:-redis://127.0.0.1:6379/0}
nodes=${JECO_CLUSTER_NODES:-2}
lb_port=${JECO_CLUSTER_PORT:-8080}
healthcheck=$root/deploy/healthcheck.sh

# Process ids of what this run started, stopped on exit, and their names.
pids=()
names=()

# Output must not stop the clean-up when the terminal or pipe is gone.
say() { printf '%s\n' "$*" 2>/dev/null || true; }
die() {
    printf 'cluster: %s\n' "$*" >&2
    exit 1
}

# A URL with its password, if any, replaced by ***.
redact() { sed -E 's#(://[^:/@]+):[^@/]*@#\1:***@#' <<<"$1"; }

# Whether the process named by pid file $1 runs and belongs to this cluster: its command line
# names $dir (every node's --data-dir, nginx's -p), so a stale pid file cannot point at an
# unrelated process that reused the id.
recorded_alive() {
    local pid args
    pid=$(<"$1")
    args=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
    [[ $args == *"$dir/"* ]]
}

# Sends TERM to processes $@, then waits up to 15 s for them to exit before killing them.
terminate() {
    local pid deadline=$((SECONDS + 15))
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# `stop`: ends the processes a run recorded in its pid files.
stop_recorded() {
    local file live=()
    for file in "$dir"/*.pid; do
        [[ -e $file ]] || continue
        if recorded_alive "$file"; then
            live+=("$(<"$file")")
        fi
        rm -f "$file"
    done
    if ((${#live[@]})); then
        say "Stopping ${#live[@]} processes..."
        terminate "${live[@]}"
    else
        say "Nothing is running from $dir."
    fi
}

cleanup() {
    trap - EXIT INT TERM
    trap '' PIPE HUP
    if ((${#pids[@]})); then
        say ""
        say "Stopping..."
        terminate "${pids[@]}"
        wait "${pids[@]}" 2>/dev/null || true
        rm -f "$dir"/*.pid
        say "Stopped. Data and logs stay in $dir."
    fi
}

# Waits until GET /readyz at $1 (host:port) answers 200 while process $2 runs.
wait_ready() {
    local addr=$1 pid=$2 log=$3 deadline=$((SECONDS + 60))
    until JECO_HEALTHCHECK_ADDR=$addr "$healthcheck" /readyz 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "the process for $addr exited; its log is $log"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$log" >&2 || true
            die "$addr was not ready within 60 s; its log is $log"
        fi
        sleep 0.5
    done
}

find_nginx() {
    [[ ${NGINX:-} != none ]] || return 1
    local candidate
    for candidate in "${NGINX:-}" "$(command -v nginx || true)" /usr/sbin/nginx; do
        if [[ -f $candidate && -x $candidate ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# The nginx configuration: the same upstreams as deploy/nginx.conf, on local ports, with every
# path nginx writes (pid, logs, temporary files) inside $dir so that no root is needed.
write_nginx_conf() {
    local nginx=$1 conf=$2 i servers=''
    for ((i = 1; i <= nodes; i++)); do
        servers+="        server 127.0.0.1:$((lb_port + i)) max_fails=2 fail_timeout=10s;"$'\n'
    done
    # Temporary-file paths only for the modules this nginx was built with.
    local temp_paths="    client_body_temp_path \"$dir/nginx-temp/body\";"$'\n'
    local module
    for module in proxy fastcgi uwsgi scgi; do
        if ! "$nginx" -V 2>&1 | grep -q -- "--without-http_${module}_module"; then
            temp_paths+="    ${module}_temp_path \"$dir/nginx-temp/$module\";"$'\n'
        fi
    done
    mkdir -p "$dir/nginx-temp"
    cat >"$conf" <<EOF
# Generated by scripts/cluster.sh; rewritten on every start.
daemon off;
worker_processes 1;
pid "$dir/nginx-temp/nginx.pid";
error_log "$dir/nginx-error.log" warn;

events {
    worker_connections 1024;
}

http {
    log_format jeco '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                    '\$request_time node=\$upstream_addr';
    access_log "$dir/nginx-access.log" jeco;
$temp_paths
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      '';
    }

    # Idle connections to a node are let go before the node's header timeout (10 s) would.
    upstream jeco {
$servers        keepalive 16;
        keepalive_timeout 5s;
    }

    upstream jeco_sse {
        hash \$remote_addr consistent;
$servers        keepalive 16;
        keepalive_timeout 5s;
    }

    server {
        listen 127.0.0.1:$lb_port;
        include "$root/deploy/jeco-proxy.conf";
    }
}
EOF
}

start() {
    [[ $nodes =~ ^[1-9][0-9]*$ ]] || die "JECO_CLUSTER_NODES must be a positive number"
    mkdir -p "$dir/data"
    # Keep the run's files out of version control without touching the repository's ignores.
    [[ -e $dir/.gitignore ]] || printf '*\n' >"$dir/.gitignore"
    local file
    for file in "$dir"/*.pid; do
        [[ -e $file ]] || continue
        if recorded_alive "$file"; then
            die "a cluster is already running from $dir (scripts/cluster.sh stop ends it)"
        fi
        rm -f "$file"
    done

    local bin
    if [[ -n ${JECO_SERVER_BIN:-} ]]; then
        bin=$JECO_SERVER_BIN
    else
        say "Building jeco-server..."
        (cd "$root" && cargo build --release -p jeco-server)
        bin=$root/target/release/jeco-server
    fi
    [[ -x $bin ]] || die "no jeco-server binary at $bin"
    if [[ -n ${NGINX:-} && $NGINX != none ]]; then
        NGINX=$(command -v "$NGINX") || die "NGINX=$NGINX is not a program"
    fi
    local nginx=''
    nginx=$(find_nginx) || nginx=''

    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local -a shared=(--data-dir "$dir/data" --database-url "$database_url")
    # Behind nginx, which replaces X-Forwarded-For, the nodes take client addresses from it.
    if [[ -n $nginx ]]; then
        shared+=(--trust-forwarded-for true)
    fi
    if "$bin" --help | grep -q -- '--redis-url'; then
        shared+=(--redis-url "$redis_url")
    else
        redis_url=''
        say "warning: this jeco-server has no --redis-url; the nodes run without Redis and do not"
        say "         deliver each other's events."
    fi

    # Node 1 first: it alone creates the signing key and applies the migrations; then the rest.
    local i addr log pid
    for ((i = 1; i <= nodes; i++)); do
        addr=127.0.0.1:$((lb_port + i))
        log=$dir/node-$i.log
        say "Starting node $i on $addr (log: $log)"
        "$bin" --listen "$addr" --metrics-addr "127.0.0.1:$((lb_port + 100 + i))" "${shared[@]}" >>"$log" 2>&1 &
        pid=$!
        pids+=("$pid")
        names+=("node $i")
        printf '%s\n' "$pid" >"$dir/node-$i.pid"
        wait_ready "$addr" "$pid" "$log"
    done

    local lb=''
    if [[ -n $nginx ]]; then
        local conf=$dir/nginx.conf
        write_nginx_conf "$nginx" "$conf"
        log=$dir/nginx-error.log
        # -e (nginx 1.19.5 and later) keeps even start-up errors out of the system's log.
        local -a args=(-p "$dir/" -c "$conf")
        if "$nginx" -h 2>&1 | grep -q -- '-e filename'; then
            args+=(-e "$log")
        fi
        say "Starting nginx on 127.0.0.1:$lb_port (config: $conf)"
        "$nginx" "${args[@]}" -t -q || die "nginx refused $conf"
        "$nginx" "${args[@]}" &
        pid=$!
        pids+=("$pid")
        names+=("nginx")
        printf '%s\n' "$pid" >"$dir/nginx.pid"
        wait_ready "127.0.0.1:$lb_port" "$pid" "$log"
        lb=http://127.0.0.1:$lb_port
    elif [[ ${NGINX:-} == none ]]; then
        say "NGINX=none: no load balancer; the nodes answer directly."
    else
        say "nginx is not installed, so there is no load balancer; the nodes answer directly."
        say "Install it (Debian and Ubuntu: 'apt-get install nginx-light' or 'apt-get install nginx';"
        say "other systems: their 'nginx' package), or set NGINX to its path, then start again."
    fi

    say ""
    say "Jeco cluster is up:"
    if [[ -n $lb ]]; then
        say "  load balancer  $lb  (API $lb/v1, WebSocket ${lb/http:/ws:}/v1/ws)"
    fi
    for ((i = 1; i <= nodes; i++)); do
        say "  node $i         http://127.0.0.1:$((lb_port + i))  (metrics: http://127.0.0.1:$((lb_port + 100 + i))/metrics)"
    done
    say "  database       $(redact "$database_url")"
    if [[ -n $redis_url ]]; then
        say "  redis          $(redact "$redis_url")"
    else
        say "  redis          not used"
    fi
    say "  files          $dir"
    say "Ctrl-C stops everything."

    # Wait for Ctrl-C. A process that exits meanwhile is reported, and the rest keep running,
    # so that stopping one node shows its clients moving to another.
    local -a running=("${!pids[@]}")
    while ((${#running[@]})); do
        wait -n || true
        local -a still=()
        for i in "${running[@]}"; do
            if kill -0 "${pids[i]}" 2>/dev/null; then
                still+=("$i")
            else
                say "cluster: ${names[i]} (pid ${pids[i]}) exited"
            fi
        done
        running=("${still[@]+"${still[@]}"}")
    done
    say "cluster: every process has exited"
}

case ${1:-start} in
    start) start ;;
    stop) stop_recorded ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (start, stop or --help)" ;;
esac
