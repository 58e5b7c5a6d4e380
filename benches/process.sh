#!/usr/bin/env bash
# Whole-process figures: stripped binary size, cold start to ready, idle RSS; of the
# default build (with the `simulator` feature) and of the terminal build (the package's,
# `--no-default-features`: no simulator linked).
# Usage: benches/process.sh [runs]   (builds both release binaries first; afterwards
# $CARGO_TARGET_DIR/release/posagent is the terminal build's)
# Side by side of binaries built elsewhere (e.g. two profiles of the terminal build):
#   COMPARE="name=path name=path" SIM=path/to/posagent-sim benches/process.sh [runs]
# measures each the daemon-alone way below (no embedded simulator run), building nothing.
# EXTRA_CONFIG=path appends that file to the daemon-alone runs' config (e.g. a [fleet]
# section pointing at a local broker, to measure what the fleet link costs).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
target="${CARGO_TARGET_DIR:-target}"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

if [ -n "${COMPARE:-}" ]; then
  builds=()
  for entry in $COMPARE; do
    builds+=("${entry%%=*}")
    cp "${entry#*=}" "$workdir/posagent.${entry%%=*}"
  done
  sim_bin="${SIM:?SIM= the posagent-sim binary to run the simulator with}"
else
  builds=(default terminal)
  cargo build --release --quiet
  cp "$target/release/posagent" "$workdir/posagent.default"
  cargo build --release --quiet --no-default-features -p posagent
  cp "$target/release/posagent" "$workdir/posagent.terminal"
  cargo build --release --quiet -p posagent-sim
  sim_bin="$target/release/posagent-sim"
fi
for build in "${builds[@]}"; do
  bin="$workdir/posagent.$build"
  strip -o "$bin.stripped" "$bin"
  echo "$build binary: $(stat -c %s "$bin") bytes, stripped $(stat -c %s "$bin.stripped") bytes"
done
if [ -z "${COMPARE:-}" ] && nm "$workdir/posagent.terminal" | grep -q posagent_sim; then
  echo "the terminal build has posagent_sim symbols" >&2; exit 1
fi

# Median, min and max of the numbers on stdin.
spread() { sort -n | awk '{a[NR]=$1} END {printf "median %s, min %s, max %s", a[int((NR+1)/2)], a[1], a[NR]}'; }

# Starts "$@" with its stdout in $out, waits for its ready line; sets pid, start (wall
# time to ready, µs) and cpu (CPU time of all its threads by then, µs: less dependent on
# what else the machine runs than the wall time).
start_until_ready() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$out" 2>/dev/null &
  pid=$!
  until grep -q "posagent is running" "$out" 2>/dev/null; do sleep 0.001; done
  t1=$(date +%s%N)
  start=$(( (t1 - t0) / 1000 ))
  cpu=$(cat /proc/"$pid"/task/*/schedstat | awk '{ns += $1} END {printf "%d", ns / 1000}')
}

# The default build with its embedded simulator, one process.
if [ -z "${COMPARE:-}" ]; then
starts=()
cpus=()
rss=""
for i in $(seq "$runs"); do
  dir=$(mktemp -d)
  out="$dir/out"
  start_until_ready "$workdir/posagent.default" run --simulator --data-dir "$dir/data" --listen 127.0.0.1:0
  starts+=("$start")
  cpus+=("$cpu")
  if [ "$i" = 1 ]; then
    sleep 2
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
echo "cold start to ready (default build, daemon + embedded simulator, fresh data dir): $(printf '%s\n' "${starts[@]}" | spread) µs over ${runs} runs"
echo "  CPU time to ready: $(printf '%s\n' "${cpus[@]}" | spread) µs"
echo "idle RSS (default build, daemon + embedded simulator, 2 s after ready): ${rss} KiB"
fi

# The daemon alone: the simulator (acquirer, display, printer, card reader) runs in its
# own process (`posagent-sim all`), the daemon with a config pointing at it; each build
# in turn, a fresh data dir each run, RSS 2 s after ready in every run.
sim=$(mktemp -d)
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$sim/acquirer.key"
chmod 600 "$sim/acquirer.key"
"$sim_bin" all --api-key-file "$sim/acquirer.key" >"$sim/sim.json" 2>/dev/null &
simpid=$!
until [ -s "$sim/sim.json" ]; do sleep 0.01; done
field() { python3 -c "import json,sys; print(json.load(open('$sim/sim.json'))['$1'] or '')"; }
cat >"$sim/profile.toml" <<PROFILE
model = "simulator"
description = "process.sh"
[display]
driver = "panel"
endpoint = "$(field display)"
width = 800
height = 480
[printer]
driver = "escpos"
endpoint = "$(field printer)"
columns = 48
width_dots = 576
native_qr = true
code_page = "pc858"
[card_reader]
driver = "framed-serial"
endpoint = "$(field card_reader)"
PROFILE
for build in "${builds[@]}"; do
  starts=()
  cpus=()
  rss=()
  for i in $(seq "$runs"); do
    dir=$(mktemp -d)
    out="$dir/out"
    cat >"$dir/posagent.toml" <<CONFIG
data_dir = "$dir/data"
device_profile = "$sim/profile.toml"
[store]
store_reference = "bench-store"
terminal_reference = "BENCH01"
name = "Bench Store"
country = "SE"
currency = "SEK"
locale = "sv-SE"
[acquirer]
url = "$(field backend_url)"
credentials_file = "$sim/acquirer.key"
[ecr]
listen = "127.0.0.1:0"
token_file = "ecr.token"
CONFIG
    if [ -n "${EXTRA_CONFIG:-}" ]; then cat "$EXTRA_CONFIG" >>"$dir/posagent.toml"; fi
    start_until_ready "$workdir/posagent.$build" run --config "$dir/posagent.toml"
    starts+=("$start")
    cpus+=("$cpu")
    sleep 2
    rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
  echo "cold start to ready ($build build, daemon alone, simulator in another process, fresh data dir): $(printf '%s\n' "${starts[@]}" | spread) µs over ${runs} runs"
  echo "  CPU time to ready: $(printf '%s\n' "${cpus[@]}" | spread) µs"
  echo "idle RSS ($build build, daemon alone, 2 s after ready): $(printf '%s\n' "${rss[@]}" | spread) KiB over ${runs} runs"
done
kill "$simpid"; wait "$simpid" 2>/dev/null || true
rm -rf "$sim"
