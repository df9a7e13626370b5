#include "codec_guards.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

/* libtiff reads and writes through these callbacks over memory; errors and warnings come to
 * per-handle handlers (libtiff 4.5) instead of stderr. */

struct memory_file {
    const uint8_t *data; /* reading */
    df_buffer *out;      /* writing */
    size_t size;
    size_t offset;
};

static tmsize_t memory_read(thandle_t handle, void *buffer, tmsize_t count) {
    struct memory_file *file = handle;
    if (file->data == NULL || count < 0) return -1;
    size_t available = file->offset < file->size ? file->size - file->offset : 0;
    size_t n = (size_t)count < available ? (size_t)count : available;
    memcpy(buffer, file->data + file->offset, n);
    file->offset += n;
    return (tmsize_t)n;
}

static tmsize_t memory_write(thandle_t handle, void *buffer, tmsize_t count) {
    struct memory_file *file = handle;
    if (file->out == NULL || count < 0) return -1;
    size_t end = file->offset + (size_t)count;
    df_buffer *out = file->out;
    if (end > out->capacity) {
        size_t capacity = out->capacity ? out->capacity : 65536;
        while (capacity < end) capacity *= 2;
        uint8_t *grown = realloc(out->bytes, capacity);
        if (grown == NULL) return -1;
        out->bytes = grown;
        out->capacity = capacity;
    }
    if (file->offset > out->count) memset(out->bytes + out->count, 0, file->offset - out->count);
    memcpy(out->bytes + file->offset, buffer, (size_t)count);
    file->offset = end;
    if (end > out->count) out->count = end;
    file->size = out->count;
    return count;
}

static toff_t memory_seek(thandle_t handle, toff_t offset, int whence) {
    struct memory_file *file = handle;
    uint64_t base = whence == SEEK_CUR ? file->offset : whence == SEEK_END ? file->size : 0;
    uint64_t target = base + offset;
    if (target > (uint64_t)SIZE_MAX) return (toff_t)-1;
    file->offset = (size_t)target;
    return target;
}

static int memory_close(thandle_t handle) {
    (void)handle;
    return 0;
}

static toff_t memory_size(thandle_t handle) { return ((struct memory_file *)handle)->size; }

static int no_map(thandle_t handle, void **base, toff_t *size) {
    (void)handle;
    (void)base;
    (void)size;
    return 0;
}

static void no_unmap(thandle_t handle, void *base, toff_t size) {
    (void)handle;
    (void)base;
    (void)size;
}

static int record_error(TIFF *tif, void *user, const char *module, const char *format, va_list args) {
    (void)tif;
    (void)module;
    char *message = user;
    if (message[0] == 0) vsnprintf(message, DF_MESSAGE_CAPACITY, format, args);
    return 1;
}

static int ignore_warning(TIFF *tif, void *user, const char *module, const char *format, va_list args) {
    (void)tif;
    (void)user;
    (void)module;
    (void)format;
    (void)args;
    return 1;
}

static TIFF *open_memory(struct memory_file *file, const char *mode, char *message) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (options == NULL) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(options, record_error, message);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ignore_warning, NULL);
    TIFF *tif = TIFFClientOpenExt("memory", mode, file, memory_read, memory_write, memory_seek,
                                  memory_close, memory_size, no_map, no_unmap, options);
    TIFFOpenOptionsFree(options);
    return tif;
}

struct df_tiff_reader {
    struct memory_file file;
    TIFF *tif;
    int direct; /* strips of 8/16-bit contiguous gray/RGB(A), read as they are */
    int channels;
    int bit_depth;
    int associated_alpha;
    uint32_t width, height;
    char message[DF_MESSAGE_CAPACITY];
};

df_tiff_reader *df_tiff_reader_create(const uint8_t *data, size_t size) {
    struct df_tiff_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL) return NULL;
    reader->file.data = data;
    reader->file.size = size;
    return reader;
}

void df_tiff_reader_destroy(df_tiff_reader *reader) {
    if (reader == NULL) return;
    if (reader->tif != NULL) TIFFClose(reader->tif);
    free(reader);
}

