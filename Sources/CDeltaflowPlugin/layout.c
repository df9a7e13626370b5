/* The ABI's struct layouts on 64-bit targets, checked at compile time: a change to any of these
 * numbers breaks every plugin built before it and needs a new DF_ABI_VERSION. */
#include "deltaflow_plugin.h"

#if UINTPTR_MAX == 0xffffffffffffffffu
_Static_assert(sizeof(df_image) == 32, "df_image layout changed");
_Static_assert(sizeof(df_delta_array) == 32, "df_delta_array layout changed");
_Static_assert(sizeof(df_delta) == 24, "df_delta layout changed");
_Static_assert(sizeof(df_value) == 104, "df_value layout changed");
_Static_assert(sizeof(df_call) == 72, "df_call layout changed");
_Static_assert(sizeof(df_host) == 72, "df_host layout changed");
_Static_assert(sizeof(df_port) == 72, "df_port layout changed");
_Static_assert(sizeof(df_node) == 80, "df_node layout changed");
_Static_assert(sizeof(df_plugin) == 48, "df_plugin layout changed");
#endif
