#include "codec_guards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

/* The EXIF chunk holds TIFF-structured data; some writers put JPEG's "Exif\0\0" before it. */
static void set_chunk(const uint8_t **pointer, size_t *size, const WebPChunkIterator *chunk, int is_exif) {
    const uint8_t *bytes = chunk->chunk.bytes;
    size_t count = chunk->chunk.size;
    if (is_exif && count > 6 && memcmp(bytes, "Exif\0\0", 6) == 0) {
        bytes += 6;
        count -= 6;
    }
    *pointer = bytes;
    *size = count;
}

int df_webp_read_header(const uint8_t *data, size_t size, uint64_t max_pixels, df_webp_info *info,
                        char message[DF_MESSAGE_CAPACITY]) {
    memset(info, 0, sizeof *info);
    message[0] = 0;
    WebPBitstreamFeatures features;
    VP8StatusCode status = WebPGetFeatures(data, size, &features);
    if (status == VP8_STATUS_NOT_ENOUGH_DATA) {
        snprintf(message, DF_MESSAGE_CAPACITY, "truncated WebP data");
        return DF_ERR_TRUNCATED;
    }
    if (status != VP8_STATUS_OK) {
        snprintf(message, DF_MESSAGE_CAPACITY, "not a valid WebP file (libwebp status %d)", (int)status);
        return DF_ERR_CORRUPT;
    }
    if (features.has_animation) {
        snprintf(message, DF_MESSAGE_CAPACITY, "animated WebP");
        return DF_ERR_UNSUPPORTED;
    }
    if ((uint64_t)features.width * (uint64_t)features.height > max_pixels) {
        snprintf(message, DF_MESSAGE_CAPACITY, "%d x %d pixels", features.width, features.height);
        return DF_ERR_TOO_LARGE;
    }
    info->width = (uint32_t)features.width;
    info->height = (uint32_t)features.height;
    info->has_alpha = features.has_alpha;

    WebPData whole = {data, size};
    WebPDemuxer *demux = WebPDemux(&whole);
    if (demux != NULL) {
        WebPChunkIterator chunk;
        if (WebPDemuxGetChunk(demux, "ICCP", 1, &chunk)) {
            set_chunk(&info->metadata.icc, &info->metadata.icc_size, &chunk, 0);
            WebPDemuxReleaseChunkIterator(&chunk);
        }
        if (WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
            set_chunk(&info->metadata.exif, &info->metadata.exif_size, &chunk, 1);
            WebPDemuxReleaseChunkIterator(&chunk);
        }
        if (WebPDemuxGetChunk(demux, "XMP ", 1, &chunk)) {
            set_chunk(&info->metadata.xmp, &info->metadata.xmp_size, &chunk, 0);
            WebPDemuxReleaseChunkIterator(&chunk);
        }
        WebPDemuxDelete(demux); /* the chunks point into `data`, which outlives this */
    }
    return DF_OK;
}

int df_webp_read_pixels(const uint8_t *data, size_t size, const df_webp_info *info, uint8_t *pixels,
                        char message[DF_MESSAGE_CAPACITY]) {
    int channels = info->has_alpha ? 4 : 3;
    size_t stride = (size_t)info->width * channels;
    size_t total = stride * info->height;
    uint8_t *decoded = info->has_alpha ? WebPDecodeRGBAInto(data, size, pixels, total, (int)stride)
                                       : WebPDecodeRGBInto(data, size, pixels, total, (int)stride);
    if (decoded == NULL) {
        snprintf(message, DF_MESSAGE_CAPACITY, "cannot decode the WebP image data");
        return DF_ERR_CORRUPT;
    }
    return DF_OK;
}

int df_webp_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  float quality, int lossless, const df_metadata *metadata, df_buffer *out,
                  char message[DF_MESSAGE_CAPACITY]) {
    message[0] = 0;
    if ((channels != 3 && channels != 4) || width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION) {
        snprintf(message, DF_MESSAGE_CAPACITY, "WebP takes RGB or RGBA up to %d pixels a side", WEBP_MAX_DIMENSION);
        return DF_ERR_UNSUPPORTED;
    }
    uint8_t *encoded = NULL;
    int stride = (int)(width * channels);
    size_t size;
    if (lossless)
        size = channels == 4 ? WebPEncodeLosslessRGBA(pixels, (int)width, (int)height, stride, &encoded)
                             : WebPEncodeLosslessRGB(pixels, (int)width, (int)height, stride, &encoded);
    else
        size = channels == 4 ? WebPEncodeRGBA(pixels, (int)width, (int)height, stride, quality, &encoded)
                             : WebPEncodeRGB(pixels, (int)width, (int)height, stride, quality, &encoded);
    if (size == 0 || encoded == NULL) {
        WebPFree(encoded);
        snprintf(message, DF_MESSAGE_CAPACITY, "WebP encoding failed");
        return DF_ERR_CORRUPT;
    }
    WebPData assembled = {encoded, size};
    WebPData muxed = {NULL, 0};
    int with_metadata = metadata != NULL && (metadata->icc_size || metadata->exif_size || metadata->xmp_size);
    if (with_metadata) {
        WebPData image = {encoded, size};
        WebPMux *mux = WebPMuxCreate(&image, 1);
        int ok = mux != NULL;
        const struct { const char *name; const uint8_t *bytes; size_t size; } chunks[3] = {
            {"ICCP", metadata->icc, metadata->icc_size},
            {"EXIF", metadata->exif, metadata->exif_size},
            {"XMP ", metadata->xmp, metadata->xmp_size},
        };
        for (int i = 0; i < 3 && ok; i++) {
            if (chunks[i].bytes == NULL || chunks[i].size == 0) continue;
            WebPData chunk = {chunks[i].bytes, chunks[i].size};
            ok = WebPMuxSetChunk(mux, chunks[i].name, &chunk, 1) == WEBP_MUX_OK;
        }
        ok = ok && WebPMuxAssemble(mux, &muxed) == WEBP_MUX_OK;
        WebPMuxDelete(mux);
        if (!ok) {
            WebPDataClear(&muxed);
            WebPFree(encoded);
            snprintf(message, DF_MESSAGE_CAPACITY, "could not add the metadata to the WebP file");
            return DF_ERR_CORRUPT;
        }
        assembled = muxed;
    }
    int status = DF_OK;
    uint8_t *copy = malloc(assembled.size);
    if (copy == NULL) {
        status = DF_ERR_NO_MEMORY;
    } else {
        memcpy(copy, assembled.bytes, assembled.size);
        free(out->bytes);
        out->bytes = copy;
        out->count = assembled.size;
        out->capacity = assembled.size;
    }
    if (with_metadata) WebPDataClear(&muxed);
    WebPFree(encoded);
    return status;
}
