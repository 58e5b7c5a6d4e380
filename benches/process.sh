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
