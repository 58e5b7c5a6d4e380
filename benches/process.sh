#!/usr/bin/env bash
# Whole-process figures: stripped binary size, cold start to ready, idle RSS.
# Usage: benches/process.sh [runs]   (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
cargo build --release --quiet
bin=target/release/posagent
strip -o target/posagent.stripped "$bin"
echo "binary: $(stat -c %s "$bin") bytes, stripped $(stat -c %s target/posagent.stripped) bytes"

starts=()
rss=""
for i in $(seq "$runs"); do
  dir=$(mktemp -d)
  out="$dir/out"
  t0=$(date +%s%N)
  "$bin" run --simulator --data-dir "$dir/data" --listen 127.0.0.1:0 >"$out" 2>/dev/null &
  pid=$!
  until grep -q "posagent is running" "$out" 2>/dev/null; do sleep 0.001; done
  t1=$(date +%s%N)
  starts+=($(( (t1 - t0) / 1000 )))
  if [ "$i" = 1 ]; then
    sleep 2
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
sorted=$(printf '%s\n' "${starts[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
min=$(echo "$sorted" | head -1); max=$(echo "$sorted" | tail -1)
echo "cold start to ready (daemon + embedded simulator, fresh data dir): median ${median} µs, min ${min} µs, max ${max} µs over ${runs} runs"
echo "idle RSS (daemon + embedded simulator, 2 s after ready): ${rss} KiB"

# The daemon alone: the simulator (acquirer, display, printer, card reader) runs in its
# own process (`posagent-sim all`), the daemon with a config pointing at it.
cargo build --release --quiet -p posagent-sim
dir=$(mktemp -d)
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/acquirer.key"
chmod 600 "$dir/acquirer.key"
target/release/posagent-sim all --api-key-file "$dir/acquirer.key" >"$dir/sim.json" 2>/dev/null &
simpid=$!
until [ -s "$dir/sim.json" ]; do sleep 0.01; done
field() { python3 -c "import json,sys; print(json.load(open('$dir/sim.json'))['$1'] or '')"; }
cat >"$dir/profile.toml" <<PROFILE
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
cat >"$dir/posagent.toml" <<CONFIG
data_dir = "$dir/data"
device_profile = "profile.toml"
[store]
store_reference = "bench-store"
terminal_reference = "BENCH01"
name = "Bench Store"
country = "SE"
currency = "SEK"
locale = "sv-SE"
[acquirer]
url = "$(field backend_url)"
credentials_file = "$dir/acquirer.key"
[ecr]
listen = "127.0.0.1:0"
token_file = "ecr.token"
CONFIG
"$bin" run --config "$dir/posagent.toml" >"$dir/out" 2>/dev/null &
pid=$!
until grep -q "posagent is running" "$dir/out" 2>/dev/null; do sleep 0.001; done
sleep 2
alone=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill "$pid"; wait "$pid" 2>/dev/null || true
kill "$simpid"; wait "$simpid" 2>/dev/null || true
rm -rf "$dir"
echo "idle RSS (daemon alone, simulator in another process, 2 s after ready): ${alone} KiB"
