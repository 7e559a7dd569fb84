#!/usr/bin/env bash
# A simulation of scale: N ranks of one program on this one machine, started
# as a launcher would start them (Shoal's own rank variables), each with one
# thread, over a small input; checks that rank 0 prints exactly what one
# process prints, and prints rank 0's --explain lines: the leader's own time
# per split handed out and merged, and what each rank was given.
#
#   benches/cluster/many-ranks.sh [RANKS] [ROWS] [SPLIT_SIZE]
#
# Defaults: 64 ranks, 2,000,000 weather rows, 64K splits (about 420 splits).
# Uses the release build of the weather example (built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks=${1:-64}
rows=${2:-2000000}
split=${3:-64K}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example weather
cargo build --release --quiet -p shoal-datasets
weather=$target/release/examples/weather
work=$(mktemp -d /tmp/shoal-ranks.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$target/release/shoal-datasets" weather --rows "$rows" --out "$work/w.txt" >/dev/null 2>&1
"$weather" "$work/w.txt" -t 1 --split-size "$split" --cluster off >"$work/single.txt"

export SHOAL_WORLD_SIZE=$ranks SHOAL_JOB="many-ranks-$$" SHOAL_RENDEZVOUS_DIR="$work/rendezvous" SHOAL_PROGRESS=never
pids=()
for ((r = 1; r < ranks; r++)); do
    SHOAL_RANK=$r "$weather" "$work/w.txt" -t 1 --split-size "$split" >/dev/null 2>"$work/rank$r.err" &
    pids+=($!)
done
start=$(date +%s.%N)
SHOAL_RANK=0 "$weather" "$work/w.txt" -t 1 --split-size "$split" --explain >"$work/rank0.txt" 2>"$work/rank0.err"
end=$(date +%s.%N)
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
if ! cmp -s "$work/single.txt" "$work/rank0.txt"; then
    echo "rank 0's result differs from one process's" >&2
    exit 1
fi
echo "ranks: $ranks, rows: $rows, split size: $split; result equals one process's; $failed ranks failed"
printf 'rank 0 wall time: %.2f s\n' "$(echo "$end - $start" | bc)"
grep -E '^  (leader:|worker )' "$work/rank0.err" | sed -n '1p'
echo "ranks given splits: $(grep -c '^  worker .*(rank ' "$work/rank0.err")"
grep -E '^  worker ' "$work/rank0.err" | awk '{ for (i = 1; i <= NF; i++) if ($i == "splits,") n[$(i-1)]++ } END { for (k in n) printf "  %d ranks got %s splits\n", n[k], k }' | sort -k4 -n
