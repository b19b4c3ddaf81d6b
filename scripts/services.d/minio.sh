# MinIO: built from source with the Go toolchain (the module proxy serves no release
# tags of it, so a pinned pseudo-version names one exact commit).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_PORT="${FACETRAIL_MINIO_PORT:-19000}"
MINIO_CONSOLE_PORT="${FACETRAIL_MINIO_CONSOLE_PORT:-19001}"
MINIO_BIN="$CACHE/bin/minio-$MINIO_VERSION"
MINIO_PID="$VAR/minio.pid"
MINIO_LOG="$VAR/minio.log"
# What names our server among processes: its data folder, not the binary's path, which moves with
# FACETRAIL_SERVICES_CACHE (a `down` without the `up`'s cache setting would leave the server running).
MINIO_MARKER="$VAR/minio-data"
MINIO_READY_TIMEOUT="${FACETRAIL_MINIO_READY_TIMEOUT:-60}"

minio_install() {
    [[ -x "$MINIO_BIN" ]] && return 0
    need go "install Go 1.24 or newer"
    say "minio: building github.com/minio/minio@$MINIO_VERSION (several minutes on a small machine, once)"
    local gobin="$CACHE/gobin.tmp"
    rm -rf "$gobin"
    GOBIN="$gobin" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION" ||
        die "minio: go install github.com/minio/minio@$MINIO_VERSION failed"
    mkdir -p "$CACHE/bin"
    mv "$gobin/minio" "$MINIO_BIN"
    rm -rf "$gobin"
}

minio_ready() { curl -fsS -o /dev/null "http://$HOST:$MINIO_PORT/minio/health/ready" 2>/dev/null; }

minio_up() {
    if pid_alive "$MINIO_PID" "$MINIO_MARKER"; then
        say "minio: already running on $HOST:$MINIO_PORT (pid $(cat "$MINIO_PID"))"
        return 0
    fi
    port_open "$MINIO_PORT" && die "minio: $HOST:$MINIO_PORT is taken by a process this script did not start"
    minio_install
    mkdir -p "$VAR/minio-data"
    [[ -f "$MINIO_LOG" ]] && mv -f "$MINIO_LOG" "$MINIO_LOG.1"
    MINIO_ROOT_USER="$(secret MINIO_ROOT_USER 8)" \
        MINIO_ROOT_PASSWORD="$(secret MINIO_ROOT_PASSWORD 20)" \
        MINIO_UPDATE=off MINIO_BROWSER=off \
        nohup "$MINIO_BIN" server --quiet --anonymous \
        --address "$HOST:$MINIO_PORT" --console-address "$HOST:$MINIO_CONSOLE_PORT" \
        "$VAR/minio-data" </dev/null >>"$MINIO_LOG" 2>&1 9>&- &
    echo $! >"$MINIO_PID"
    if ! wait_for "$MINIO_READY_TIMEOUT" minio_ready; then
        tail -n 20 "$MINIO_LOG" >&2 || true
        stop_pid "$MINIO_PID" "$MINIO_MARKER" 10
        die "minio: not ready after ${MINIO_READY_TIMEOUT}s; see $MINIO_LOG"
    fi
    say "minio: listening on $HOST:$MINIO_PORT, pid $(cat "$MINIO_PID")"
}

minio_down() {
    stop_pid "$MINIO_PID" "$MINIO_MARKER" 30
    say "minio: stopped"
}

minio_status() {
    if pid_alive "$MINIO_PID" "$MINIO_MARKER" && minio_ready; then
        say "minio: running on $HOST:$MINIO_PORT (pid $(cat "$MINIO_PID"))"
    else
        say "minio: stopped"
        return 1
    fi
}
