#ifndef DELTAFLOW_CODEC_GUARDS_H
#define DELTAFLOW_CODEC_GUARDS_H
/*
 * Guarded entry points into libpng and libjpeg.
 *
 * Both libraries report fatal errors by longjmp. Jumping over Swift frames is undefined
 * behaviour, so every library call that can fail is made from a function in this file that
 * owns the setjmp. Errors come back as a non-zero return and a message in the context.
 */
#include <stddef.h>
#include <stdint.h>

#define DF_MESSAGE_CAPACITY 256

/* Error classes, so Swift can map a failure to a user-facing code without parsing text. */
enum {
    DF_OK = 0,
    DF_ERR_CORRUPT = 1,   /* the data is not a valid image of this format */
    DF_ERR_TRUNCATED = 2, /* the data ends before the image does */
    DF_ERR_TOO_LARGE = 3, /* refused before allocating: above the caller's pixel limit */
    DF_ERR_NO_MEMORY = 4,
    DF_ERR_UNSUPPORTED = 5
};

/* A growable byte buffer that encoders write into; free with df_buffer_free. */
typedef struct {
    uint8_t *bytes;
    size_t count;
    size_t capacity;
} df_buffer;

void df_buffer_free(df_buffer *buffer);

/* What a file says about its pixels besides the pixels: an ICC profile, EXIF (TIFF-structured,
 * without JPEG's "Exif\0\0" prefix) and an XMP packet. Any pointer may be NULL. For writing,
 * the XMP must be followed by a NUL (libpng measures iTXt text with strlen). */
typedef struct {
    const uint8_t *icc;
    size_t icc_size;
    const uint8_t *exif;
    size_t exif_size;
    const uint8_t *xmp;
    size_t xmp_size;
} df_metadata;

/* ---------------------------------------------------------------- PNG */

typedef struct df_png_reader df_png_reader;

typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;          /* after expansion: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int bit_depth;         /* after expansion: 8 or 16 */
    int source_color_type; /* PNG_COLOR_TYPE_* as stored */
    int source_bit_depth;  /* 1, 2, 4, 8 or 16 as stored */
    int interlaced;
    df_metadata metadata;  /* owned by the reader; valid until it is destroyed */
} df_png_info;

df_png_reader *df_png_reader_create(const uint8_t *data, size_t size);
void df_png_reader_destroy(df_png_reader *reader);
const char *df_png_reader_message(const df_png_reader *reader);

/* Reads the header and sets up expansion to 8/16-bit gray, gray+alpha, RGB or RGBA.
 * Refuses width*height above max_pixels before any image memory is allocated. */
int df_png_read_header(df_png_reader *reader, uint64_t max_pixels, df_png_info *info);

/* Decodes the whole image into `pixels` (height rows of row_bytes, interleaved samples,
 * 16-bit samples in host byte order). */
int df_png_read_pixels(df_png_reader *reader, uint8_t *pixels, size_t row_bytes);

/* Encodes interleaved samples (16-bit in host byte order) into `out`. */
int df_png_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                 int bit_depth, size_t row_bytes, int compression_level,
                 const df_metadata *metadata, df_buffer *out,
                 char message[DF_MESSAGE_CAPACITY]);

/* ---------------------------------------------------------------- JPEG */

typedef struct df_jpeg_reader df_jpeg_reader;

typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;           /* 1 gray, 3 RGB, 4 CMYK (see adobe_inverted) */
    int progressive;
    int cmyk;
    int adobe_inverted;     /* CMYK samples are stored inverted (Adobe APP14 convention) */
    /* EXIF and XMP are valid until df_jpeg_read_pixels; the ICC profile (reassembled from its
     * APP2 chunks) until the reader is destroyed. */
    df_metadata metadata;
} df_jpeg_info;

df_jpeg_reader *df_jpeg_reader_create(const uint8_t *data, size_t size);
void df_jpeg_reader_destroy(df_jpeg_reader *reader);
const char *df_jpeg_reader_message(const df_jpeg_reader *reader);

int df_jpeg_read_header(df_jpeg_reader *reader, uint64_t max_pixels, df_jpeg_info *info);

/* Decodes into `pixels`: height rows of width*channels bytes, interleaved. */
int df_jpeg_read_pixels(df_jpeg_reader *reader, uint8_t *pixels);

/* Encodes 1-channel gray or 3-channel RGB interleaved 8-bit samples. EXIF or XMP too large for
 * one APP1 marker (64 KB) is left out; the ICC profile is split over APP2 markers. */
int df_jpeg_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  int quality, int progressive, int chroma_subsampling,
                  const df_metadata *metadata, df_buffer *out,
                  char message[DF_MESSAGE_CAPACITY]);

/* ---------------------------------------------------------------- TIFF */

typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;    /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int bit_depth;   /* 8 or 16 */
    int orientation; /* TIFF/EXIF orientation 1-8 of the pixels as returned (1 after the RGBA path) */
    df_metadata metadata; /* ICC and XMP (EXIF lives in a sub-directory and is not read); owned by the reader */
} df_tiff_info;

typedef struct df_tiff_reader df_tiff_reader;

df_tiff_reader *df_tiff_reader_create(const uint8_t *data, size_t size);
void df_tiff_reader_destroy(df_tiff_reader *reader);
const char *df_tiff_reader_message(const df_tiff_reader *reader);

/* Reads the first image's header. Gray, gray+alpha, RGB and RGBA at 8 or 16 bits in strips
 * are read as they are; anything else (tiles, palettes, YCbCr, CMYK, 1-bit, float) through
 * libtiff's RGBA reader at 8 bits. Refuses width*height above max_pixels. */
int df_tiff_read_header(df_tiff_reader *reader, uint64_t max_pixels, df_tiff_info *info);

/* Decodes into `pixels`: height rows of width*channels samples (16-bit in host order). */
int df_tiff_read_pixels(df_tiff_reader *reader, uint8_t *pixels);

/* Encodes interleaved samples (16-bit in host order), compressed with Deflate and the
 * horizontal predictor, with the ICC profile and XMP of `metadata`. */
int df_tiff_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  int bit_depth, const df_metadata *metadata, df_buffer *out,
                  char message[DF_MESSAGE_CAPACITY]);

/* ---------------------------------------------------------------- WebP */

typedef struct {
    uint32_t width;
    uint32_t height;
    int has_alpha;
    df_metadata metadata; /* pointers into the caller's data */
} df_webp_info;

int df_webp_read_header(const uint8_t *data, size_t size, uint64_t max_pixels, df_webp_info *info,
                        char message[DF_MESSAGE_CAPACITY]);

/* Decodes into `pixels`: RGBA when the image has alpha, else RGB, 8 bits. */
int df_webp_read_pixels(const uint8_t *data, size_t size, const df_webp_info *info, uint8_t *pixels,
                        char message[DF_MESSAGE_CAPACITY]);

/* Encodes 8-bit RGB or RGBA: lossy at `quality` (0-100), or lossless; with the metadata's
 * ICC profile, EXIF and XMP as chunks. */
int df_webp_write(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                  float quality, int lossless, const df_metadata *metadata, df_buffer *out,
                  char message[DF_MESSAGE_CAPACITY]);

#endif
