# Every dependency comes from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(xsimd REQUIRED)
# Debian's xsimd 8.1 target names an `xtl` link library that no package ships (xtl is
# header-only and unused by xsimd's core): give the name an empty target.
if(NOT TARGET xtl)
  add_library(xtl INTERFACE IMPORTED)
endif()
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
find_package(FlatBuffers REQUIRED)
find_program(FLATC flatc REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
if(MQ_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
if(MQ_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
# oneDNN (libdnnl-dev) runs the fp32 convolutions (kernels/fp32/conv_dnnl.cpp) and is the
# microbenchmarks' peer. Debian's dnnl config requires OpenCL (ocl-icd-opencl-dev); Debian
# builds it on OpenMP, whose omp_set_num_threads the kernels call (libgomp).
find_package(OpenCL REQUIRED)
find_package(dnnl REQUIRED)
find_library(MQ_GOMP NAMES gomp libgomp.so.1 PATHS /usr/lib/x86_64-linux-gnu/ REQUIRED)
find_package(CLI11 REQUIRED)
