#include "codec_guards.h"
#include <stdlib.h>

void df_buffer_free(df_buffer *buffer) {
    free(buffer->bytes);
    buffer->bytes = NULL;
    buffer->count = 0;
    buffer->capacity = 0;
}
