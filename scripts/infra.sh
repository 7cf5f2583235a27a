#!/usr/bin/env bash
# Local infrastructure for development and tests: packages, venv, a private PostgreSQL 15
# cluster with pg_cron, and a private Redis. Every command is idempotent.
#
#   scripts/infra.sh install        apt packages (if missing) and the project venv
#   scripts/infra.sh install-browser  Debian's chromium too (the dashboard's browser test)
#   scripts/infra.sh start          start (initialising if needed) PostgreSQL and Redis
#   scripts/infra.sh stop           stop both
#   scripts/infra.sh start-postgres | stop-postgres   PostgreSQL only (the test cluster)
#   scripts/infra.sh start-redis | stop-redis         Redis only
#   scripts/infra.sh status         show what runs where
#   scripts/infra.sh superuser-url  print the cluster's superuser URL (Unix socket, no password)
#
# Environment: PG_PORT (55432), REDIS_PORT (56379), STATE_DIR (where clusters live),
# PG_FAST=1 (no fsync and a small WAL: for throw-away test clusters, which `make test` keeps in
# memory by its STATE_DIR), VENV (.venv), REDIS_MAXMEMORY (256mb: the
# cache's memory bound), REDIS_PASSWORD (empty: none; else Redis asks for it).
set -euo pipefail

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
REDIS_MAXMEMORY=${REDIS_MAXMEMORY:-256mb}
REDIS_PASSWORD=${REDIS_PASSWORD:-}
# Every cache key has a TTL; the /stats counters have none and must stay: evict the least recently
# used of the keys with a TTL only (docs/operations.md, "Redis").
REDIS_EVICTION_POLICY=volatile-lru
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
VENV=${VENV:-$PROJECT_DIR/.venv}
PYTHON=${PYTHON:-python3}
# wrk: make bench; ruby: the Rails client's test; nginx: the test of docker/nginx.conf (it runs its own).
APT_PACKAGES=(postgresql-15 postgresql-contrib postgresql-15-cron redis-server python3-venv wrk ruby nginx)

if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root: the cluster belongs to the postgres OS user and lives
    # where that user can reach it (a clone may sit under a folder postgres cannot enter).
    STATE_DIR=${STATE_DIR:-/var/lib/mysanta}
    PG_OS_USER=postgres
    as_pg() { runuser -u "$PG_OS_USER" -- "$@"; }
    SUDO=()
else
    STATE_DIR=${STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/mysanta}
    PG_OS_USER=$(id -un)
    as_pg() { "$@"; }
    SUDO=(sudo)
fi
PG_DIR=$STATE_DIR/pg-$PG_PORT
PG_DATA=$PG_DIR/data
PG_SOCKET_DIR=$PG_DIR/run
PG_LOG=$PG_DIR/postgresql.log
REDIS_DIR=$STATE_DIR/redis-$REDIS_PORT

log() { printf '[infra] %s\n' "$*" >&2; }

install_packages() {
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        "${SUDO[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
}

# Only make test-browser needs it: a server or a make run does not.
BROWSER_PACKAGES=(chromium)

install_browser() {
    local saved=("${APT_PACKAGES[@]}")
    APT_PACKAGES=("${BROWSER_PACKAGES[@]}")
    install_packages
    APT_PACKAGES=("${saved[@]}")
}

install_venv() {
    local stamp=$VENV/.installed
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating venv $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$PROJECT_DIR/pyproject.toml" -nt "$stamp" ]; then
        log "installing Python dependencies"
        "$VENV/bin/pip" install -q --upgrade pip
        "$VENV/bin/pip" install -q -e "$PROJECT_DIR[dev]"
        touch "$stamp"
    fi
}

