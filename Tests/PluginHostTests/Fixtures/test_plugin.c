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
