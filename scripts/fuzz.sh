#!/usr/bin/env bash
# Builds the libFuzzer target of every file reader with clang (ASan + UBSan) in
# build-fuzz/ and runs each for a bounded time (default 10 s) on an empty corpus.
#   scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
build="${MQ_FUZZ_BUILD_DIR:-$root/build-fuzz}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMQ_BUILD_FUZZERS=ON -DMQ_BUILD_TESTS=OFF -DMQ_BUILD_BENCHMARKS=OFF >/dev/null
targets=$(cd "$root/tests/serialization/fuzz" && ls fuzz_*.cpp | sed 's/\.cpp$//')
cmake --build "$build" --target $targets -j"$(nproc)" >/dev/null
for t in $targets; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  echo "fuzz: $t for ${secs}s"
  "$build/serialization/$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" \
    > "$build/$t.log" 2>&1 || { tail -40 "$build/$t.log"; echo "fuzz: $t FAILED"; exit 1; }
done
echo "fuzz: all targets ran without a crash"
