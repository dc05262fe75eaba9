#!/usr/bin/env bash
# Local services for modelctl's tests: Docker engine, OCI registry, PostgreSQL 15, base image, and
# etcd (installed only: tests/kubernetes starts its own control plane with ../shared/k8s/cluster.sh).
#
#   bash scripts/services.sh up      install (apt) + start everything, build the base image once,
#                                    write /var/lib/modelctl-ci/services.env; fast when all runs
#   bash scripts/services.sh down    stop the services that `up` started
#   bash scripts/services.sh status  one line per service; exit 1 if any is down
#
# Everything comes from Debian packages; nothing is pulled from Docker Hub. Needs root.
set -euo pipefail

STATE_DIR=${MODELCTL_CI_STATE_DIR:-/var/lib/modelctl-ci}
ENV_FILE=$STATE_DIR/services.env
STARTED_DIR=$STATE_DIR/started            # one marker file per service `up` started
LOCK_FILE=$STATE_DIR/up.lock         # held on fd 9 while up/down run

PACKAGES=(docker.io docker-registry postgresql debootstrap curl etcd-server prometheus chromium chromium-driver wrk)  # etcd: the kubernetes tests start their own control plane; prometheus: only its promtool (tests/docker/test_router_edge.py), no Prometheus server runs; chromium: the ui browser tests; wrk: make bench

DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_PIDFILE=/var/run/docker.pid
DOCKER_TIMEOUT=${MODELCTL_DOCKER_TIMEOUT:-60}

REGISTRY_ADDR=127.0.0.1:5000
REGISTRY_CONFIG=$STATE_DIR/registry.yml
REGISTRY_STORAGE=$STATE_DIR/registry
REGISTRY_PIDFILE=$STATE_DIR/registry.pid
REGISTRY_LOG=/var/log/modelctl-registry.log
REGISTRY_TIMEOUT=20

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_USER=modelctl
PG_PASSWORD=modelctl
PG_DB=modelctl_test
PG_TIMEOUT=30

BASE_IMAGE=${MODELCTL_TEST_BASE_IMAGE:-modelctl/python-base:bookworm}

say() { printf '%s\n' "$*"; }
die() { printf 'services.sh: error: %s\n' "$*" >&2; exit 1; }
log_tail() { [[ -f $1 ]] && { printf -- '--- last lines of %s ---\n' "$1" >&2; tail -n 20 "$1" >&2; }; return 0; }

