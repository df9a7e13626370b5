#ifndef DELTAFLOW_CLCMS2_SHIM_H
#define DELTAFLOW_CLCMS2_SHIM_H
#include <lcms2.h>

/* lcms2 builds its pixel formats with function-like macros, which Swift does not import. */
static inline cmsUInt32Number df_lcms_format_float(int color_channels, int alpha) {
    return color_channels == 1 ? (alpha ? TYPE_GRAYA_FLT : TYPE_GRAY_FLT)
                               : (alpha ? TYPE_RGBA_FLT : TYPE_RGB_FLT);
}
/* 8-bit CMYK as libjpeg delivers it; Adobe's files store it inverted (lcms2's "reversed" flavour). */
static inline cmsUInt32Number df_lcms_format_cmyk8(int inverted) {
    return inverted ? TYPE_CMYK_8_REV : TYPE_CMYK_8;
}

static inline cmsUInt32Number df_lcms_format_rgb16(void) { return TYPE_RGB_16; }
#endif
