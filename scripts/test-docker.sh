#!/usr/bin/env bash
# Deployment test: the image and docker-compose.yml on a real Docker engine, through the operators'
# own commands (docker-compose up -d / logs / restart / down, docker kill, docker inspect).
#
#   npm run test:docker                      (as root; .ci/run runs it after npm test)
#   LARGE_SESSION=1 npm run test:docker    also times the stop of a ~1 GB session
#
# It installs what is missing (Debian's docker.io, docker-compose, mmdebstrap), starts its own
# dockerd and stops it at the end, and removes every container and image it made. The flow runs
# with Debian's docker-compose 1.29 and again with Compose v2: the `docker compose` plugin when the
# machine has one, otherwise Debian's own v2 package (docker-compose from trixie, fetched and
# signature-checked by apt-get with a private state directory, unpacked under $WORK, never
# installed over the 1.29 package; kept in DOCKER_TEST_CACHE for a week). Docker Hub is
# not reachable from the machines this runs on, so it builds a stand-in for node:20-bookworm-slim
# (mmdebstrap of bookworm + this machine's Node 20 and npm + this machine's CA bundle, which the
# registries' TLS proxy needs) and passes it as NODE_IMAGE. The bookworm tree is cached in
# DOCKER_TEST_CACHE (default /var/cache/multiuser-server-docker-test) for a week. If dockerd cannot start, it fails with
# the daemon's own words. Bounded by DOCKER_TEST_TIMEOUT_S (default 600 s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

LIMIT_S=${DOCKER_TEST_TIMEOUT_S:-600}
LARGE_SESSION=${LARGE_SESSION:-0}
CONTAINER=blender-multiuser-server
STANDIN=local/node:20-bookworm-slim-standin
ADMIN_PW=docker-test-admin
SERVER_PW=docker-test-secret

WORK=$(mktemp -d /tmp/mus-docker.XXXXXX)
PROJ=$WORK/project
SOCK=$WORK/docker.sock
export DOCKER_HOST=unix://$SOCK
passed=0
failed=0
dockerd_pid=
watchdog=
bridge_was_there=no
ip link show docker0 >/dev/null 2>&1 && bridge_was_there=yes

log() { printf '[test-docker %4ds] %s\n' "$SECONDS" "$*"; }
ok() {
  passed=$((passed + 1))
  printf 'ok %d - %s\n' "$passed" "$*"
}
fail() {
  failed=$((failed + 1))
  printf 'not ok - %s\n' "$*"
  [ -f "$WORK/dockerd.log" ] && { echo '--- last lines of dockerd.log'; tail -n 15 "$WORK/dockerd.log"; }
  exit 1
}
check_deadline() { [ "$SECONDS" -lt "$LIMIT_S" ] || fail "over the ${LIMIT_S} s budget at: $1"; }