# Poll a command until it succeeds or `seconds` pass. Usage: wait_for SECONDS CMD...
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# Write stdin to a file atomically (temp file in the same directory, fsync, rename).
write_atomic() {
    local target=$1 mode=${2:-0644} tmp
    tmp=$(mktemp "$target.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    sync "$tmp"
    mv -f "$tmp" "$target"
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
pid_is() { [[ -r /proc/$1/comm ]] && [[ $(cat "/proc/$1/comm") == "$2" ]]; }

# Send TERM to a pid, wait for it to exit, KILL after a timeout.
stop_pid() {
    local pid=$1 name=$2
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for 20 bash -c "! kill -0 $pid"; then
        say "$name (pid $pid) did not stop after 20 s; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for 5 bash -c "! kill -0 $pid" || die "$name (pid $pid) does not exit"
    fi
}

mark_started() { mkdir -p "$STARTED_DIR"; : >"$STARTED_DIR/$1"; }

# --- packages --------------------------------------------------------------------------------

ensure_packages() {
    local missing=() installed
    installed=" $(dpkg-query -W -f='${db:Status-Status}:${Package} ' "${PACKAGES[@]}" 2>/dev/null || true)"
    for pkg in "${PACKAGES[@]}"; do
        [[ $installed == *" installed:$pkg "* ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq || die "apt-get update failed (is the Debian mirror reachable?)"
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/tmp/modelctl-apt.log 2>&1 \
        || { log_tail /tmp/modelctl-apt.log; die "apt-get install ${missing[*]} failed"; }
}

# --- Docker engine ---------------------------------------------------------------------------

docker_up() { docker info >/dev/null 2>&1; }

ensure_docker() {
    docker_up && return 0
    if [[ -f $DOCKERD_PIDFILE ]]; then
        local old
        old=$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)
        if pid_alive "$old" && pid_is "$old" dockerd; then
            # A dockerd is starting or dying: give it time to answer or to exit.
            wait_for "$DOCKER_TIMEOUT" bash -c "docker info || ! kill -0 $old" || true
            docker_up && return 0
            pid_alive "$old" && die "dockerd (pid $old) runs but does not answer 'docker info'; see $DOCKERD_LOG"
        fi
        rm -f "$DOCKERD_PIDFILE"    # stale: left behind by a killed dockerd
    fi
    say "starting dockerd (log: $DOCKERD_LOG)"
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
    mark_started docker
    if ! wait_for "$DOCKER_TIMEOUT" docker info; then
        log_tail "$DOCKERD_LOG"
        die "dockerd did not answer 'docker info' within ${DOCKER_TIMEOUT} s; see $DOCKERD_LOG"
    fi
}

# --- OCI registry ----------------------------------------------------------------------------

registry_up() { curl -fsS -o /dev/null --max-time 2 "http://$REGISTRY_ADDR/v2/"; }

write_registry_config() {
    # Debian's packaged config demands htpasswd auth and listens on all interfaces; use our own.
    mkdir -p "$REGISTRY_STORAGE"
    write_atomic "$REGISTRY_CONFIG" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORAGE
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
}

ensure_registry() {
    registry_up && return 0
    local old
    old=$(cat "$REGISTRY_PIDFILE" 2>/dev/null || true)
    if pid_alive "$old" && pid_is "$old" docker-registry; then
        wait_for "$REGISTRY_TIMEOUT" registry_up && return 0
        die "docker-registry (pid $old) runs but http://$REGISTRY_ADDR/v2/ does not answer; see $REGISTRY_LOG"
    fi
    if ss -Hltn "sport = :${REGISTRY_ADDR##*:}" | grep -q .; then
        die "port ${REGISTRY_ADDR##*:} is taken by another program that is not an OCI registry (see: ss -ltnp)"
    fi
    write_registry_config
    say "starting docker-registry on $REGISTRY_ADDR (log: $REGISTRY_LOG)"
    setsid docker-registry serve "$REGISTRY_CONFIG" >>"$REGISTRY_LOG" 2>&1 </dev/null 9>&- &
    echo $! | write_atomic "$REGISTRY_PIDFILE"
    mark_started registry
    if ! wait_for "$REGISTRY_TIMEOUT" registry_up; then
        log_tail "$REGISTRY_LOG"
        die "registry did not answer GET http://$REGISTRY_ADDR/v2/ within ${REGISTRY_TIMEOUT} s"
    fi
}

# --- PostgreSQL ------------------------------------------------------------------------------

pg_running() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
psql_admin() { runuser -u postgres -- psql -p "$PG_PORT" -qAtX -v ON_ERROR_STOP=1 "$@"; }

ensure_postgres() {
    [[ -d /etc/postgresql/$PG_VERSION/$PG_CLUSTER ]] \
        || pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null \
        || die "pg_createcluster $PG_VERSION $PG_CLUSTER failed"
    # Loopback only, via a drop-in (Debian's postgresql.conf includes conf.d/).
    local dropin=/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d/modelctl.conf
    local want="listen_addresses = '127.0.0.1'    # written by modelctl scripts/services.sh"
    if [[ ! -f $dropin || $(cat "$dropin") != "$want" ]]; then
        printf '%s\n' "$want" | write_atomic "$dropin"
        if pg_running; then pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart 9>&-; fi
    fi
    if ! pg_running; then
        say "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start 9>&- \
            || { log_tail "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"; die "PostgreSQL did not start"; }
        mark_started postgres
    fi
    wait_for "$PG_TIMEOUT" pg_ready \
        || die "PostgreSQL does not accept connections on 127.0.0.1:$PG_PORT within ${PG_TIMEOUT} s"
    psql_admin <<EOF || die "could not create role '$PG_USER' / database '$PG_DB'"
SELECT 'CREATE ROLE $PG_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER')\gexec
ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
-- tests drop their databases WITH (FORCE); that must also end an autovacuum worker in them
GRANT pg_signal_backend TO $PG_USER;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB')\gexec
EOF
}

# --- base image ------------------------------------------------------------------------------

base_image_present() { docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; }

build_base_image() {
    base_image_present && return 0
    bash "$(dirname "${BASH_SOURCE[0]}")/build-base-image.sh" "$BASE_IMAGE"
}

# --- env file and status ---------------------------------------------------------------------

write_env_file() {
    local content
    content="MODELCTL_TEST_REGISTRY=$REGISTRY_ADDR
MODELCTL_TEST_POSTGRES_URL=postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB
MODELCTL_TEST_BASE_IMAGE=$BASE_IMAGE"
    [[ -f $ENV_FILE && $(cat "$ENV_FILE") == "$content" ]] && return 0
    printf '%s\n' "$content" | write_atomic "$ENV_FILE"
}

# Print one line per service; return the number of services that are down.
report() {
    local down=0 version
    if version=$(docker version -f '{{.Server.Version}}' 2>/dev/null); then
        printf '%-10s %-5s %s\n' docker up "engine $version ($DOCKERD_LOG)"
    else
        printf '%-10s %-5s %s\n' docker down "docker info fails"; down=$((down + 1))
    fi
    if registry_up 2>/dev/null; then
        local pid owner="not started by services.sh"
        pid=$(cat "$REGISTRY_PIDFILE" 2>/dev/null || true)
        pid_alive "$pid" && pid_is "$pid" docker-registry && owner="storage $REGISTRY_STORAGE"
        printf '%-10s %-5s %s\n' registry up "http://$REGISTRY_ADDR ($owner)"
    else
        printf '%-10s %-5s %s\n' registry down "GET http://$REGISTRY_ADDR/v2/ fails"; down=$((down + 1))
    fi
    if pg_ready 2>/dev/null; then
        printf '%-10s %-5s %s\n' postgres up "127.0.0.1:$PG_PORT database $PG_DB (role $PG_USER)"
    else
        printf '%-10s %-5s %s\n' postgres down "nothing accepts connections on 127.0.0.1:$PG_PORT"; down=$((down + 1))
    fi
    if base_image_present; then
        printf '%-10s %-5s %s\n' base-image up "$BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | numfmt --to=iec))"
    else
        local why="missing"
        docker_up || why="unknown: the engine does not answer"
        printf '%-10s %-5s %s\n' base-image down "$BASE_IMAGE $why"; down=$((down + 1))
    fi
    return "$down"
}

# --- commands --------------------------------------------------------------------------------

# Serialize concurrent up/down. Long-lived children are started with `9>&-` so that they
# do not inherit (and keep holding) the lock.
with_lock() {
    mkdir -p "$STATE_DIR"
    exec 9>"$LOCK_FILE"
    flock -w 900 9 || die "another services.sh holds $LOCK_FILE for over 15 min"
    "$@"
}

cmd_up() {
    ensure_packages
    ensure_docker
    ensure_registry
    ensure_postgres
    build_base_image
    write_env_file
    report || die "some services are down (see above)"
    say "env file: $ENV_FILE"
}

cmd_down() {
    if [[ -f $STARTED_DIR/registry ]]; then
        stop_pid "$(cat "$REGISTRY_PIDFILE" 2>/dev/null || true)" docker-registry
        rm -f "$REGISTRY_PIDFILE" "$STARTED_DIR/registry"
        say "registry   stopped"
    fi
    if [[ -f $STARTED_DIR/docker ]]; then
        stop_pid "$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)" dockerd
        rm -f "$STARTED_DIR/docker"
        say "docker     stopped"
    fi
    if [[ -f $STARTED_DIR/postgres ]]; then
        pg_running && pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop
        rm -f "$STARTED_DIR/postgres"
        say "postgres   stopped"
    fi
    return 0
}

main() {
    [[ $(id -u) == 0 ]] || die "needs root (installs packages and starts system services); run with sudo"
    case "${1:-}" in
        up) with_lock cmd_up ;;
        down) with_lock cmd_down ;;
        status) report ;;
        *) die "usage: $0 up|down|status" ;;
    esac
}

main "$@"
