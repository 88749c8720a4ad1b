#!/usr/bin/env bash
# monoquant as an installed package, the way another project uses it.
#   consumer.sh install   <build-dir> <source-dir>  cmake --install into a temporary prefix;
#                                                    examples/consumer built with find_package
#   consumer.sh pkgconfig <build-dir> <source-dir>  the same program built through pkg-config
#   consumer.sh deb       <build-dir> <source-dir>  cpack's .deb: dependencies, its monoquant
#                                                    command, the consumer built against it
# Each mode exits non-zero with a message on the first failure.
set -euo pipefail
mode="$1"; build="$(cd "$2" && pwd)"; src="$(cd "$3" && pwd)"
work="$build/package_test/$mode"
rm -rf "$work"; mkdir -p "$work"
fail() { echo "package test ($mode): $*" >&2; exit 1; }
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)

# The installed headers: the public API only, nothing from the engine's internals.
check_headers() {
  local inc="$1/include/monoquant"
  [ -f "$inc/monoquant.h" ] && [ -f "$inc/version.h" ] || fail "no monoquant.h / version.h under $1/include"
  if grep -hE '^#include "' "$inc"/*.h | grep -vE '^#include "monoquant/' ; then
    fail "an installed header includes something outside monoquant/"
  fi
  [ ! -e "$1/include/engine" ] && [ ! -e "$1/include/ir" ] || fail "internal headers installed"
}

# The library exports the public API (namespace monoquant) and nothing of the engine (mq::).
check_exports() {
  local so="$1"
  [ -f "$so" ] || fail "no $so"
  local exported; exported=$(nm -DC --defined-only "$so")
  echo "$exported" | grep -q "monoquant::Model::load" || fail "$so does not export monoquant::Model::load"
  if echo "$exported" | grep -E " mq::" | head -5 | grep .; then fail "$so exports engine symbols"; fi
}

build_consumer_cmake() {  # <prefix> <out>
  cmake -S "$src/examples/consumer" -B "$2" "${gen[@]}" -DCMAKE_PREFIX_PATH="$1" -DCMAKE_BUILD_TYPE=Release \
    >"$2.log" 2>&1 || { cat "$2.log"; fail "configuring the consumer against $1 failed"; }
  cmake --build "$2" >>"$2.log" 2>&1 || { cat "$2.log"; fail "building the consumer failed"; }
}

case "$mode" in
  install)
    cmake --install "$build" --prefix "$work/prefix" >/dev/null
    p="$work/prefix"
    for f in bin/monoquant lib/libmonoquant.so lib/cmake/monoquant/monoquantConfig.cmake \
             lib/cmake/monoquant/monoquantConfigVersion.cmake lib/cmake/monoquant/monoquantTargets.cmake \
             lib/pkgconfig/monoquant.pc; do
      [ -e "$p/$f" ] || fail "cmake --install did not lay out $f"
    done
    check_headers "$p"
    check_exports "$p/lib/libmonoquant.so"
    build_consumer_cmake "$p" "$work/consumer"
    "$work/consumer/consumer" "$src/examples" "$work" || fail "the consumer failed"
    version="$(sed -n 's/.*MONOQUANT_VERSION_STRING "\(.*\)"/\1/p' "$p/include/monoquant/version.h")"
    [ "$("$p/bin/monoquant" --version)" = "monoquant $version" ] || fail "the installed monoquant --version is not 'monoquant $version'"
    ;;
  pkgconfig)
    cmake --install "$build" --prefix "$work/prefix" >/dev/null
    export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
    [ "$(pkg-config --modversion monoquant)" = "$(sed -n 's/.*MONOQUANT_VERSION_STRING "\(.*\)"/\1/p' \
        "$work/prefix/include/monoquant/version.h")" ] || fail "pkg-config --modversion disagrees with version.h"
    flags=$(pkg-config --cflags --libs monoquant)
    # shellcheck disable=SC2086
    c++ -std=c++17 -O1 "$src/examples/consumer/main.cpp" -o "$work/consumer" $flags \
      || fail "building with pkg-config --cflags --libs monoquant ($flags) failed"
    LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer" "$src/examples" "$work" || fail "the consumer failed"
    ;;
  deb)
    (cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >cpack.log 2>&1) \
      || { cat "$work/cpack.log"; fail "cpack -G DEB failed"; }
    deb=$(ls "$work"/monoquant_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || fail "cpack made no monoquant_*.deb"
    depends=$(dpkg-deb -f "$deb" Depends)
    echo "Depends: $depends"
    for lib in libc6 libstdc++6 libdnnl libprotobuf; do
      echo "$depends" | grep -q "$lib" || fail "the .deb does not depend on $lib"
    done
    # every dependency is a Debian package (this machine has them: the build linked them)
    for pkg in $(echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g'); do
      dpkg-query -W "$pkg" >/dev/null 2>&1 || apt-cache show "$pkg" >/dev/null 2>&1 \
        || fail "the .deb depends on $pkg, which is no known Debian package"
    done
    dpkg-deb -x "$deb" "$work/root"
    r="$work/root/usr"
    check_headers "$r"
    [ -f "$r/lib/cmake/monoquant/monoquantConfig.cmake" ] || fail "the .deb lacks the CMake package"
    "$r/bin/monoquant" --version | grep -q monoquant || fail "monoquant --version from the .deb failed"
    "$r/bin/monoquant" inspect "$src/examples/models/cnn.onnx" >"$work/inspect.txt" \
      || fail "monoquant inspect from the .deb failed"
    grep -q Conv "$work/inspect.txt" || fail "monoquant inspect printed no Conv layer"
    build_consumer_cmake "$r" "$work/consumer"
    LD_LIBRARY_PATH="$r/lib" "$work/consumer/consumer" "$src/examples" "$work" || fail "the consumer failed"
    ;;
  *) fail "unknown mode (install, pkgconfig, deb)" ;;
esac
echo "package test ($mode): ok"
