#!/usr/bin/env bash
# A throwaway MariaDB server for tests, the demo and the benchmarks.
#
#   scripts/test-db.sh start   start one on a fresh temp data dir (socket inside it,
#                              a free TCP port on 127.0.0.1, root with an empty password)
#   scripts/test-db.sh env     print the variables the tests read (eval it)
#   scripts/test-db.sh stop    stop it and remove its data dir
#   scripts/test-db.sh status  say whether it runs
#
# RDUMP_TEST_STATE names the file that remembers the instance (default
# target/test-db.state in the repository), so several can run side by side.
# It never touches a server it did not start: it only stops the one whose
# data dir its state file names.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${RDUMP_TEST_STATE:-$repo/target/test-db.state}

log() { echo "test-db: $*" >&2; }
die() { log "$*"; exit 1; }

# Packages the project needs from Debian: the server and client, the
# reference tools for compatibility tests and benchmarks, nc for stream tests.
ensure_packages() {
    local missing=()
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
    command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
    command -v mydumper >/dev/null 2>&1 || missing+=(mydumper)
    command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
    command -v zstd >/dev/null 2>&1 || missing+=(zstd)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        # policy-rc.d keeps the package from starting a system server of its own
        local prc=/usr/sbin/policy-rc.d had_prc=1
        [ -e "$prc" ] || { had_prc=0; printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod +x "$prc"; }
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || { [ $had_prc = 1 ] || rm -f "$prc"; die "apt-get install ${missing[*]} failed"; }
        [ $had_prc = 1 ] || rm -f "$prc"
    else
        case " ${missing[*]} " in
            *" mariadb-server "*|*" mariadb-client "*)
                die "MariaDB is not installed; install the Debian packages: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" ;;
            *) log "optional tools missing (some tests will say they skip): ${missing[*]}" ;;
        esac
    fi
}

mariadbd_bin() {
    command -v mariadbd 2>/dev/null || { [ -x /usr/sbin/mariadbd ] && echo /usr/sbin/mariadbd; } || die "mariadbd not found"
}

# A CA, a server certificate for 127.0.0.1/localhost and a client
# certificate, in $1, for the TLS tests.
make_certs() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=rdump test CA" -keyout ca-key.pem -out ca.pem
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
        printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > client.ext
        local who
        for who in server client; do
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -subj "/CN=rdump-$who" -keyout "$who-key.pem" -out "$who.csr"
            openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
                -extfile "$who.ext" -out "$who-cert.pem"
        done
    ) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "cannot make the TLS certificates"; }
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

read_state() {
    [ -f "$state" ] || return 1
    # shellcheck disable=SC1090
    . "$state"
    [ -n "${DATADIR:-}" ] && [ -f "$DATADIR/mariadbd.pid" ] && kill -0 "$(cat "$DATADIR/mariadbd.pid")" 2>/dev/null
}

client() { mariadb --no-defaults -uroot -S "$DATADIR/mysql.sock" "$@"; }

start() {
    if read_state; then
        log "already running (data dir $DATADIR, port $PORT)"
        return 0
    fi
    ensure_packages
    local bin; bin=$(mariadbd_bin)
    mkdir -p "$(dirname "$state")"
    DATADIR=$(mktemp -d "${TMPDIR:-/tmp}/rdump-testdb.XXXXXX")
    PORT=$(free_port)
    local user_opt=()
    [ "$(id -u)" -eq 0 ] && user_opt=(--user=root)
    # Temporary files of the install and the server stay in the data dir, so
    # servers started side by side never meet in a shared /tmp.
    mkdir -p "$DATADIR/tmp"
    # RDUMP_TEST_NO_TLS=1: a server without TLS (for the tests of that case).
    local tls_opt=()
    if [ -z "${RDUMP_TEST_NO_TLS:-}" ]; then
        make_certs "$DATADIR/tls"
        tls_opt=(--ssl-ca="$DATADIR/tls/ca.pem" --ssl-cert="$DATADIR/tls/server-cert.pem" --ssl-key="$DATADIR/tls/server-key.pem")
    fi
    TMPDIR="$DATADIR/tmp" mariadb-install-db --no-defaults "${user_opt[@]}" --datadir="$DATADIR/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$DATADIR/install.log" 2>&1 \
        || { cat "$DATADIR/install.log" >&2; die "mariadb-install-db failed"; }
    "$bin" --no-defaults "${user_opt[@]}" \
        --datadir="$DATADIR/data" --tmpdir="$DATADIR/tmp" --socket="$DATADIR/mysql.sock" --pid-file="$DATADIR/mariadbd.pid" \
        --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --log-error="$DATADIR/error.log" --local-infile=1 --max-allowed-packet=256M \
        --log-bin="$DATADIR/binlog" --server-id=1 --log-bin-trust-function-creators=1 \
        --innodb-buffer-pool-size=512M --innodb-log-file-size=256M \
        --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-connections=500 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
        "${tls_opt[@]}" \
        >/dev/null 2>&1 &
    local i
    for i in $(seq 1 120); do
        [ -S "$DATADIR/mysql.sock" ] && client -e 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
    client -e 'SELECT 1' >/dev/null 2>&1 || { tail -20 "$DATADIR/error.log" >&2; die "server did not start"; }
    client -e "CREATE USER IF NOT EXISTS root@'127.0.0.1'; GRANT ALL ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
               CREATE USER IF NOT EXISTS rdump_pw@'%' IDENTIFIED BY 'rdump-secret'; GRANT ALL ON *.* TO rdump_pw@'%';
               CREATE USER IF NOT EXISTS rdump_pw@'localhost' IDENTIFIED BY 'rdump-secret'; GRANT ALL ON *.* TO rdump_pw@'localhost';
               CREATE USER IF NOT EXISTS rdump_tls@'%' IDENTIFIED BY 'rdump-secret' REQUIRE SSL; GRANT ALL ON *.* TO rdump_tls@'%';
               CREATE USER IF NOT EXISTS rdump_x509@'%' IDENTIFIED BY 'rdump-secret' REQUIRE SUBJECT '/CN=rdump-client'; GRANT ALL ON *.* TO rdump_x509@'%';"
    printf 'DATADIR=%q\nPORT=%q\n' "$DATADIR" "$PORT" > "$state"
    log "started: data dir $DATADIR, socket $DATADIR/mysql.sock, port $PORT"
}

stop() {
    if [ ! -f "$state" ]; then log "not running"; return 0; fi
    # shellcheck disable=SC1090
    . "$state"
    if [ -f "$DATADIR/mariadbd.pid" ]; then
        local pid; pid=$(cat "$DATADIR/mariadbd.pid")
        client -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
        local i
        for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    case "$DATADIR" in */rdump-testdb.*) rm -rf "$DATADIR" ;; esac
    rm -f "$state"
    log "stopped"
}

env_vars() {
    read_state || die "not running; run: scripts/test-db.sh start"
    cat <<EOF
export RDUMP_TEST_SOCKET=$DATADIR/mysql.sock
export RDUMP_TEST_HOST=127.0.0.1
export RDUMP_TEST_PORT=$PORT
export RDUMP_TEST_USER=root
export RDUMP_TEST_DATADIR=$DATADIR
EOF
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) env_vars ;;
    status) if read_state; then echo "running: data dir $DATADIR, port $PORT"; else echo "not running"; exit 1; fi ;;
    *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
