/* Counts fontconfig's font sorts: loaded with LD_PRELOAD by tests/unit/test_fontsets.py.
 *
 * While the file named by FONTCONFIG_SORTS_FLAG exists, every FcFontSort and FcFontSetSort
 * call (Pango sorts the installed fonts for each new font pattern) writes one line, "sort",
 * to standard error; then it calls fontconfig's own function. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fontconfig/fontconfig.h>

/* fontconfig's own function: the next one after this library's, else from the library
 * itself (a linker that drops unused dependencies leaves it out of the next ones). */
static void *fontconfig_function(const char *name) {
    void *found = dlsym(RTLD_NEXT, name);
    if (!found) {
        void *library = dlopen("libfontconfig.so.1", RTLD_LAZY);
        if (library)
            found = dlsym(library, name);
    }
    if (!found)
        abort();
    return found;
}

static void note(void) {
    const char *flag = getenv("FONTCONFIG_SORTS_FLAG");
    if (flag && access(flag, F_OK) == 0)
        fputs("sort\n", stderr);
}

FcFontSet *FcFontSort(FcConfig *config, FcPattern *p, FcBool trim, FcCharSet **csp, FcResult *result) {
    static FcFontSet *(*real)(FcConfig *, FcPattern *, FcBool, FcCharSet **, FcResult *);
    if (!real)
        real = fontconfig_function("FcFontSort");
    note();
    return real(config, p, trim, csp, result);
}

FcFontSet *FcFontSetSort(FcConfig *config, FcFontSet **sets, int nsets, FcPattern *p, FcBool trim,
                         FcCharSet **csp, FcResult *result) {
    static FcFontSet *(*real)(FcConfig *, FcFontSet **, int, FcPattern *, FcBool, FcCharSet **, FcResult *);
    if (!real)
        real = fontconfig_function("FcFontSetSort");
    note();
    return real(config, sets, nsets, p, trim, csp, result);
}
