/*
 * An example deltaflow plugin in plain C: two image nodes, no dependencies beyond libc.
 *
 *   examples.box_blur   a box blur of any radius, O(1) per pixel (running sums), float samples
 *   examples.posterize  reduces each colour channel to N levels, on 8-bit samples
 *
 * Build:  cc -shared -fPIC -O2 -I Sources/CDeltaflowPlugin/include Plugins/box-blur/box_blur.c -o plugins/libbox_blur.so
 * Use:    deltaflow run workflow.yaml --plugins plugins   (or list it under 'plugins:' in the workflow)
 */
#include <stdlib.h>
#include <string.h>

#include "deltaflow_plugin.h"

enum { BLUR_IN_IMAGE, BLUR_IN_RADIUS };

/* Averages over a (2r+1)² window, clamping at the borders: a horizontal then a vertical pass of
 * running sums, in double so long rows do not drift. */
static int32_t box_blur(const df_call *call) {
    const df_image in = call->inputs[BLUR_IN_IMAGE].image;
    const int64_t radius = call->inputs[BLUR_IN_RADIUS].integer;
    const int w = in.width, h = in.height, c = in.channels;
    df_image out = call->host->output_image(call, 0, w, h, c, DF_SAMPLES_FLOAT32);
    if (!out.data) return 1;
    const float *src = (const float *)in.data;
    float *dst = (float *)out.data;
    float *tmp = malloc(sizeof(float) * (size_t)w * (size_t)h * (size_t)c);
    double *sums = malloc(sizeof(double) * (size_t)c);
    if (!tmp || !sums) {
        free(tmp);
        free(sums);
        call->host->fail(call, "out of memory");
        return 1;
    }
    const double norm = 1.0 / (double)(2 * radius + 1);
    for (int y = 0; y < h; y++) {
        const float *row = src + y * in.row_stride;
        float *o = tmp + (size_t)y * w * c;
        for (int k = 0; k < c; k++) {
            double s = 0;
            for (int64_t i = -radius; i <= radius; i++) {
                int x = i < 0 ? 0 : (i >= w ? w - 1 : (int)i);
                s += row[x * c + k];
            }
            sums[k] = s;
        }
        for (int x = 0; x < w; x++) {
            for (int k = 0; k < c; k++) {
                o[x * c + k] = (float)(sums[k] * norm);
                int64_t add = x + radius + 1, drop = x - radius;
                int xa = add >= w ? w - 1 : (int)add, xd = drop < 0 ? 0 : (int)drop;
                sums[k] += row[xa * c + k] - row[xd * c + k];
            }
        }
    }
    for (int x = 0; x < w; x++) {
        for (int k = 0; k < c; k++) {
            double s = 0;
            for (int64_t i = -radius; i <= radius; i++) {
                int y = i < 0 ? 0 : (i >= h ? h - 1 : (int)i);
                s += tmp[((size_t)y * w + x) * c + k];
            }
            for (int y = 0; y < h; y++) {
                dst[y * out.row_stride + x * c + k] = (float)(s * norm);
                int64_t add = y + radius + 1, drop = y - radius;
                int ya = add >= h ? h - 1 : (int)add, yd = drop < 0 ? 0 : (int)drop;
                s += tmp[((size_t)ya * w + x) * c + k] - tmp[((size_t)yd * w + x) * c + k];
            }
        }
    }
    free(tmp);
    free(sums);
    return 0;
}

enum { POSTER_IN_IMAGE, POSTER_IN_LEVELS };

/* Rounds each colour sample to the nearest of `levels` evenly spaced values; alpha is kept. */
static int32_t posterize(const df_call *call) {
    const df_image in = call->inputs[POSTER_IN_IMAGE].image; /* 8-bit: the port asks for it */
    const int64_t levels = call->inputs[POSTER_IN_LEVELS].integer;
    const int w = in.width, h = in.height, c = in.channels;
    const int color = (c == 2 || c == 4) ? c - 1 : c;
    df_image out = call->host->output_image(call, 0, w, h, c, DF_SAMPLES_UINT8);
    if (!out.data) return 1;
    uint8_t table[256];
    for (int v = 0; v < 256; v++) {
        int64_t step = (v * (levels - 1) + 127) / 255;
        table[v] = (uint8_t)((step * 255 + (levels - 1) / 2) / (levels - 1));
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *s = (const uint8_t *)in.data + y * in.row_stride;
        uint8_t *d = (uint8_t *)out.data + y * out.row_stride;
        for (int x = 0; x < w; x++) {
            for (int k = 0; k < c; k++) d[x * c + k] = k < color ? table[s[x * c + k]] : s[x * c + k];
        }
    }
    return 0;
}

static const df_port blur_inputs[] = {
    {.name = "image", .type = DF_TYPE_IMAGE, .doc = "the image to blur"},
    {.name = "radius", .type = DF_TYPE_INTEGER, .flags = DF_PORT_HAS_DEFAULT | DF_PORT_HAS_RANGE,
     .doc = "half the window's width, in pixels", .default_number = 2, .minimum = 0, .maximum = 256},
};
static const df_port poster_inputs[] = {
    {.name = "image", .type = DF_TYPE_IMAGE, .flags = DF_PORT_UINT8, .doc = "the image to posterize"},
    {.name = "levels", .type = DF_TYPE_INTEGER, .flags = DF_PORT_HAS_DEFAULT | DF_PORT_HAS_RANGE,
     .doc = "values per channel", .default_number = 4, .minimum = 2, .maximum = 256},
};
static const df_port image_output[] = {
    {.name = "image", .type = DF_TYPE_IMAGE, .doc = "the result"},
};

static const df_node nodes[] = {
    {.kind = "examples.box_blur", .version = 1, .flags = DF_NODE_THREAD_SAFE,
     .summary = "Box blur with a square window (example C plugin)",
     .example = "soft: {node: examples.box_blur, image: $photo.image, radius: 3}",
     .inputs = blur_inputs, .input_count = 2, .outputs = image_output, .output_count = 1, .process = box_blur},
    {.kind = "examples.posterize", .version = 1, .flags = DF_NODE_THREAD_SAFE,
     .summary = "Reduce each colour channel to a few levels, on 8-bit samples (example C plugin)",
     .example = "poster: {node: examples.posterize, image: $photo.image, levels: 4}",
     .inputs = poster_inputs, .input_count = 2, .outputs = image_output, .output_count = 1, .process = posterize},
};

static const df_plugin plugin = {
    .abi_version = DF_ABI_VERSION,
    .struct_size = sizeof(df_plugin),
    .name = "examples-c",
    .version = "1.0.0",
    .summary = "Example plugin in C: box blur and posterize",
    .nodes = nodes,
    .node_count = 2,
};

__attribute__((visibility("default"))) const df_plugin *deltaflow_plugin(uint32_t host_abi_version) {
    return host_abi_version == DF_ABI_VERSION ? &plugin : NULL;
}
