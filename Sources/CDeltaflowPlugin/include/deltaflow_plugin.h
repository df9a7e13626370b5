/*
 * deltaflow plugin ABI, version 1.
 *
 * A plugin is a shared library exporting one C function, `deltaflow_plugin`, that returns a
 * description of the plugin's nodes. deltaflow (the host) loads it with dlopen, checks the ABI
 * version and the descriptors, and calls each node's `process` function with buffers the host
 * owns. The plugin never allocates memory the host must free, and the host never frees memory
 * the plugin owns: descriptors and their strings must stay valid while the library is loaded.
 *
 * Everything here is plain C99 with fixed-width fields, so plugins can be written in C, C++,
 * Rust, Zig or Swift (the DeltaflowPluginSDK Swift library wraps this header).
 *
 * Compatibility: the host refuses a plugin whose `abi_version` differs from its own. Later
 * versions only append fields to the end of structs and say so with `struct_size`, so a plugin
 * built for version 1 keeps working on every host that speaks version 1.
 */
#ifndef DELTAFLOW_PLUGIN_H
#define DELTAFLOW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DF_ABI_VERSION 1u

/* The value types of ports; the same as a workflow's port types. */
enum {
    DF_TYPE_NONE = 0,    /* an optional input that the workflow left unset */
    DF_TYPE_IMAGE = 1,   /* 1–4 channels: gray, gray+alpha, RGB, RGBA (alpha straight, last) */
    DF_TYPE_MASK = 2,    /* 1 channel, 0 = untouched … 1 = fully edited */
    DF_TYPE_NUMBER = 3,  /* double */
    DF_TYPE_INTEGER = 4, /* int64 */
    DF_TYPE_STRING = 5,  /* UTF-8 */
    DF_TYPE_PATH = 6,    /* UTF-8 file path */
    DF_TYPE_BOOL = 7,
    DF_TYPE_DELTA = 8,   /* an exemplar's edit: named float arrays */
    DF_TYPE_STRINGS = 9, /* a list of UTF-8 strings */
};

/* How samples are stored. Float samples are nominally 0…1. */
enum {
    DF_SAMPLES_FLOAT32 = 0,
    DF_SAMPLES_UINT8 = 1,
};

/* df_port.flags */
enum {
    DF_PORT_OPTIONAL = 1u << 0,    /* input may be unset; the node then sees DF_TYPE_NONE */
    DF_PORT_HAS_DEFAULT = 1u << 1, /* default_number / default_string hold the default */
    DF_PORT_HAS_RANGE = 1u << 2,   /* minimum…maximum bound a number or integer input */
    DF_PORT_UINT8 = 1u << 3,       /* deliver this image/mask input as 8-bit samples */
};

/* df_node.flags */
enum {
    DF_NODE_THREAD_SAFE = 1u << 0,  /* process may run on several threads at once */
    DF_NODE_CACHEABLE = 1u << 1,    /* results may be kept on disk between runs */
    DF_NODE_SIDE_EFFECTS = 1u << 2, /* writes outside the graph: always runs, never pruned */
};

/* Pixels, interleaved: sample (x, y, c) is at data[y * row_stride + x * channels + c]. */
typedef struct df_image {
    int32_t width;
    int32_t height;
    int32_t channels;      /* 1 gray or mask, 2 gray+alpha, 3 RGB, 4 RGBA */
    int32_t sample_format; /* DF_SAMPLES_FLOAT32 or DF_SAMPLES_UINT8 */
    int64_t row_stride;    /* samples (not bytes) from one row to the next */
    void *data;            /* inputs: read-only; outputs: host memory the plugin fills */
} df_image;

typedef struct df_delta_array {
    const char *name;      /* e.g. "color.affine" */
    int32_t rank;
    const int64_t *shape;  /* rank entries */
    const float *values;   /* product(shape) values, row-major */
} df_delta_array;

typedef struct df_delta {
    const char *encoder;   /* who made it; deltas only combine with their own kind */
    int32_t array_count;
    const df_delta_array *arrays;
} df_delta;

/* One input value. Only the field matching `type` is meaningful. */
typedef struct df_value {
    int32_t type;          /* DF_TYPE_*; DF_TYPE_NONE for an unset optional input */
    int32_t boolean;
    int64_t integer;
    double number;
    const char *string;    /* string and path */
    df_image image;        /* image and mask */
    df_delta delta;
    const char *const *strings;
    int32_t string_count;
} df_value;

