#include "codec_guards.h"

/* jpeglib.h uses FILE and size_t without declaring them. */
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* A progressive JPEG can carry thousands of tiny scans, each of which costs a full pass over
 * the coefficients; real encoders write about ten. Refusing absurd counts stops that DoS. */
#define DF_JPEG_MAX_SCANS 1000

struct guarded_error {
    struct jpeg_error_mgr base;
    int code;
    char *message;
    jmp_buf jump;
};

static void record(j_common_ptr cinfo, int code) {
    struct guarded_error *err = (struct guarded_error *)cinfo->err;
    if (err->code != DF_OK) return;
    err->code = code;
    if (code == DF_ERR_TRUNCATED) {
        snprintf(err->message, DF_MESSAGE_CAPACITY, "truncated JPEG data");
    } else {
        char text[JMSG_LENGTH_MAX];
        err->base.format_message(cinfo, text);
        snprintf(err->message, DF_MESSAGE_CAPACITY, "%s", text);
    }
}

static void fail(j_common_ptr cinfo) {
    struct guarded_error *err = (struct guarded_error *)cinfo->err;
    record(cinfo, DF_ERR_CORRUPT);
    longjmp(err->jump, 1);
}

/* libjpeg treats a truncated file or damaged entropy data as a warning and fills the rest of
 * the image with grey. We refuse those: a half-grey photo silently written to the output is
 * worse than a clear error. Harmless warnings (stray bytes before a marker) are ignored. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;
    struct guarded_error *err = (struct guarded_error *)cinfo->err;
    switch (err->base.msg_code) {
    case JWRN_JPEG_EOF:
        record(cinfo, DF_ERR_TRUNCATED);
        longjmp(err->jump, 1);
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        record(cinfo, DF_ERR_CORRUPT);
        longjmp(err->jump, 1);
    default:
        err->base.num_warnings++;
    }
}

static void install_errors(struct guarded_error *err, char *message) {
    jpeg_std_error(&err->base);
    err->base.error_exit = fail;
    err->base.emit_message = on_message;
    err->code = DF_OK;
    err->message = message;
    message[0] = 0;
}

struct df_jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    struct guarded_error err;
    struct jpeg_progress_mgr progress;
    int created;
    JOCTET *icc; /* malloc'd by jpeg_read_icc_profile */
    char message[DF_MESSAGE_CAPACITY];
};

static void limit_scans(j_common_ptr common) {
    j_decompress_ptr cinfo = (j_decompress_ptr)common;
    if (cinfo->is_decompressor && cinfo->input_scan_number > DF_JPEG_MAX_SCANS) {
        struct guarded_error *err = (struct guarded_error *)cinfo->err;
        if (err->code == DF_OK) {
            err->code = DF_ERR_CORRUPT;
            snprintf(err->message, DF_MESSAGE_CAPACITY,
                     "progressive JPEG with more than %d scans", DF_JPEG_MAX_SCANS);
        }
        longjmp(err->jump, 1);
    }
}

df_jpeg_reader *df_jpeg_reader_create(const uint8_t *data, size_t size) {
    struct df_jpeg_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL) return NULL;
    reader->cinfo.err = &reader->err.base;
    install_errors(&reader->err, reader->message);
    if (setjmp(reader->err.jump)) {
        if (reader->created) jpeg_destroy_decompress(&reader->cinfo);
        free(reader);
        return NULL;
    }
    jpeg_create_decompress(&reader->cinfo);
    reader->created = 1;
    jpeg_mem_src(&reader->cinfo, data, (unsigned long)size);
    reader->progress.progress_monitor = limit_scans;
    reader->cinfo.progress = &reader->progress;
    return reader;
}

void df_jpeg_reader_destroy(df_jpeg_reader *reader) {
    if (reader == NULL) return;
    if (reader->created) jpeg_destroy_decompress(&reader->cinfo);
    free(reader->icc);
    free(reader);
}

const char *df_jpeg_reader_message(const df_jpeg_reader *reader) { return reader->message; }

int df_jpeg_read_header(df_jpeg_reader *reader, uint64_t max_pixels, df_jpeg_info *info) {
    j_decompress_ptr cinfo = &reader->cinfo;
    if (setjmp(reader->err.jump)) return reader->err.code;

    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);

    if ((uint64_t)cinfo->image_width * (uint64_t)cinfo->image_height > max_pixels) {
        reader->err.code = DF_ERR_TOO_LARGE;
        snprintf(reader->message, sizeof reader->message, "%u x %u pixels",
                 (unsigned)cinfo->image_width, (unsigned)cinfo->image_height);
        return reader->err.code;
    }

    memset(info, 0, sizeof *info);
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        info->channels = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        info->channels = 4;
        info->cmyk = 1;
        /* Adobe's writers (and Pillow, following them) store CMYK inverted and say so in an
         * APP14 marker; without the marker the samples are taken as plain CMYK. */
        info->adobe_inverted = cinfo->saw_Adobe_marker ? 1 : 0;
        break;
    default:
        cinfo->out_color_space = JCS_RGB;
        info->channels = 3;
        break;
    }
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->progressive = jpeg_has_multiple_scans(cinfo) ? 1 : 0;

    static const char xmp_header[] = "http://ns.adobe.com/xap/1.0/";
    for (jpeg_saved_marker_ptr marker = cinfo->marker_list; marker; marker = marker->next) {
        if (marker->marker != JPEG_APP0 + 1) continue;
        if (info->metadata.exif == NULL && marker->data_length > 6 &&
            memcmp(marker->data, "Exif\0\0", 6) == 0) {
            info->metadata.exif = marker->data + 6;
            info->metadata.exif_size = marker->data_length - 6;
        } else if (info->metadata.xmp == NULL && marker->data_length > sizeof xmp_header &&
                   memcmp(marker->data, xmp_header, sizeof xmp_header) == 0) {
            info->metadata.xmp = marker->data + sizeof xmp_header;
            info->metadata.xmp_size = marker->data_length - sizeof xmp_header;
        }
    }
    unsigned int icc_size = 0;
    if (reader->icc == NULL && jpeg_read_icc_profile(cinfo, &reader->icc, &icc_size)) {
        info->metadata.icc = reader->icc;
        info->metadata.icc_size = icc_size;
    }
    return DF_OK;
}

