# What `cmake --install` lays out and `cpack` packages:
#   bin/monoquant                              the command-line tool
#   include/monoquant/*.h                      the public API (monoquant.h)
#   lib/libmonoquant.so*                       the library (static: libmonoquant.a + internal archives)
#   lib/cmake/monoquant/                       find_package(monoquant) → monoquant::monoquant
#   lib/pkgconfig/monoquant.pc                 pkg-config --cflags --libs monoquant
include(CMakePackageConfigHelpers)
set(MQ_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/monoquant)

set(mq_exported monoquant_lib)
if(NOT MQ_SHARED)
  # A static monoquant needs the internal archives it is built from at link time.
  list(APPEND mq_exported mq_engine mq_importers mq_serialization mq_kernels mq_ir)
endif()
install(TARGETS ${mq_exported} EXPORT monoquantTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS monoquant RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/monoquant DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/monoquant/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/monoquant)
install(EXPORT monoquantTargets NAMESPACE monoquant:: DESTINATION ${MQ_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/monoquantConfig.cmake.in
  ${PROJECT_BINARY_DIR}/monoquantConfig.cmake INSTALL_DESTINATION ${MQ_INSTALL_CMAKEDIR})
# 0.x releases promise nothing across minor versions.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/monoquantConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/monoquantConfig.cmake ${PROJECT_BINARY_DIR}/monoquantConfigVersion.cmake
        DESTINATION ${MQ_INSTALL_CMAKEDIR})

# pkg-config: the prefix is found from the .pc file's own place, so the installed tree can move.
file(RELATIVE_PATH MQ_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
if(MQ_SHARED)
  set(MQ_PC_LIBS "-L\${libdir} -lmonoquant")
  set(MQ_PC_LIBS_PRIVATE "")
else()
  # a static library's dependencies are needed by every program linking it
  set(MQ_PC_LIBS "-L\${libdir} -lmonoquant -lmq_engine -lmq_serialization -lmq_importers -lmq_kernels -lmq_ir \
-lonnx_proto -lprotobuf -lflatbuffers -lz -ldnnl -lgomp -pthread")
  set(MQ_PC_LIBS_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/monoquant.pc.in ${PROJECT_BINARY_DIR}/monoquant.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/monoquant.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# cpack -G DEB: one package with the tool, the library and its development files. Its
# dependencies are the Debian packages of the shared libraries it links (dpkg-shlibdeps).
set(CPACK_PACKAGE_NAME monoquant)
set(CPACK_PACKAGE_VENDOR monoquant)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "monoquant developers <monoquant@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# a shlibs file and an ldconfig trigger for libmonoquant.so
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
include(CPack)
