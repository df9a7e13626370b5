/*
 * Plugins that misbehave on purpose, one per VARIANT_* macro, for PluginHostTests. Without a
 * variant macro it is a valid plugin whose nodes fail at run time in the ways a host must report.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deltaflow_plugin.h"

static int32_t copy_image(const df_call *call) {
    const df_image in = call->inputs[0].image;
    df_image out = call->host->output_image(call, 0, in.width, in.height, in.channels, DF_SAMPLES_FLOAT32);
    if (!out.data) return 1;
    for (int y = 0; y < in.height; y++) {
        memcpy((float *)out.data + y * out.row_stride, (const float *)in.data + y * in.row_stride,
               sizeof(float) * (size_t)in.width * (size_t)in.channels);
    }
    return 0;
}

static int32_t fail_with_message(const df_call *call) {
    char message[256];
    snprintf(message, sizeof message, "cannot process %s: the test plugin always refuses",
             call->item_relative_path ? call->item_relative_path : "(no item)");
    call->host->fail(call, message);
    return 1;
}

static int32_t fail_silently(const df_call *call) {
    (void)call;
    return 7;
}

static int32_t forget_output(const df_call *call) {
    (void)call;
    return 0;
}

static int32_t wrong_setter(const df_call *call) {
    call->host->output_number(call, 0, 1.0); /* output 0 is an image */
    return 0;
}

/* Not thread-safe on purpose: it fails if two calls ever overlap, which a host that honours the
 * missing DF_NODE_THREAD_SAFE flag never lets happen. */
static volatile int busy = 0;
static int32_t exclusive(const df_call *call) {
    if (busy) {
        call->host->fail(call, "two calls overlapped");
        return 1;
    }
    busy = 1;
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    busy = 0;
    return copy_image(call);
}

/* Echoes the inputs it was given, so the host's marshalling can be checked end to end. */
static int32_t describe(const df_call *call) {
    char text[512];
    const df_value *v = call->inputs;
    const char *first = v[2].string_count > 0 ? v[2].strings[0] : "";
    snprintf(text, sizeof text, "%s|%lld|%g|%d|%d|%s|%d", v[0].string, (long long)v[1].integer, v[3].number,
             v[4].boolean, v[2].string_count, first, v[5].type);
    call->host->output_string(call, 0, text);
    call->host->output_integer(call, 1, (int64_t)(call->seed % 1000));
    return 0;
}

/* Doubles every value of a delta, keeping names, shapes and encoder. */
static int32_t double_delta(const df_call *call) {
    const df_delta in = call->inputs[0].delta;
    df_delta_array arrays[8];
    float values[8][64];
    if (in.array_count > 8) {
        call->host->fail(call, "too many arrays for the test");
        return 1;
    }
    for (int i = 0; i < in.array_count; i++) {
        int64_t count = 1;
        for (int d = 0; d < in.arrays[i].rank; d++) count *= in.arrays[i].shape[d];
        if (count > 64) {
            call->host->fail(call, "array too large for the test");
            return 1;
        }
        for (int64_t k = 0; k < count; k++) values[i][k] = 2 * in.arrays[i].values[k];
        arrays[i] = in.arrays[i];
        arrays[i].values = values[i];
    }
    df_delta out = {.encoder = in.encoder, .array_count = in.array_count, .arrays = arrays};
    return call->host->output_delta(call, 0, &out);
}

/* A mask from the first channel: 1 where it is at least one half, as 8-bit samples. */
static int32_t threshold(const df_call *call) {
    const df_image in = call->inputs[0].image;
    df_image out = call->host->output_image(call, 0, in.width, in.height, 1, DF_SAMPLES_UINT8);
    if (!out.data) return 1;
    for (int y = 0; y < in.height; y++) {
        for (int x = 0; x < in.width; x++) {
            float v = ((const float *)in.data)[y * in.row_stride + x * in.channels];
            ((uint8_t *)out.data)[y * out.row_stride + x] = v >= 0.5f ? 255 : 0;
        }
    }
    return 0;
}

static const df_port delta_in[] = {{.name = "delta", .type = DF_TYPE_DELTA, .doc = "input"}};
static const df_port delta_out[] = {{.name = "delta", .type = DF_TYPE_DELTA, .doc = "doubled"}};
static const df_port mask_out[] = {{.name = "mask", .type = DF_TYPE_MASK, .doc = "where the first channel is high"}};

