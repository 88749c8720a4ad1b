#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan + UBSan) in build-fuzz/ (or
# $MQ_FUZZ_BUILD_DIR) and runs them:
#   1. each target over its saved crash reproducers, tests/fuzz/regressions/<target>/*;
#   2. each target for SECONDS (default 10) on its corpus, seeded from real files: the
#      repository's examples (examples/models/*.onnx, examples/data/*.npy) and the small
#      (< 1 MB) models and data of ../shared/models ($MQ_SHARED_DIR), converted to .mqm,
#      .safetensors, .pt, QDQ .onnx and calibration files by mq_fuzz_seed_writer.
# A crash, a sanitizer report, an input running over 10 s or a process over 1 GiB
# (-rss_limit_mb=1024, which also caps single allocations) fails the target; its input is
# saved as $build/artifacts/<target>/crash-* (or timeout-*, oom-*, leak-*).
#   scripts/fuzz.sh [SECONDS]          MQ_FUZZ_TARGETS="fuzz_onnx_model ..." to run a subset
# MQ_FUZZ_RUNS=N makes a run reproducible, as the test suite needs it: instead of SECONDS,
# each target runs N mutations with a fixed seed (-seed=1) from its seed corpus alone (new
# inputs go to a throwaway folder), so a commit passes or fails the same way on every
# machine; random, open-ended fuzzing is the SECONDS mode.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-10}"
build="${MQ_FUZZ_BUILD_DIR:-$root/build-fuzz}"
shared="${MQ_SHARED_DIR:-$root/../shared}"
jobs="${MQ_FUZZ_JOBS:-$(nproc)}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMQ_BUILD_FUZZERS=ON -DMQ_BUILD_TESTS=OFF -DMQ_BUILD_BENCHMARKS=OFF >/dev/null
all=$( (cd "$root/tests/serialization/fuzz" && ls fuzz_*.cpp; cd "$root/tests/fuzz" && ls fuzz_*.cpp) | sed 's/\.cpp$//')
targets="${MQ_FUZZ_TARGETS:-$all}"
echo "fuzz: building $(echo $targets | wc -w) targets"
cmake --build "$build" --target $targets mq_fuzz_seed_writer -j"$jobs" >"$build/build.log" 2>&1 \
  || { tail -30 "$build/build.log"; echo "fuzz: build FAILED"; exit 1; }
bin="$build/fuzzers"

# Seed corpora, rebuilt when the seed writer changes.
seeds="$build/seeds"
if [[ ! -f "$seeds/.stamp" || "$bin/mq_fuzz_seed_writer" -nt "$seeds/.stamp" ]]; then
  rm -rf "$seeds"
  inputs=("$root"/examples/models/*.onnx "$root"/examples/data/*.npy)
  if [[ -d "$shared/models" ]]; then
    while IFS= read -r f; do inputs+=("$f"); done < <(find "$shared/models" \( -name '*.onnx' -o -name 'input_0.pb' \) -size -1000k | sort)
  fi
  echo "fuzz: writing seed corpora from ${#inputs[@]} files"
  "$bin/mq_fuzz_seed_writer" "$seeds" "${inputs[@]}" >"$build/seeds.log" 2>&1 \
    || { tail -30 "$build/seeds.log"; echo "fuzz: mq_fuzz_seed_writer FAILED"; exit 1; }
  touch "$seeds/.stamp"
fi

# The scalar kernels: the ISA files are not instrumented in fuzz builds (cmake/isa_sources.cmake).
export MONOQUANT_ISA="${MONOQUANT_ISA:-scalar}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
limits=(-rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=0)
failed=()
for t in $targets; do
  log="$build/logs/$t"
  mkdir -p "$build/logs" "$build/corpus/$t" "$build/artifacts/$t" "$seeds/$t"
  regressions=("$root/tests/fuzz/regressions/$t"/*)
  if [[ -e "${regressions[0]}" ]]; then
    echo "fuzz: $t over ${#regressions[@]} regression inputs"
    if ! "$bin/$t" "${limits[@]}" -artifact_prefix="$build/artifacts/$t/regression-" "${regressions[@]}" >"$log.regressions" 2>&1; then
      grep -m1 -E "ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error" "$log.regressions" || true
      grep -E "^Running: " "$log.regressions" | tail -1 || true
      echo "fuzz: $t FAILED on a regression input (log: $log.regressions)"
      failed+=("$t")
      continue
    fi
  fi
  if [[ -n "${MQ_FUZZ_RUNS:-}" ]]; then
    echo "fuzz: $t for $MQ_FUZZ_RUNS runs (seed 1)"
    scratch="$build/scratch/$t"
    rm -rf "$scratch"; mkdir -p "$scratch"
    mode=(-seed=1 -runs="$MQ_FUZZ_RUNS" "$scratch" "$seeds/$t")
  else
    echo "fuzz: $t for ${secs}s"
    mode=(-max_total_time="$secs" "$build/corpus/$t" "$seeds/$t")
  fi
  if ! "$bin/$t" "${limits[@]}" -artifact_prefix="$build/artifacts/$t/" "${mode[@]}" >"$log" 2>&1; then
    grep -E "ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error|^SUMMARY|Test unit written" "$log" | head -5 || true
    echo "fuzz: $t FAILED (log: $log)"
    failed+=("$t")
  fi
done
if (( ${#failed[@]} )); then
  echo "fuzz: FAILED targets: ${failed[*]}"
  exit 1
fi
echo "fuzz: all targets ran without a crash"
