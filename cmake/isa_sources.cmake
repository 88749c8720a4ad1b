# Source files named *__<tier>.cpp (the tiers of kernels/cpu_features.h: avx2, avx512, avxvnni,
# avx512vnni, amx) hold one ISA's code and are the only ones compiled with that tier's flags.
# Everything else is baseline x86-64.
# In fuzz builds (MQ_BUILD_FUZZERS) these files are not instrumented by ASan / UBSan: clang
# takes tens of minutes per file on their intrinsics when they are; scripts/fuzz.sh runs the
# scalar tier (MONOQUANT_ISA=scalar), whose kernels are instrumented.
function(mq_apply_isa_flags)
  foreach(src IN LISTS ARGN)
    if(MQ_BUILD_FUZZERS AND src MATCHES "__[a-z0-9]+\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_FLAGS "-fno-sanitize=address,undefined")
    endif()
    if(src MATCHES "__amx\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mamx-tile;-mamx-int8;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx2;-mfma;-mf16c")
    elseif(src MATCHES "__avx512vnni\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx2;-mfma;-mf16c")
    elseif(src MATCHES "__avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS
        "-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx2;-mfma;-mf16c")
    elseif(src MATCHES "__avxvnni\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavxvnni;-mavx2;-mfma;-mf16c")
    elseif(src MATCHES "__avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
    endif()
  endforeach()
endfunction()

# mq_library(NAME folder DEPS ...): one library target per top-level folder, sources globbed.
function(mq_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_DEPS;PRIVATE_DEPS;EXTRA_SOURCES" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT srcs)  # a folder whose code has not landed yet still yields a (empty) target
    set(srcs ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  endif()
  mq_apply_isa_flags(${srcs})
  add_library(${name} STATIC ${srcs} ${ARG_EXTRA_SOURCES})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  mq_warnings(${name})
endfunction()