cleanup() {
  local rc=$?
  set +e
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    if [ -f "$PROJ/docker-compose.yml" ]; then
      (cd "$PROJ" && timeout 150 docker-compose down --rmi all --volumes --remove-orphans >/dev/null 2>&1)
    fi
    docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1
    docker images -q | sort -u | xargs -r docker rmi -f >/dev/null 2>&1
    kill -TERM "$dockerd_pid"
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$dockerd_pid" 2>/dev/null && kill -KILL "$dockerd_pid"
  fi
  [ "$bridge_was_there" = no ] && ip link delete docker0 >/dev/null 2>&1
  # Overlay mounts of a daemon that died hard would keep rm from finishing.
  grep -o " $WORK/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
  echo "docker: $passed passed, $failed failed"
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then echo "docker: stopped with exit code $rc before the end"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# A watchdog: the whole run, hung commands included, stays within the budget (bash runs the TERM
# trap only once its foreground command ends, so that command is ended too, by its pid).
main_pid=$$
(
  sleep "$LIMIT_S"
  echo "[test-docker] over the ${LIMIT_S} s budget: stopping"
  for c in $(ps -o pid= --ppid "$main_pid"); do [ "$c" != "$BASHPID" ] && kill -TERM "$c" 2>/dev/null; done
  kill -TERM "$main_pid" 2>/dev/null
) &
watchdog=$!

[ "$(id -u)" = 0 ] || fail "must run as root (it starts dockerd)"

# --- tools ------------------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null || fail "apt-get install ${need[*]} failed"
fi
[ -f dist/test/docker/session-tool.js ] || npm run build >/dev/null

# Compose v2: the machine's plugin, or Debian's v2 package used from a private DOCKER_CONFIG.
cache_dir=${DOCKER_TEST_CACHE:-/var/cache/multiuser-server-docker-test}
mkdir -p "$cache_dir"
compose_v2_config=
if ! docker compose version >/dev/null 2>&1; then
  v2_dir=$cache_dir/compose-v2
  v2_bin=$v2_dir/root/usr/libexec/docker/cli-plugins/docker-compose
  if ! { [ -x "$v2_bin" ] && [ -n "$(find "$v2_bin" -mtime -7)" ]; }; then
    log "fetching Debian's Compose v2 package (docker-compose from trixie) with apt-get"
    rm -rf "$v2_dir"
    mkdir -p "$v2_dir/lists/partial" "$v2_dir/cache/archives/partial" "$v2_dir/deb"
    # signed-by: apt checks the suite's signature against Debian's archive keyring, as for any
    # package it installs.
    echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' \
      >"$v2_dir/sources.list"
    apt_v2=(-o "Dir::Etc::SourceList=$v2_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$v2_dir/lists" -o "Dir::Cache=$v2_dir/cache" -o APT::Sandbox::User=root
      -o Debug::NoLocking=1)
    apt-get "${apt_v2[@]}" update >"$WORK/apt-v2.log" 2>&1 || { tail -n 5 "$WORK/apt-v2.log"; fail "apt-get update of trixie for Compose v2 failed"; }
    (cd "$v2_dir/deb" && apt-get "${apt_v2[@]}" download docker-compose/trixie) >>"$WORK/apt-v2.log" 2>&1 ||
      { tail -n 5 "$WORK/apt-v2.log"; fail "apt-get download of Compose v2 failed"; }
    dpkg-deb -x "$v2_dir"/deb/docker-compose_*.deb "$v2_dir/root" || fail "cannot unpack the Compose v2 package"
    [ -x "$v2_bin" ] || fail "the Compose v2 package has no $v2_bin"
    touch "$v2_bin"
  fi
  compose_v2_config=$WORK/docker-config
  mkdir -p "$compose_v2_config/cli-plugins"
  ln -s "$v2_bin" "$compose_v2_config/cli-plugins/docker-compose"
fi
# Compose v2 as the operator types it.
compose_v2() {
  if [ -n "$compose_v2_config" ]; then DOCKER_CONFIG=$compose_v2_config docker compose "$@"; else docker compose "$@"; fi
}
compose_v2 version >/dev/null 2>&1 || fail "docker compose (v2) does not run: $(compose_v2 version 2>&1 | head -n 2)"

# --- the daemon -------------------------------------------------------------------------------
if pgrep -x dockerd >/dev/null; then
  fail "another dockerd is running (pid $(pgrep -x dockerd | tr '\n' ' ')): it would share docker0 and the iptables chains; stop it first"
fi
log "starting dockerd"
dockerd --data-root "$WORK/root" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
  -H "unix://$SOCK" >"$WORK/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 120); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited at start (see dockerd.log below)"
  sleep 0.5
done
docker version >/dev/null 2>&1 || fail "dockerd did not answer within 60 s"
ok "dockerd $(docker version -f '{{.Server.Version}}') runs"

# --- the stand-in base image ------------------------------------------------------------------
log "building the stand-in for node:20-bookworm-slim with mmdebstrap"
node_bin=$(command -v node)
npm_dir=$(npm root -g)/npm
[ -f "$npm_dir/bin/npm-cli.js" ] || fail "npm not found at $npm_dir"
mkdir -p "$WORK/add/usr/local/bin" "$WORK/add/usr/local/lib/node_modules" "$WORK/add/etc/ssl/certs"
cp "$(readlink -f "$node_bin")" "$WORK/add/usr/local/bin/node"
cp -a "$npm_dir" "$WORK/add/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$WORK/add/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$WORK/add/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$WORK/add/etc/ssl/certs/ca-certificates.crt"
# The bookworm tree is kept between runs (a week at most): mmdebstrap is the slowest step here.
base_tar=$cache_dir/bookworm-minbase.tar
if [ -s "$base_tar" ] && [ -n "$(find "$base_tar" -mtime -7)" ]; then
  log "reusing $base_tar"
else
  timeout 300 mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$base_tar.part" >"$WORK/mmdebstrap.log" 2>&1 || {
    tail -n 20 "$WORK/mmdebstrap.log"
    rm -f "$base_tar.part"
    fail "mmdebstrap failed"
  }
  mv "$base_tar.part" "$base_tar"
