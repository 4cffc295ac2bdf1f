#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the run-history tests.
#
#   eval "$(.ci/postgres.sh)"
#
# Installs Debian's postgresql package if its server is missing, starts a server on a free
# loopback port with its data in a new temporary directory, creates the database
# headwater_test, and prints the line
#   export HEADWATER_TEST_POSTGRES_URL=postgresql://USER@127.0.0.1:PORT/headwater_test
# Whatever goes wrong (no apt, a slow mirror, no server), it says why on stderr, prints
# nothing on stdout and exits 0: the PostgreSQL tests then skip, naming the variable.
# Stop the server with: pg_ctl -D "$DIR/data" stop (the directory is printed on stderr).
set -u

log() { echo "postgres.sh: $*" >&2; }
server_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN=$(server_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "no PostgreSQL server and no apt-get to install one; skipping"
        exit 0
    fi
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
    export DEBIAN_FRONTEND=noninteractive
    log "installing Debian's postgresql (at most 5 minutes)"
    if ! timeout 300 $SUDO apt-get install -y -q --no-install-recommends postgresql >&2; then
        timeout 300 $SUDO apt-get update -q >&2 &&
            timeout 300 $SUDO apt-get install -y -q --no-install-recommends postgresql >&2 ||
            { log "could not install postgresql; skipping"; exit 0; }
    fi
    BIN=$(server_bin)
    if [ -z "$BIN" ]; then log "postgresql installed, but no server found; skipping"; exit 0; fi
fi

DIR=$(mktemp -d /tmp/headwater-postgres.XXXXXX)
RUN=()
DB_USER=$(id -un)
if [ "$(id -u)" = 0 ]; then  # the server refuses to run as root
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home postgres >&2 || { log "no postgres user; skipping"; exit 0; }
    fi
    chown postgres "$DIR"
    RUN=(runuser -u postgres --)
    DB_USER=postgres
fi
PYTHON=$(command -v python3 || command -v python)
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U "$DB_USER" -A trust --no-sync >"$DIR/initdb.log" 2>&1 ||
    { log "initdb failed (see $DIR/initdb.log); skipping"; exit 0; }
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=200" \
    start >&2 || { log "the server did not start (see $DIR/server.log); skipping"; exit 0; }
"${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U "$DB_USER" headwater_test >&2 ||
    { log "createdb failed; skipping"; exit 0; }
log "$("$BIN/postgres" --version) on 127.0.0.1:$PORT, data in $DIR"
echo "export HEADWATER_TEST_POSTGRES_URL=postgresql://$DB_USER@127.0.0.1:$PORT/headwater_test"
