# Shared helpers of scripts/run and scripts/test (sourced, not run).

step() { printf '\n==> %s\n' "$*"; }

# Create .venv and install the project; reinstall only when pyproject.toml changed.
ensure_venv() {
  local extras="${1:-}" spec="." stamp
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x .venv/bin/python ]; then
    step "creating .venv"
    python3 -m venv .venv
  fi
  stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}"
  if [ ! -f "$stamp" ]; then
    step "installing dependencies ($spec)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$spec"
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

# Wait up to $2 seconds for command $1 to succeed.
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -q 2>/dev/null; then return; fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    step "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_for "pg_isready -h 127.0.0.1 -q" 30 || { echo "PostgreSQL did not start" >&2; exit 1; }
  else
    echo "PostgreSQL is not answering on 127.0.0.1:5432 and cannot be started here." >&2
    echo "Start it, or point DATABASE_URL at one." >&2
    exit 1
  fi
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then return; fi
  if command -v redis-server >/dev/null; then
    step "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
    wait_for "redis-cli -h 127.0.0.1 ping" 15 || { echo "Redis did not start" >&2; exit 1; }
  else
    echo "Redis is not answering on 127.0.0.1:6379 and redis-server is not installed." >&2
    exit 1
  fi
}

ensure_chromium_for_browser_tests() {
  if [ -x /usr/bin/chromium ]; then return; fi
  if [ "${CI:-}" = "true" ]; then
    echo "CI: /usr/bin/chromium is missing; .ci/run installs it (apt-get install chromium)." >&2
    exit 1
  fi
  echo "warning: /usr/bin/chromium not found: browser tests will be skipped" \
    "(apt-get install chromium)." >&2
}

# The settings ./scripts/run uses when neither the environment nor .env sets them.
dev_settings() {
  export PORT="${PORT:-8000}"
  # Development mode (and with it the development keys) unless the environment or .env says
  # otherwise: the service defaults to production, which refuses to start without real keys.
  if [ -z "${DEBUG:-}" ] && ! grep -qs '^DEBUG=' .env; then
    export DEBUG=true
  fi
  export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  # Tracked links must point where this server listens.
  if [ -z "${TRACKING_BASE_URL:-}" ] && ! grep -qs '^TRACKING_BASE_URL=' .env; then
    export TRACKING_BASE_URL="http://127.0.0.1:$PORT"
  fi
}