fi
docker import "$base_tar" local/bookworm-minbase:standin >/dev/null
# Node, npm and the CA bundle on top, where the official image keeps them (/usr/local).
cat >"$WORK/add/Dockerfile" <<'EOF'
FROM local/bookworm-minbase:standin
COPY usr /usr
COPY etc /etc
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
docker build -q -t "$STANDIN" "$WORK/add" >/dev/null || fail "building the stand-in on top of the bookworm import failed"
[ "$(docker run --rm "$STANDIN" node --version)" = "$(node --version)" ] || fail "the stand-in cannot run node"
ok "stand-in base image $STANDIN ($(docker run --rm "$STANDIN" node --version))"
check_deadline "base image"

# --- the operator's directory -----------------------------------------------------------------
mkdir -p "$PROJ"
tar -C "$ROOT" --exclude=./node_modules --exclude=./dist --exclude=./.git --exclude=./data --exclude=./.env -cf - . |
  tar -C "$PROJ" -xf -
cd "$PROJ"
write_env() {
  # The operator's .env: the example plus the keys this test sets.
  cp .env.example .env
  cat >>.env <<EOF
ADMIN_PASSWORD=$ADMIN_PW
SERVER_PASSWORD=$1
NODE_IMAGE=$STANDIN
PUBLISH_ADDRESS=127.0.0.1
EOF
}
write_env "$SERVER_PW"

# Ports 5555-5557 on 127.0.0.1 are what the compose file publishes.
for p in 5555 5556 5557; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "port $p is in use on this machine"; fi
done

log "docker-compose build"
started=$SECONDS
timeout 420 docker-compose build >"$WORK/build.log" 2>&1 || {
  tail -n 30 "$WORK/build.log"
  fail "docker-compose build failed"
}
image_id=$(docker images -q multiuser-server:latest)
[ -n "$image_id" ] || fail "no multiuser-server:latest image after the build"
size_mb() { echo $(($(docker image inspect -f '{{.Size}}' "$1") / 1000000)); }
ok "image built in $((SECONDS - started)) s: $(size_mb multiuser-server:latest) MB (base $(size_mb "$STANDIN") MB)"
check_deadline "image build"

logs_have() {
  docker-compose logs --no-color >"$WORK/logs.txt" 2>&1
  grep -q -- "$1" "$WORK/logs.txt"
}
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$CONTAINER" 2>/dev/null || echo gone; }
wait_health() {
  local want=$1 within=$2 from=$SECONDS
  while [ "$(health)" != "$want" ]; do
    [ $((SECONDS - from)) -lt "$within" ] || fail "not $want within $within s (now $(health)): $(docker-compose logs --tail 20 2>&1)"
    check_deadline "waiting for $want"
    sleep 0.2
  done
}
now_ms() { date +%s%3N; }
# A log follower started in the background attaches asynchronously: a stop issued before it has
# attached leaves its file without the stop's lines. Wait until it has written the start line.
follower_attached() {
  local file=$1 from=$SECONDS
  until grep -q 'Auto-save enabled' "$file" 2>/dev/null; do
    [ $((SECONDS - from)) -lt 30 ] || fail "the log follower did not attach within 30 s"
    sleep 0.1
  done
}
tool() { timeout 300 node "$ROOT/dist/test/docker/session-tool.js" "$@"; }

