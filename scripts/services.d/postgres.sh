# PostgreSQL: Debian's binaries running a private cluster under var/services/pg,
# TCP on 127.0.0.1 only, password (SCRAM) authentication for every role.
PG_PORT="${FACETRAIL_PG_PORT:-15432}"
PG_DIR="$VAR/pg"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
PG_READY_TIMEOUT="${FACETRAIL_PG_READY_TIMEOUT:-60}"

pg_bin_dir() {
    local version
    version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)"
    [[ -n "$version" && -x "/usr/lib/postgresql/$version/bin/initdb" ]] || return 1
    printf '/usr/lib/postgresql/%s/bin' "$version"
}

postgres_install() {
    pg_bin_dir >/dev/null && return 0
    [[ $EUID -eq 0 ]] || die "postgres: not installed and not root; run: apt-get install -y postgresql"
    say "postgres: installing Debian's postgresql package"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >>"$VAR/apt.log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$VAR/apt.log" 2>&1 || die "postgres: apt-get update failed; see $VAR/apt.log"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >>"$VAR/apt.log" 2>&1 ||
            die "postgres: apt-get install postgresql failed; see $VAR/apt.log"
    fi
    pg_bin_dir >/dev/null || die "postgres: installed, but no /usr/lib/postgresql/<version>/bin/initdb"
}

# initdb and the server refuse to run as root, so root runs them as the postgres user.
as_pg_owner() {
    if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_init() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    local bin pwfile
    bin="$(pg_bin_dir)"
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    chmod 700 "$PG_DIR"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$PG_DIR"
    as_pg_owner test -w "$PG_DIR" || die "postgres: the postgres user cannot write $PG_DIR (check the folders above it are traversable)"
    pwfile="$PG_DIR/.pwfile"
    (umask 077; secret PG_SUPER_PASSWORD 20 >"$pwfile")
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$pwfile"
    as_pg_owner "$bin/initdb" -D "$PG_DATA" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" \
        -E UTF8 --locale=C.UTF-8 >>"$VAR/postgres-init.log" 2>&1 ||
        { rm -f "$pwfile"; die "postgres: initdb failed; see $VAR/postgres-init.log"; }
    rm -f "$pwfile"
}

pg_ready() { "$(pg_bin_dir)/pg_isready" -q -h "$HOST" -p "$PG_PORT"; }

pg_psql() {
    PGPASSWORD="$(secret PG_SUPER_PASSWORD 20)" "$(pg_bin_dir)/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -tA "$@"
}

postgres_app_database() {
    local password
    password="$(secret PG_APP_PASSWORD 20)"
    if [[ "$(pg_psql -c "SELECT 1 FROM pg_roles WHERE rolname='facetrail'")" != 1 ]]; then
        pg_psql -c "CREATE ROLE facetrail LOGIN PASSWORD '$password'"
    fi
    # The generated password is the truth: re-apply it so a lost secrets file heals.
    pg_psql -c "ALTER ROLE facetrail PASSWORD '$password'" >/dev/null
    if [[ "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname='facetrail'")" != 1 ]]; then
        pg_psql -c "CREATE DATABASE facetrail OWNER facetrail"
    fi
}

postgres_running() { [[ -f "$PG_DATA/postmaster.pid" ]] && as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

postgres_up() {
    postgres_install
    if postgres_running; then
        say "postgres: already running on $HOST:$PG_PORT"
        postgres_app_database
        return 0
    fi
    port_open "$PG_PORT" && die "postgres: $HOST:$PG_PORT is taken by a process this script did not start"
    postgres_init
    # No unix socket (its path could exceed the OS limit in deep checkouts): TCP on loopback only.
    as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_READY_TIMEOUT" \
        -o "-c listen_addresses=$HOST -p $PG_PORT -c unix_socket_directories=''" start >/dev/null 9>&- ||
        { tail -n 20 "$PG_LOG" >&2 || true; die "postgres: not started after ${PG_READY_TIMEOUT}s; see $PG_LOG"; }
    wait_for "$PG_READY_TIMEOUT" pg_ready || die "postgres: not accepting connections; see $PG_LOG"
    postgres_app_database
    say "postgres: listening on $HOST:$PG_PORT, database facetrail"
}

postgres_down() {
    if pg_bin_dir >/dev/null && postgres_running; then
        as_pg_owner "$(pg_bin_dir)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
    fi
    say "postgres: stopped"
}

postgres_status() {
    if pg_bin_dir >/dev/null && postgres_running && pg_ready; then
        say "postgres: running on $HOST:$PG_PORT"
    else
        say "postgres: stopped"
        return 1
    fi
}
