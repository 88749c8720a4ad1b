// Depthwise Conv2d on AVX-VNNI (VEX vpdpbusd on ymm), the AVX2 kernel's structure.
#define MQ_DW_VNNI 1
#define MQ_DW_ENTRY qconv_dw__avxvnni
#include "kernels/qconv_dw_ymm_impl.h"