# --- first start: ./data does not exist; the daemon creates it as root ------------------------
[ ! -e data ] || fail "data/ exists before the first start"
t0=$(now_ms)
docker-compose up -d >/dev/null 2>&1 || fail "docker-compose up -d failed"
wait_health healthy 90
ok "docker-compose up -d to healthy in $(($(now_ms) - t0)) ms (first start, image present)"
logs_have 'Auto-save enabled (interval: 120s)' || fail "no 'Auto-save enabled' in docker-compose logs"
# What one health check costs inside the container (docs/benchmarks.md "Deployment").
docker exec "$CONTAINER" bash -c 'TIMEFORMAT="%R s wall, %U s user, %S s sys"; time healthcheck.sh' >"$WORK/hc-cost.txt" 2>&1 ||
  fail "healthcheck.sh failed on a healthy server: $(cat "$WORK/hc-cost.txt")"
log "one health check: $(tail -n 1 "$WORK/hc-cost.txt")"
ok "docker-compose logs | grep \"Auto-save enabled\" finds the line"
uid=$(docker exec "$CONTAINER" sh -c 'grep ^Uid: /proc/1/status' | awk '{print $2}')
[ "$uid" = 10001 ] || fail "the server (PID 1) runs as uid $uid, not 10001"
[ "$(stat -c %u data/server.lock)" = 10001 ] || fail "data/server.lock is not owned by 10001"
ok "the server is PID 1 as uid 10001; data/ (created by the daemon as root) is writable by it"
docker inspect "$CONTAINER" >"$WORK/inspect.json"
grep -q '"Destination": "/data"' "$WORK/inspect.json" || fail "docker inspect shows no /data mount"
ok "docker inspect $CONTAINER | grep data shows the mount"

# --- a session with nodes, chat and tasks -----------------------------------------------------
tool init 5555 "$ADMIN_PW" "$SERVER_PW" >/dev/null || fail "our client could not initialise a session"
d1=$(tool digest 5555 "$SERVER_PW") || fail "our client could not join"
[[ "$d1" == *'"chat":["lamp done'* ]] || fail "chat missing: $d1"
[[ "$d1" == *'"tasks":["Fix the lamp"]'* ]] || fail "tasks missing: $d1"
ok "our client initialised a session (3 nodes, chat, tasks) through the published ports"

# --- docker-compose restart -------------------------------------------------------------------
docker-compose restart >/dev/null 2>&1 || fail "docker-compose restart failed"
wait_health healthy 90
logs_have 'Session saved to disk (reason: shutdown)' || fail "no shutdown save at restart"
logs_have 'Session restored from disk' || fail "no 'Session restored from disk' after restart"
d2=$(tool digest 5555 "$SERVER_PW")
[ "$d2" = "$d1" ] || fail "the graph changed across restart: $d1 vs $d2"
ok "docker-compose restart: 'Session restored from disk', a joining client gets the same graph, chat and tasks"

# --- docker kill -s KILL, then up -d ----------------------------------------------------------
tool mutate 5555 "$SERVER_PW" >/dev/null || fail "our client could not change the session"
d3=$(tool digest 5555 "$SERVER_PW")
[ "$d3" != "$d2" ] || fail "the change did not show"
docker kill -s KILL "$CONTAINER" >/dev/null
docker-compose up -d >/dev/null 2>&1 || fail "up -d after the kill failed"
wait_health healthy 90
d4=$(tool digest 5555 "$SERVER_PW")
[ "$d4" = "$d3" ] || fail "lost changes across kill -9: $d3 vs $d4"
ok "docker kill -s KILL then up -d: nothing lost (the unsaved change came back from the journal)"