struct df_host;

/* One invocation of a node. Valid only during the `process` call. */
typedef struct df_call {
    const struct df_host *host;
    void *host_state;              /* the host's; do not touch */
    const df_value *inputs;        /* in the order the node declares its inputs */
    int32_t input_count;
    int32_t threads;               /* threads this call may use for its own work */
    uint64_t seed;                 /* derived from the workflow seed and the item: use for randomness */
    const char *item_path;         /* the current file for per-item nodes, else NULL */
    const char *item_relative_path;
    int64_t item_index;            /* -1 for nodes that run once */
    void *node_data;               /* the node's `data` pointer */
} df_call;

/*
 * What the host offers a running node. Outputs are indexed in the order the node declares
 * them and every declared output must be set before `process` returns 0. The setters copy what
 * they are given (except output_image, which hands out host memory to fill) and return 0, or
 * non-zero when the index or type does not match the declaration (the call then fails).
 */
typedef struct df_host {
    uint32_t abi_version;
    uint32_t struct_size;
    /* Allocates the image (or mask: channels 1) for output `index`, zero-filled, and returns
     * it with `data` set; `data` is NULL if the request is invalid. */
    df_image (*output_image)(const df_call *call, int32_t index, int32_t width, int32_t height,
                             int32_t channels, int32_t sample_format);
    int32_t (*output_number)(const df_call *call, int32_t index, double value);
    int32_t (*output_integer)(const df_call *call, int32_t index, int64_t value);
    int32_t (*output_bool)(const df_call *call, int32_t index, int32_t value);
    int32_t (*output_string)(const df_call *call, int32_t index, const char *utf8);
    int32_t (*output_delta)(const df_call *call, int32_t index, const df_delta *delta);
    int32_t (*output_strings)(const df_call *call, int32_t index, const char *const *utf8, int32_t count);
    /* Records why the call failed; the host reports it with the item's path. Return non-zero
     * from `process` afterwards. */
    void (*fail)(const df_call *call, const char *message);
} df_host;

/* Returns 0 on success; anything else is a failure (say why with host->fail first). */
typedef int32_t (*df_process_fn)(const df_call *call);

typedef struct df_port {
    const char *name;              /* an identifier: letters, digits, '_' */
    int32_t type;                  /* DF_TYPE_*, never DF_TYPE_NONE */
    uint32_t flags;                /* DF_PORT_* */
    const char *doc;               /* one line for `deltaflow nodes` */
    double default_number;         /* number, integer, bool (0 or 1) defaults */
    const char *default_string;    /* string and path defaults */
    double minimum, maximum;       /* with DF_PORT_HAS_RANGE */
    const char *const *choices;    /* allowed values of a string input, or NULL */
    int32_t choice_count;
} df_port;

typedef struct df_node {
    const char *kind;              /* namespaced: "vendor.name", e.g. "studio.watermark" */
    int32_t version;               /* bump when results change for the same inputs */
    uint32_t flags;                /* DF_NODE_* */
    const char *summary;           /* one line */
    const char *example;           /* a workflow fragment showing the node, or NULL */
    const df_port *inputs;
    int32_t input_count;
    const df_port *outputs;
    int32_t output_count;
    df_process_fn process;
    void *data;                    /* handed back as df_call.node_data */
} df_node;

typedef struct df_plugin {
    uint32_t abi_version;          /* DF_ABI_VERSION the plugin was built against; always first */
    uint32_t struct_size;          /* sizeof(df_plugin) as the plugin knows it */
    const char *name;              /* e.g. "studio-tools" */
    const char *version;           /* e.g. "1.2.0"; recorded with results and in cache keys */
    const char *summary;
    const df_node *nodes;
    int32_t node_count;
} df_plugin;

/*
 * The one symbol a plugin exports. `host_abi_version` is the host's DF_ABI_VERSION; a plugin
 * may return NULL to decline a host it cannot work with. The returned description must stay
 * valid until the library is unloaded (hosts never unload plugins during a run).
 */
#define DF_ENTRY_POINT "deltaflow_plugin"
typedef const df_plugin *(*df_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* DELTAFLOW_PLUGIN_H */