const char *df_tiff_reader_message(const df_tiff_reader *reader) { return reader->message; }

int df_tiff_read_header(df_tiff_reader *reader, uint64_t max_pixels, df_tiff_info *info) {
    memset(info, 0, sizeof *info);
    reader->tif = open_memory(&reader->file, "rm", reader->message);
    if (reader->tif == NULL) {
        if (reader->message[0] == 0) snprintf(reader->message, DF_MESSAGE_CAPACITY, "not a TIFF file");
        return DF_ERR_CORRUPT;
    }
    TIFF *tif = reader->tif;
    uint32_t width = 0, height = 0;
    uint16_t samples = 1, bits = 1, photometric = PHOTOMETRIC_MINISBLACK, planar = PLANARCONFIG_CONTIG;
    uint16_t format = SAMPLEFORMAT_UINT, orientation = ORIENTATION_TOPLEFT;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation);
    if (width == 0 || height == 0) {
        snprintf(reader->message, DF_MESSAGE_CAPACITY, "TIFF without image dimensions");
        return DF_ERR_CORRUPT;
    }
    if ((uint64_t)width * height > max_pixels) {
        snprintf(reader->message, DF_MESSAGE_CAPACITY, "%u x %u pixels", (unsigned)width, (unsigned)height);
        return DF_ERR_TOO_LARGE;
    }
    uint16_t extra_count = 0, *extra_types = NULL;
    TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra_types);
    int colors = photometric == PHOTOMETRIC_RGB ? 3 : 1;
    int alpha = (int)samples - colors == 1 && extra_count == 1;
    reader->direct = !TIFFIsTiled(tif) && planar == PLANARCONFIG_CONTIG && format == SAMPLEFORMAT_UINT &&
                     (bits == 8 || bits == 16) &&
                     (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_RGB) &&
                     ((int)samples == colors || alpha);
    reader->width = width;
    reader->height = height;
    if (reader->direct) {
        reader->channels = samples;
        reader->bit_depth = bits;
        reader->associated_alpha = alpha && extra_types[0] == EXTRASAMPLE_ASSOCALPHA;
        info->orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
    } else {
        reader->channels = 4;
        reader->bit_depth = 8;
        info->orientation = 1; /* TIFFReadRGBAImageOriented turns it upright */
    }
    info->width = width;
    info->height = height;
    info->channels = reader->channels;
    info->bit_depth = reader->bit_depth;

    uint32_t count = 0;
    void *data = NULL;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &count, &data) && data != NULL && count > 0) {
        info->metadata.icc = data;
        info->metadata.icc_size = count;
    }
    count = 0;
    data = NULL;
    if (TIFFGetField(tif, TIFFTAG_XMLPACKET, &count, &data) && data != NULL && count > 0) {
        info->metadata.xmp = data;
        info->metadata.xmp_size = count;
    }
    return DF_OK;
}

