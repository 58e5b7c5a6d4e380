#!/bin/sh
# Installs posagent the way the Debian package does, into ROOT (default /): the binary,
# the systemd unit, the udev rules, the device profiles, a commented config made by
# `posagent init` (mode 0640) and the data directory (mode 0700). As root into /, it also
# creates the service user and reloads udev. Used by tests/it/install.rs with a temporary ROOT.
# The config names the paths the service runs with (data_dir = "/var/lib/posagent"), not
# ROOT's: ROOT is where files are staged, not where they are used.
#
#   packaging/install.sh [--root DIR] [--bin target/release/posagent]
set -eu
root=/
bin=target/release/posagent
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        *) echo "usage: $0 [--root DIR] [--bin PATH]" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
prefix=${root%/}
[ -x "$bin" ] || { echo "no posagent binary at $bin; run cargo build --release first" >&2; exit 1; }

install -D -m 0755 "$bin" "$prefix/usr/bin/posagent"
install -D -m 0644 "$here/packaging/posagent.service" "$prefix/usr/lib/systemd/system/posagent.service"
install -D -m 0644 "$here/packaging/99-posagent.rules" "$prefix/lib/udev/rules.d/99-posagent.rules"
install -d -m 0755 "$prefix/usr/share/posagent/firmware-config"
install -m 0644 "$here"/firmware-config/*.toml "$prefix/usr/share/posagent/firmware-config/"
install -d -m 0700 "$prefix/var/lib/posagent"
install -d -m 0750 "$prefix/etc/posagent"
if [ ! -f "$prefix/etc/posagent/posagent.toml" ]; then
    # init writes the config, a data dir with the ECR token and copies of the profiles
    # into a folder of its own; the config (naming its profile by name, found in
    # /usr/share/posagent/firmware-config) and the token are kept.
    scratch=$(mktemp -d)
    "$prefix/usr/bin/posagent" init --dir "$scratch" >/dev/null
    sed -i 's|^data_dir = .*|data_dir = "/var/lib/posagent"|' "$scratch/posagent.toml"
    [ -f "$prefix/var/lib/posagent/ecr.token" ] \
        || install -m 0600 "$scratch/posagent-data/ecr.token" "$prefix/var/lib/posagent/ecr.token"
    install -m 0640 "$scratch/posagent.toml" "$prefix/etc/posagent/posagent.toml"
    rm -rf "$scratch"
fi
if [ "$(id -u)" = 0 ] && [ -z "$prefix" ]; then
    if ! getent passwd posagent >/dev/null; then
        adduser --system --group --home /var/lib/posagent --no-create-home posagent
    fi
    chown -R posagent:posagent /var/lib/posagent
    chown root:posagent /etc/posagent /etc/posagent/posagent.toml
    udevadm control --reload-rules >/dev/null 2>&1 || true
    udevadm trigger >/dev/null 2>&1 || true
fi
echo "installed into ${root}; next: the acquirer key, acquirer.url (and printer_endpoint for a network printer) in $prefix/etc/posagent/posagent.toml (docs/install.md)"
