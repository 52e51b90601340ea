/* libFuzzer target: log level specs ("pit:debug,vnet:info") and the name parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Recoverable UBSan checks (the Makefile does not pass -fno-sanitize-recover) must still stop
 * the run, or a finding would only be a line in the output. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    char err[96];
    char tiny[5];
    enum log_comp comp;
    enum log_level lvl;
    int rc;

    if (spec == NULL) {
        return 0;
    }
    memcpy(spec, data, size);
    spec[size] = '\0';

    log_init(); /* every input starts from the default levels */
    rc = log_apply_spec(spec, err, sizeof(err));
    if ((rc != 0 && rc != -EINVAL) || strnlen(err, sizeof(err)) == sizeof(err) ||
        (rc == 0 && err[0] != '\0') || (rc != 0 && err[0] == '\0')) {
        abort();
    }
    for (int c = 0; c < LOG_COMP_COUNT; c++) {
        if (log_get_level((enum log_comp)c) >= LOG_LVL_COUNT) {
            abort();
        }
    }
    /* A tiny message buffer and none at all must give the same result. */
    log_init();
    if (log_apply_spec(spec, tiny, sizeof(tiny)) != rc ||
        strnlen(tiny, sizeof(tiny)) == sizeof(tiny)) {
        abort();
    }
    log_init();
    if (log_apply_spec(spec, NULL, 0) != rc) {
        abort();
    }
    /* The whole input as one name. */
    if (log_comp_parse(spec, &comp) == 0 && (unsigned)comp >= LOG_COMP_COUNT) {
        abort();
    }
    if (log_level_parse(spec, &lvl) == 0 && (unsigned)lvl >= LOG_LVL_COUNT) {
        abort();
    }
    free(spec);
    return 0;
}