# --- a server that cannot answer turns the container unhealthy --------------------------------
pid=$(docker inspect -f '{{.State.Pid}}' "$CONTAINER")
kill -STOP "$pid"
wait_health unhealthy 60
kill -CONT "$pid"
wait_health healthy 60
ok "with the server process stopped (SIGSTOP) the container turns unhealthy, and healthy again after SIGCONT"

# --- docker-compose down ----------------------------------------------------------------------
# The container's log holds every earlier start too (restart, kill): count the shutdown lines so
# that this stop's own line is the one checked.
shutdown_line='Session saved to disk (reason: shutdown)'
earlier=$(docker-compose logs --no-color 2>&1 | grep -c "$shutdown_line" || true)
docker-compose logs -f --no-color >"$WORK/final.log" 2>&1 &
follower=$!
follower_attached "$WORK/final.log"
t0=$(now_ms)
docker-compose down >/dev/null 2>&1 || fail "docker-compose down failed"
down_ms=$(($(now_ms) - t0))
wait "$follower" || true
[ "$(grep -c "$shutdown_line" "$WORK/final.log" || true)" -gt "$earlier" ] ||
  fail "no shutdown save at down: $(tail -5 "$WORK/final.log")"
# A session unchanged since its last save is not rewritten (the line says so); otherwise the
# metadata file names this save.
if ! grep "$shutdown_line" "$WORK/final.log" | tail -n 1 | grep -q 'unchanged since the last save'; then
  grep -q '"reason": "shutdown"' data/session_metadata.json || fail "session_metadata.json does not say shutdown"
fi
[ ! -e data/server.lock ] || fail "server.lock left behind"
ok "docker-compose down in $down_ms ms: 'Session saved to disk (reason: shutdown)', lock released"

# --- empty SERVER_PASSWORD: a public session --------------------------------------------------
write_env ''
# Files copied in by hand on the host are root's: the entry point hands them over too.
cp data/session_metadata.json data/copied-by-root.json
docker-compose up -d >/dev/null 2>&1 || fail "up -d with an empty SERVER_PASSWORD failed"
wait_health healthy 90
logs_have 'No server password: the session is public.' || fail "not public with SERVER_PASSWORD="
d5=$(tool digest 5555 '')
[ "$d5" = "$d3" ] || fail "graph differs after the public restart"
[ "$(stat -c %u data/copied-by-root.json)" = 10001 ] || fail "a root-owned file in data/ was not handed over"
ok "empty SERVER_PASSWORD starts a public session with the same graph; root-owned files in data/ handed to 10001"

# --- the same operator flow with docker compose (v2) ------------------------------------------
v2_version=$(compose_v2 version --short)
[[ "$(compose_v2 ps)" == *"$CONTAINER"* ]] || fail "docker compose (v2) does not see the service started by docker-compose 1.29"
v2_logs_have() {
  compose_v2 logs --no-color >"$WORK/logs-v2.txt" 2>&1
  grep -q -- "$1" "$WORK/logs-v2.txt"
}
compose_v2 exec -T "$CONTAINER" multiuser-server verify >"$WORK/verify-v2.txt" 2>&1 ||
  fail "docker compose exec ... multiuser-server verify failed: $(tail -n 3 "$WORK/verify-v2.txt")"
