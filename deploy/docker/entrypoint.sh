#!/bin/sh
# Container entry point. Started as root, it makes DATA_DIR belong to the server's user (a bind
# mount such as ./data is created by the Docker daemon as root when it does not exist, and files
# copied in by hand on the host are root's too), then drops to that user for good with setpriv
# (util-linux, in every Debian image) and execs the command, so the server is PID 1 and gets
# docker stop's SIGTERM itself. Started with --user already, it only execs.
set -eu

user=multiuser
data="${DATA_DIR:-/data}"

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$data"
  # Only what is not the user's already: a data directory holds tens of files, this stays quick.
  find "$data" \( ! -user "$user" -o ! -group "$user" \) -exec chown "$user:$user" {} +
  exec setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
fi
exec "$@"
