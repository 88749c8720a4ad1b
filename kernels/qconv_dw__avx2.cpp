// Depthwise Conv2d compiled with AVX2 flags (vpmaddubsw + vpmaddwd per weight phase).
#define MQ_DW_ENTRY qconv_dw__avx2
#include "kernels/qconv_dw_ymm_impl.h"