pg_running() {
    [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_init() {
    mkdir -p "$STATE_DIR"
    chmod 755 "$STATE_DIR"
    mkdir -p "$PG_DIR" "$PG_SOCKET_DIR"
    chown -R "$PG_OS_USER" "$PG_DIR"
    log "initialising PostgreSQL cluster in $PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat <<EOF | as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null
# Unix socket: local OS users only (the directory is private to the cluster's owner and root).
local   all   all                  trust
$REPLICATION_HBA
# TCP: passwords for every role; the FDW role must be asked for one (postgres_fdw rule).
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
EOF
}

# pg_basebackup and hot standbys of this machine connect over the Unix socket (the standby tests).
REPLICATION_HBA="local   replication   all            trust"

pg_allow_replication() {
    grep -q '^local[[:space:]]\+replication' "$PG_DATA/pg_hba.conf" \
        || echo "$REPLICATION_HBA" | as_pg tee -a "$PG_DATA/pg_hba.conf" >/dev/null
}

pg_configure() {
    local fast=""
    if [ "${PG_FAST:-0}" = "1" ]; then
        # A WAL of about 1GB at most (a soft bound): a throw-away cluster may keep its files in memory (make test).
        fast=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_wal_size = \'1GB\''
    fi
    cat <<EOF | as_pg tee "$PG_DATA/postgresql.auto.conf" >/dev/null
# Written by scripts/infra.sh on every start.
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_SOCKET_DIR'
unix_socket_permissions = 0770
shared_preload_libraries = 'pg_cron,pg_stat_statements'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 32
max_connections = 200
# Hot standbys may stream from it (pg_basebackup -R; the standby tests): PostgreSQL's defaults, said here.
wal_level = replica
max_wal_senders = 10
password_encryption = 'scram-sha-256'
timezone = 'UTC'
shared_buffers = '512MB'
work_mem = '16MB'
maintenance_work_mem = '256MB'
max_wal_size = '8GB'
checkpoint_timeout = '15min'
effective_cache_size = '8GB'
random_page_cost = 1.1
log_min_duration_statement = 2000
$fast
EOF
}

pg_start() {
    pg_running && return 0
    if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
        log "port $PG_PORT is taken by another server, not the cluster in $PG_DIR: stop that one first"
        log "(a cluster of this port elsewhere: PG_PORT=$PG_PORT STATE_DIR=<its directory> $0 stop-postgres)"
        exit 1
    fi
    [ -f "$PG_DATA/PG_VERSION" ] || pg_init
    mkdir -p "$PG_SOCKET_DIR"
    chown "$PG_OS_USER" "$PG_SOCKET_DIR"
    pg_configure
    pg_allow_replication
    log "starting PostgreSQL on port $PG_PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null || {
        tail -n 20 "$PG_LOG" >&2
        exit 1
    }
}

pg_stop() {
    if pg_running; then
        log "stopping PostgreSQL on port $PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
    fi
}

# redis-cli with the password, if any, from the environment (never on a command line).
redis_cli() { env ${REDIS_PASSWORD:+"REDISCLI_AUTH=$REDIS_PASSWORD"} redis-cli -p "$REDIS_PORT" "$@"; }

redis_running() { redis_cli ping 2>/dev/null | grep -q PONG; }

redis_start() {
    if redis_running; then
        # One started before these settings existed gets the memory bound too.
        redis_cli config set maxmemory "$REDIS_MAXMEMORY" maxmemory-policy "$REDIS_EVICTION_POLICY" >/dev/null
        return 0
    fi
    mkdir -p "$REDIS_DIR"
    log "starting Redis on port $REDIS_PORT"
    # The password goes in through the configuration on stdin, never on the command line.
    { [ -z "$REDIS_PASSWORD" ] || printf 'requirepass "%s"\n' "$REDIS_PASSWORD"; } |
        redis-server - --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_DIR" \
            --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
            --save "" --appendonly no \
            --maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy "$REDIS_EVICTION_POLICY" >/dev/null
    for _ in $(seq 50); do redis_running && return 0; sleep 0.1; done
    log "Redis did not start; see $REDIS_DIR/redis.log"
    exit 1
}

redis_stop() {
    if redis_running; then
        log "stopping Redis on port $REDIS_PORT"
        redis_cli shutdown nosave >/dev/null 2>&1 || true
    fi
}

superuser_url() {
    echo "postgresql://postgres@localhost:$PG_PORT/postgres?host=$PG_SOCKET_DIR"
}

status() {
    if pg_running; then echo "postgresql: running on port $PG_PORT ($PG_DATA)"; else echo "postgresql: stopped"; fi
    if redis_running; then echo "redis: running on port $REDIS_PORT"; else echo "redis: stopped"; fi
}

case "${1:-}" in
    install) install_packages; install_venv ;;
    install-browser) install_browser ;;
    start) pg_start; redis_start ;;
    stop) pg_stop; redis_stop ;;
    start-postgres) pg_start ;;
    stop-postgres) pg_stop ;;
    start-redis) redis_start ;;
    stop-redis) redis_stop ;;
    status) status ;;
    superuser-url) superuser_url ;;
    *) echo "usage: $0 {install|install-browser|start|stop|start-postgres|stop-postgres|start-redis|stop-redis|status|superuser-url}" >&2; exit 2 ;;
esac