int df_tiff_read_pixels(df_tiff_reader *reader, uint8_t *pixels) {
    TIFF *tif = reader->tif;
    size_t row_bytes = (size_t)reader->width * reader->channels * (reader->bit_depth / 8);
    if (!reader->direct) {
        uint32_t *rgba = (uint32_t *)pixels; /* ABGR-packed, which is R,G,B,A bytes in memory */
        if (!TIFFReadRGBAImageOriented(tif, reader->width, reader->height, rgba, ORIENTATION_TOPLEFT, 0)) {
            if (reader->message[0] == 0) snprintf(reader->message, DF_MESSAGE_CAPACITY, "cannot decode the TIFF");
            return DF_ERR_CORRUPT;
        }
        /* TIFFReadRGBAImage packs with TIFFGetR & co.: bytes R, G, B, A on little-endian hosts. */
        size_t count = (size_t)reader->width * reader->height;
        for (size_t i = 0; i < count; i++) {
            uint32_t v = rgba[i];
            uint8_t r = TIFFGetR(v), g = TIFFGetG(v), b = TIFFGetB(v), a = TIFFGetA(v);
            /* The RGBA reader premultiplies associated alpha; straighten it. */
            if (a != 0 && a != 255) {
                r = (uint8_t)(r * 255 / a > 255 ? 255 : r * 255 / a);
                g = (uint8_t)(g * 255 / a > 255 ? 255 : g * 255 / a);
                b = (uint8_t)(b * 255 / a > 255 ? 255 : b * 255 / a);
            }
            pixels[4 * i] = r;
            pixels[4 * i + 1] = g;
            pixels[4 * i + 2] = b;
            pixels[4 * i + 3] = a;
        }
        return DF_OK;
    }
    if ((size_t)TIFFScanlineSize(tif) != row_bytes) {
        snprintf(reader->message, DF_MESSAGE_CAPACITY, "unexpected TIFF row size");
        return DF_ERR_CORRUPT;
    }
    for (uint32_t y = 0; y < reader->height; y++) {
        if (TIFFReadScanline(tif, pixels + (size_t)y * row_bytes, y, 0) < 0) {
            if (reader->message[0] == 0) snprintf(reader->message, DF_MESSAGE_CAPACITY, "truncated TIFF data");
            return DF_ERR_TRUNCATED;
        }
    }
    if (reader->associated_alpha) {
        int c = reader->channels;
        size_t count = (size_t)reader->width * reader->height;
        for (size_t i = 0; i < count; i++) {
            if (reader->bit_depth == 8) {
                uint8_t *p = pixels + i * c;
                unsigned a = p[c - 1];
                for (int k = 0; k < c - 1 && a != 0; k++) {
                    unsigned v = p[k] * 255u / a;
                    p[k] = (uint8_t)(v > 255 ? 255 : v);
                }
            } else {
                uint16_t *p = (uint16_t *)pixels + i * c;
                uint32_t a = p[c - 1];
                for (int k = 0; k < c - 1 && a != 0; k++) {
                    uint32_t v = (uint32_t)p[k] * 65535u / a;
                    p[k] = (uint16_t)(v > 65535 ? 65535 : v);
                }
            }
        }
    }
    return DF_OK;
}

int df_tiff_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  int bit_depth, const df_metadata *metadata, df_buffer *out,
                  char message[DF_MESSAGE_CAPACITY]) {
    message[0] = 0;
    if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16)) {
        snprintf(message, DF_MESSAGE_CAPACITY, "unsupported layout: %d channels, %d bits", channels, bit_depth);
        return DF_ERR_UNSUPPORTED;
    }
    struct memory_file file = {.data = NULL, .out = out, .size = 0, .offset = 0};
    TIFF *tif = open_memory(&file, "w", message);
    if (tif == NULL) return DF_ERR_NO_MEMORY;
    int colors = channels >= 3 ? 3 : 1;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, height);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)channels);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)bit_depth);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, colors == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
    if (channels == 2 || channels == 4) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    size_t row_bytes = (size_t)width * channels * (bit_depth / 8);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, (uint32_t)(262144 / (row_bytes ? row_bytes : 1))));
    if (metadata != NULL && metadata->icc != NULL && metadata->icc_size > 0)
        TIFFSetField(tif, TIFFTAG_ICCPROFILE, (uint32_t)metadata->icc_size, metadata->icc);
    if (metadata != NULL && metadata->xmp != NULL && metadata->xmp_size > 0)
        TIFFSetField(tif, TIFFTAG_XMLPACKET, (uint32_t)metadata->xmp_size, metadata->xmp);
    uint8_t *row = malloc(row_bytes ? row_bytes : 1); /* libtiff's predictor works in place */
    if (row == NULL) {
        TIFFClose(tif);
        return DF_ERR_NO_MEMORY;
    }
    int status = DF_OK;
    for (uint32_t y = 0; y < height && status == DF_OK; y++) {
        memcpy(row, pixels + (size_t)y * row_bytes, row_bytes);
        if (TIFFWriteScanline(tif, row, y, 0) < 0) status = DF_ERR_CORRUPT;
    }
    free(row);
    if (status == DF_OK && !TIFFWriteDirectory(tif)) status = DF_ERR_CORRUPT;
    TIFFClose(tif);
    if (status != DF_OK && message[0] == 0) snprintf(message, DF_MESSAGE_CAPACITY, "TIFF encoding failed");
    return status;
}
