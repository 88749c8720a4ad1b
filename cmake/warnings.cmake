# Warnings for every monoquant target (not for generated code).
function(mq_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter
                                           -Wno-missing-field-initializers -Wno-restrict)
endfunction()