ok "docker compose (v2) $v2_version: ps sees the running service; exec $CONTAINER multiuser-server verify passes beside the server"
compose_v2 restart >/dev/null 2>&1 || fail "docker compose restart failed"
wait_health healthy 90
d6=$(tool digest 5555 '')
[ "$d6" = "$d3" ] || fail "graph differs after docker compose restart"
ok "docker compose restart: healthy again, a joining client gets the same graph"
compose_v2 down >/dev/null 2>&1 || fail "docker compose down failed"
[ "$(docker ps -aq --filter "name=^${CONTAINER}\$" | wc -l)" = 0 ] || fail "docker compose down left the container"
[ ! -e data/server.lock ] || fail "server.lock left behind by docker compose down"
t0=$(now_ms)
compose_v2 up -d >/dev/null 2>&1 || fail "docker compose up -d failed"
wait_health healthy 90
ok "docker compose down, then up -d to healthy in $(($(now_ms) - t0)) ms; lock released in between"
v2_logs_have 'Auto-save enabled (interval: 120s)' || fail "no 'Auto-save enabled' in docker compose logs"
v2_logs_have 'Session restored from disk' || fail "no 'Session restored from disk' in docker compose logs"
d7=$(tool digest 5555 '')
[ "$d7" = "$d3" ] || fail "graph differs after docker compose down/up"
ok "docker compose logs | grep finds 'Auto-save enabled' and 'Session restored from disk'; same graph"
compose_v2 logs -f --no-color >"$WORK/final-v2.log" 2>&1 &
follower=$!
follower_attached "$WORK/final-v2.log"
compose_v2 down >/dev/null 2>&1 || fail "the last docker compose down failed"
wait "$follower" || true
grep -q "$shutdown_line" "$WORK/final-v2.log" || fail "no shutdown save at docker compose down: $(tail -5 "$WORK/final-v2.log")"
[ ! -e data/server.lock ] || fail "server.lock left behind"
ok "docker compose down: 'Session saved to disk (reason: shutdown)', lock released"
mv .env "$WORK/env.saved"
docker-compose up -d >"$WORK/noenv-v1.txt" 2>&1 && fail "docker-compose up -d started without a .env"
grep -q "Couldn't find env file" "$WORK/noenv-v1.txt" || fail "unexpected words without .env: $(cat "$WORK/noenv-v1.txt")"
compose_v2 up -d >"$WORK/noenv-v2.txt" 2>&1 && fail "docker compose up -d started without a .env"
grep -q 'env file .* not found' "$WORK/noenv-v2.txt" || fail "unexpected words without .env: $(cat "$WORK/noenv-v2.txt")"
mv "$WORK/env.saved" .env
ok "without .env both refuse to start: '$(head -n 1 "$WORK/noenv-v1.txt")' / '$(head -n 1 "$WORK/noenv-v2.txt")'"

# --- optional: stop of a ~1 GB session within the grace period --------------------------------
if [ "$LARGE_SESSION" = 1 ]; then
  docker-compose down >/dev/null 2>&1
  rm -rf data
  log "writing the ~1 GB benchmark scene into data/"
  tool seed-large "$PROJ/data" >"$WORK/large.json" || fail "could not write the large session"
  t0=$(now_ms)
  docker-compose up -d >/dev/null 2>&1
  wait_health healthy 300
  restore_ms=$(($(now_ms) - t0))
  # One change, so the stop has a real save of the whole session to make (an unchanged session
  # is not rewritten).
  tool touch 5555 '' >/dev/null || fail "large session: our client could not change it"
  docker-compose logs -f --no-color >"$WORK/large.log" 2>&1 &
  follower=$!
  follower_attached "$WORK/large.log"
  t0=$(now_ms)
  docker-compose stop >/dev/null 2>&1
  stop_ms=$(($(now_ms) - t0))
  wait "$follower" || true
  grep 'Session saved to disk (reason: shutdown)' "$WORK/large.log" | grep -vq 'unchanged since' ||
    fail "large session: no full shutdown save: $(grep 'Session saved' "$WORK/large.log" | tail -n 1)"
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER")" = 0 ] || fail "large session: killed before the end of its save"
  ok "$(cat "$WORK/large.json"): up -d to healthy $restore_ms ms; docker-compose stop $stop_ms ms including the final save (grace period, exit 0); snapshot $(du -m data/session_snapshot.pkl | cut -f1) MB"
fi
check_deadline "end"
