# Mosquitto: Debian's MQTT broker, a private instance under var/services/mosquitto,
# on 127.0.0.1 only, no anonymous access: one user whose password is generated like the others'.
MQTT_PORT="${FACETRAIL_MQTT_PORT:-11883}"
MQTT_DIR="$VAR/mosquitto"
MQTT_CONF="$MQTT_DIR/mosquitto.conf"
MQTT_PASSWD="$MQTT_DIR/passwd"
MQTT_PID="$MQTT_DIR/mosquitto.pid"
MQTT_LOG="$MQTT_DIR/mosquitto.log"
MQTT_USER=facetrail
MQTT_READY_TIMEOUT="${FACETRAIL_MQTT_READY_TIMEOUT:-30}"

mosquitto_bin() { command -v mosquitto 2>/dev/null || { [[ -x /usr/sbin/mosquitto ]] && echo /usr/sbin/mosquitto; }; }

mosquitto_install() {
    [[ -n "$(mosquitto_bin)" ]] && command -v mosquitto_passwd >/dev/null && return 0
    [[ $EUID -eq 0 ]] || die "mosquitto: not installed and not root; run: apt-get install -y mosquitto"
    say "mosquitto: installing Debian's mosquitto package"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >>"$VAR/apt.log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$VAR/apt.log" 2>&1 || die "mosquitto: apt-get update failed; see $VAR/apt.log"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto >>"$VAR/apt.log" 2>&1 ||
            die "mosquitto: apt-get install mosquitto failed; see $VAR/apt.log"
    fi
    [[ -n "$(mosquitto_bin)" ]] || die "mosquitto: installed, but no mosquitto binary found"
}

mosquitto_configure() {
    mkdir -p "$MQTT_DIR/data"
    chmod 700 "$MQTT_DIR"
    rm -f "$MQTT_PASSWD"
    (umask 077; : >"$MQTT_PASSWD")
    mosquitto_passwd -b "$MQTT_PASSWD" "$MQTT_USER" "$(secret MQTT_PASSWORD 20)" >/dev/null ||
        die "mosquitto: mosquitto_passwd failed"
    cat >"$MQTT_CONF" <<CONF
# Written by scripts/services: loopback only, password required, QoS 1 sessions kept on disk.
listener $MQTT_PORT $HOST
allow_anonymous false
password_file $MQTT_PASSWD
persistence true
persistence_location $MQTT_DIR/data/
pid_file $MQTT_PID
log_dest file $MQTT_LOG
log_type error
log_type warning
log_type notice
CONF
    # Started as root, mosquitto drops to its own user unless told to stay: it stays, owning only this folder.
    [[ $EUID -eq 0 ]] && echo "user root" >>"$MQTT_CONF"
    chmod 600 "$MQTT_CONF"
}

mosquitto_ready() { port_open "$MQTT_PORT"; }

mosquitto_up() {
    mosquitto_install
    local bin
    bin="$(mosquitto_bin)"
    if pid_alive "$MQTT_PID" "$MQTT_CONF"; then
        say "mosquitto: already running on $HOST:$MQTT_PORT (pid $(cat "$MQTT_PID"))"
        return 0
    fi
    port_open "$MQTT_PORT" && die "mosquitto: $HOST:$MQTT_PORT is taken by a process this script did not start"
    mosquitto_configure
    [[ -f "$MQTT_LOG" ]] && mv -f "$MQTT_LOG" "$MQTT_LOG.1"
    nohup "$bin" -c "$MQTT_CONF" </dev/null >>"$MQTT_LOG" 2>&1 9>&- &
    echo $! >"$MQTT_PID"
    if ! wait_for "$MQTT_READY_TIMEOUT" mosquitto_ready; then
        tail -n 20 "$MQTT_LOG" >&2 || true
        stop_pid "$MQTT_PID" "$MQTT_CONF" 10
        die "mosquitto: not listening after ${MQTT_READY_TIMEOUT}s; see $MQTT_LOG"
    fi
    say "mosquitto: listening on $HOST:$MQTT_PORT, pid $(cat "$MQTT_PID")"
}

mosquitto_down() {
    stop_pid "$MQTT_PID" "$MQTT_CONF" 15
    say "mosquitto: stopped"
}

mosquitto_status() {
    if pid_alive "$MQTT_PID" "$MQTT_CONF" && mosquitto_ready; then
        say "mosquitto: running on $HOST:$MQTT_PORT (pid $(cat "$MQTT_PID"))"
    else
        say "mosquitto: stopped"
        return 1
    fi
}
