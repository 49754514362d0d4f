/* log.c — one line per event on stderr with a UTC timestamp and level. Callers
 * must never pass secrets; request logs carry IDs and ARNs only. */
#include "base.h"

#include <pthread.h>
#include <stdio.h>

static cl_log_level min_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(cl_log_level lvl) {
    min_level = lvl;
}

void log_msg(cl_log_level lvl, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (lvl < min_level) return;
    char ts[21];
    time_format_iso8601(time(NULL), ts);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s %-5s ", ts, names[lvl]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