int df_jpeg_read_pixels(df_jpeg_reader *reader, uint8_t *pixels) {
    j_decompress_ptr cinfo = &reader->cinfo;
    if (setjmp(reader->err.jump)) return reader->err.code;

    jpeg_start_decompress(cinfo);
    size_t row_bytes = (size_t)cinfo->output_width * (size_t)cinfo->output_components;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = pixels + (size_t)cinfo->output_scanline * row_bytes;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return DF_OK;
}

/* A destination that writes into the caller's df_buffer. The buffer is updated in place as it
 * grows, so after any error the caller frees exactly what is allocated: nothing leaks and
 * nothing is freed twice (libjpeg's own memory destination hands back a pointer that goes
 * stale when it grows). */
struct buffer_destination {
    struct jpeg_destination_mgr base;
    df_buffer *out;
};

static void grow_destination(j_compress_ptr cinfo, size_t used) {
    struct buffer_destination *dest = (struct buffer_destination *)cinfo->dest;
    df_buffer *out = dest->out;
    size_t capacity = out->capacity ? out->capacity * 2 : 65536;
    uint8_t *grown = realloc(out->bytes, capacity);
    if (grown == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    out->bytes = grown;
    out->capacity = capacity;
    out->count = used;
    dest->base.next_output_byte = grown + used;
    dest->base.free_in_buffer = capacity - used;
}

static void init_destination(j_compress_ptr cinfo) { grow_destination(cinfo, 0); }

static boolean empty_destination(j_compress_ptr cinfo) {
    struct buffer_destination *dest = (struct buffer_destination *)cinfo->dest;
    grow_destination(cinfo, dest->out->capacity); /* libjpeg calls this only when it is full */
    return TRUE;
}

static void term_destination(j_compress_ptr cinfo) {
    struct buffer_destination *dest = (struct buffer_destination *)cinfo->dest;
    dest->out->count = dest->out->capacity - dest->base.free_in_buffer;
}

/* One APP1 marker holds at most 65533 bytes after its length field. */
static void write_app1(j_compress_ptr cinfo, const char *header, size_t header_size,
                       const uint8_t *payload, size_t size) {
    if (payload == NULL || size == 0 || header_size + size > 65533) return;
    jpeg_write_m_header(cinfo, JPEG_APP0 + 1, (unsigned int)(header_size + size));
    for (size_t i = 0; i < header_size; i++) jpeg_write_m_byte(cinfo, header[i]);
    for (size_t i = 0; i < size; i++) jpeg_write_m_byte(cinfo, payload[i]);
}

static void write_metadata(j_compress_ptr cinfo, const df_metadata *metadata) {
    write_app1(cinfo, "Exif\0\0", 6, metadata->exif, metadata->exif_size);
    write_app1(cinfo, "http://ns.adobe.com/xap/1.0/", 29, metadata->xmp, metadata->xmp_size);
    if (metadata->icc != NULL && metadata->icc_size > 0)
        jpeg_write_icc_profile(cinfo, metadata->icc, (unsigned int)metadata->icc_size);
}

int df_jpeg_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  int quality, int progressive, int chroma_subsampling,
                  const df_metadata *metadata, df_buffer *out,
                  char message[DF_MESSAGE_CAPACITY]) {
    if (channels != 1 && channels != 3) {
        snprintf(message, DF_MESSAGE_CAPACITY, "JPEG takes 1 or 3 channels, not %d", channels);
        return DF_ERR_UNSUPPORTED;
    }
    struct jpeg_compress_struct cinfo;
    struct guarded_error err;
    struct buffer_destination destination;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&destination, 0, sizeof destination);
    cinfo.err = &err.base;
    install_errors(&err, message);
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        return err.code;
    }
    jpeg_create_compress(&cinfo);
    destination.base.init_destination = init_destination;
    destination.base.empty_output_buffer = empty_destination;
    destination.base.term_destination = term_destination;
    destination.out = out;
    cinfo.dest = &destination.base;
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (channels == 3) {
        /* chroma_subsampling: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 (libjpeg's default). */
        cinfo.comp_info[0].h_samp_factor = chroma_subsampling >= 1 ? 2 : 1;
        cinfo.comp_info[0].v_samp_factor = chroma_subsampling >= 2 ? 2 : 1;
    }
    if (progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    if (metadata != NULL) write_metadata(&cinfo, metadata);
    size_t row_bytes = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * row_bytes);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return DF_OK;
}