static const df_port image_in[] = {{.name = "image", .type = DF_TYPE_IMAGE, .doc = "input"}};
#ifdef VARIANT_BAD_TYPE
static const df_port image_out[] = {{.name = "image", .type = 42, .doc = "output"}};
#else
static const df_port image_out[] = {{.name = "image", .type = DF_TYPE_IMAGE, .doc = "output"}};
#endif
static const char *const modes[] = {"fast", "exact"};
static const df_port describe_in[] = {
    {.name = "mode", .type = DF_TYPE_STRING, .flags = DF_PORT_HAS_DEFAULT, .doc = "a choice",
     .default_string = "fast", .choices = modes, .choice_count = 2},
    {.name = "count", .type = DF_TYPE_INTEGER, .flags = DF_PORT_HAS_DEFAULT | DF_PORT_HAS_RANGE, .doc = "a count",
     .default_number = 3, .minimum = 0, .maximum = 10},
    {.name = "words", .type = DF_TYPE_STRINGS, .doc = "a list"},
    {.name = "gain", .type = DF_TYPE_NUMBER, .flags = DF_PORT_HAS_DEFAULT, .doc = "a number", .default_number = 0.5},
    {.name = "flag", .type = DF_TYPE_BOOL, .flags = DF_PORT_HAS_DEFAULT, .doc = "a bool", .default_number = 1},
    {.name = "extra", .type = DF_TYPE_PATH, .flags = DF_PORT_OPTIONAL, .doc = "an optional path"},
};
static const df_port describe_out[] = {
    {.name = "text", .type = DF_TYPE_STRING, .doc = "what arrived"},
    {.name = "seed", .type = DF_TYPE_INTEGER, .doc = "the call's seed mod 1000"},
};

#define IMAGE_NODE(KIND, FN, FLAGS) \
    {.kind = KIND, .version = 1, .flags = FLAGS, .summary = "test node", .inputs = image_in, .input_count = 1, \
     .outputs = image_out, .output_count = 1, .process = FN}

static const df_node nodes[] = {
#if defined(VARIANT_UNNAMESPACED)
    IMAGE_NODE("copy", copy_image, DF_NODE_THREAD_SAFE),
#elif defined(VARIANT_DUPLICATE)
    IMAGE_NODE("examples.box_blur", copy_image, DF_NODE_THREAD_SAFE),
#elif defined(VARIANT_CACHE_SIDE_EFFECTS)
    IMAGE_NODE("test.copy", copy_image, DF_NODE_CACHEABLE | DF_NODE_SIDE_EFFECTS),
#else
    IMAGE_NODE("test.copy", copy_image, DF_NODE_THREAD_SAFE | DF_NODE_CACHEABLE),
#endif
    IMAGE_NODE("test.fail", fail_with_message, DF_NODE_THREAD_SAFE),
    IMAGE_NODE("test.fail_silently", fail_silently, DF_NODE_THREAD_SAFE),
    IMAGE_NODE("test.forget_output", forget_output, DF_NODE_THREAD_SAFE),
    IMAGE_NODE("test.wrong_setter", wrong_setter, DF_NODE_THREAD_SAFE),
    IMAGE_NODE("test.exclusive", exclusive, 0),
    {.kind = "test.double_delta", .version = 1, .flags = DF_NODE_THREAD_SAFE, .summary = "doubles a delta",
     .inputs = delta_in, .input_count = 1, .outputs = delta_out, .output_count = 1, .process = double_delta},
    {.kind = "test.threshold", .version = 1, .flags = DF_NODE_THREAD_SAFE, .summary = "image to mask",
     .inputs = image_in, .input_count = 1, .outputs = mask_out, .output_count = 1, .process = threshold},
    {.kind = "test.describe", .version = 1, .flags = DF_NODE_THREAD_SAFE, .summary = "echoes its inputs",
     .inputs = describe_in, .input_count = 6, .outputs = describe_out, .output_count = 2, .process = describe},
};

static const df_plugin plugin = {
#ifdef VARIANT_ABI
    .abi_version = 99,
#else
    .abi_version = DF_ABI_VERSION,
#endif
    .struct_size = sizeof(df_plugin),
    .name = "test-plugin",
    .version = "0.1",
    .summary = "misbehaves for the tests",
    .nodes = nodes,
    .node_count = sizeof nodes / sizeof nodes[0],
};

#ifdef VARIANT_NO_ENTRY
__attribute__((visibility("default"))) const df_plugin *something_else(uint32_t host) {
    (void)host;
    return &plugin;
}
#else
__attribute__((visibility("default"))) const df_plugin *deltaflow_plugin(uint32_t host) {
#ifdef VARIANT_DECLINE
    (void)host;
    (void)&plugin;
    return NULL;
#else
    return host == DF_ABI_VERSION ? &plugin : NULL;
#endif
}
#endif
