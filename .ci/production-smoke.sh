#!/usr/bin/env bash
# A production install must run the server: copies package.json, package-lock.json and the built
# dist/ into an empty folder, installs there with `npm ci --omit=dev` (so a runtime import of a
# devDependency fails here), starts `trove serve` on 127.0.0.1 with a fresh data folder, and checks
# with curl: the ping, a deploy into a generic local repository, and a fetch through a generic
# remote repository whose upstream is that local repository (the upstream client's code path).
# Needs `npm run build` first. Run by hand: .ci/production-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f dist/cli/trove.js ] || { echo "production smoke: dist/cli/trove.js is missing: run 'npm run build' first" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/trove-production-XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "production smoke: FAILED: $*" >&2
  if [ -f "$work/server.log" ]; then
    echo "--- server log (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  exit 1
}

echo "-- npm ci --omit=dev in $work/app"
mkdir -p "$work/app" "$work/data"
cp package.json package-lock.json "$work/app/"
cp -R dist "$work/app/dist"
# Install scripts are skipped: the only production package with one is better-sqlite3, whose native
# addon would be compiled a second time (minutes on 2 cores; its prebuilt binaries are not reachable
# here). The addon the main install compiled, for the same version and the same Node, is copied in.
(cd "$work/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) || fail "npm ci --omit=dev"
[ -d node_modules/better-sqlite3/build ] || fail "node_modules/better-sqlite3/build is missing: run npm ci first"
cp -R node_modules/better-sqlite3/build "$work/app/node_modules/better-sqlite3/build"
# The check below is only meaningful if the dev tools really are absent.
[ ! -e "$work/app/node_modules/vitest" ] || fail "npm ci --omit=dev installed devDependencies"

port="$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")"
base="http://127.0.0.1:$port"
password="smoke-$(node -e "console.log(require('node:crypto').randomBytes(12).toString('hex'))")"

echo "-- trove serve on $base"
(
  cd "$work/app"
  # The remote repository's upstream is this same server on loopback, which Trove refuses unless allowed.
  exec env TROVE_HOST=127.0.0.1 TROVE_PORT="$port" TROVE_DATA_DIR="$work/data" TROVE_ADMIN_PASSWORD="$password" \
    TROVE_ALLOWED_UPSTREAM_HOSTS=127.0.0.1 TROVE_LOG_LEVEL=warn node dist/cli/trove.js serve
) >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 120); do
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start"
  if curl -fsS -o /dev/null "$base/artifactory/api/system/ping" 2>/dev/null; then break; fi
  sleep 0.5
done

echo "-- ping"
[ "$(curl -fsS "$base/artifactory/api/system/ping")" = "OK" ] || fail "ping did not answer OK"

api() { # method path json
  curl -fsS -o /dev/null -u "admin:$password" -X "$1" -H 'content-type: application/json' --data "$3" "$base$2" || fail "$1 $2"
}

echo "-- deploy into a generic local repository"
api PUT /artifactory/api/repositories/smoke-local '{"rclass":"local","packageType":"generic","anonymousRead":true}'
printf 'deployed by the production smoke test %s\n' "$password" >"$work/hello.txt"
status="$(curl -sS -o "$work/deploy.json" -w '%{http_code}' -u "admin:$password" -T "$work/hello.txt" "$base/artifactory/smoke-local/smoke/hello.txt")"
[ "$status" = "201" ] || fail "deploy answered $status: $(cat "$work/deploy.json")"
curl -fsS -u "admin:$password" -o "$work/local.txt" "$base/artifactory/smoke-local/smoke/hello.txt" || fail "download from the local repository"
cmp -s "$work/hello.txt" "$work/local.txt" || fail "the local repository returned other bytes"

echo "-- fetch through a generic remote repository"
api PUT /artifactory/api/repositories/smoke-remote "{\"rclass\":\"remote\",\"packageType\":\"generic\",\"url\":\"$base/artifactory/smoke-local/\"}"
curl -fsS -u "admin:$password" -o "$work/remote.txt" "$base/artifactory/smoke-remote/smoke/hello.txt" || fail "fetch through the remote repository"
cmp -s "$work/hello.txt" "$work/remote.txt" || fail "the remote repository returned other bytes"

echo "-- stop"
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
[ "$code" = "0" ] || fail "the server exited with $code on SIGTERM"
echo "production smoke: OK (npm ci --omit=dev, ping, deploy, remote fetch, clean stop)"
