#!/usr/bin/env bash
# Checks that every C++ file of monoquant's source folders is formatted as .clang-format says,
# with clang-format 14 (Debian's clang-format-14, which scripts/setup.sh installs; other
# versions format some constructs differently). Prints each file that is not, then fails.
#   scripts/check_format.sh           check (clang-format --dry-run --Werror)
#   scripts/check_format.sh --fix     rewrite those files in place (clang-format -i)
#   scripts/check_format.sh -v        check, and show clang-format's diagnostics
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=check
case "${1:-}" in
  "") ;;
  --fix) mode=fix ;;
  -v) mode=verbose ;;
  *) echo "usage: $0 [--fix | -v]" >&2; exit 2 ;;
esac
cf="$(command -v clang-format-14 || command -v clang-format || true)"
if [ -z "$cf" ]; then
  echo "check_format: clang-format not found (scripts/setup.sh installs clang-format-14)" >&2
  exit 1
fi
"$cf" --version | grep -q "version 14\." ||
  echo "check_format: note: $("$cf" --version) is not clang-format 14; results may differ" >&2

# The source folders (build trees live at the top level, build*/, and are not among them).
cd "$root"
dirs=()
for d in api benchmarks cmake engine examples importers include ir kernels serialization tests tools; do
  [ -d "$d" ] && dirs+=("$d")
done
mapfile -t files < <(find "${dirs[@]}" -type d -name 'build*' -prune -o -type f \
  \( -name '*.cpp' -o -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) -print | LC_ALL=C sort)

if [ "$mode" = fix ]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 32 -P "$(nproc)" "$cf" -i --style=file
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
# One clang-format per file, so that each offending file is named once.
export cf mode
bad="$(printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$(nproc)" sh -c '
  if [ "$mode" = verbose ]; then "$cf" --dry-run --Werror --style=file "$1" >&2 || echo "$1"
  else "$cf" --dry-run --Werror --style=file "$1" 2>/dev/null || echo "$1"; fi' sh | LC_ALL=C sort)"
if [ -n "$bad" ]; then
  echo "$bad"
  echo "check_format: $(echo "$bad" | wc -l) of ${#files[@]} files are not formatted as .clang-format says;" \
       "scripts/check_format.sh --fix rewrites them (-v shows where)" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
