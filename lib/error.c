/* Status strings, the thread-local last-error message, and the log callback. */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ADN_MESSAGE_MAX 1024

static _Thread_local char last_error[ADN_MESSAGE_MAX];

static adn_log_callback log_callback;
static void *log_user_data;
static adn_log_level log_min_level = ADN_LOG_INFO;

const char *adn_status_str(adn_status status) {
    switch (status) {
    case ADN_OK: return "ok";
    case ADN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case ADN_ERR_OUT_OF_MEMORY: return "out of memory";
    case ADN_ERR_IO: return "i/o error";
    case ADN_ERR_FORMAT: return "bad file format";
    case ADN_ERR_TOO_LARGE: return "image too large";
    case ADN_ERR_NON_FINITE: return "non-finite value";
    case ADN_ERR_MODEL: return "bad model";
    case ADN_ERR_DEVICE: return "device unavailable";
    case ADN_ERR_UNSUPPORTED: return "not supported by this build";
    case ADN_ERR_INTERNAL: return "internal error";
    case ADN_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

const char *adn_last_error(void) { return last_error; }

void adn_clear_error(void) { last_error[0] = '\0'; }

void adn_set_log_callback(adn_log_callback callback, void *user_data, adn_log_level min_level) {
    log_callback = callback;
    log_user_data = user_data;
    log_min_level = min_level;
}

static void log_message(adn_log_level level, const char *message) {
    if (log_callback && level >= log_min_level) log_callback(level, message, log_user_data);
}

void adn_log(adn_log_level level, const char *fmt, ...) {
    if (!log_callback || level < log_min_level) return;
    char message[ADN_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    log_message(level, message);
}

adn_status adn_fail(adn_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    /* A message is one line: backends sometimes hand us several. */
    for (char *p = last_error; *p; ++p)
        if (*p == '\n' || *p == '\r') *p = ' ';
    log_message(ADN_LOG_ERROR, last_error);
    return status;
}

int adn_all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (!isfinite(x[i])) return 0;
    return 1;
}

adn_status adn_check_image(const adn_image *img, int32_t channels, const char *what) {
    if (!img) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    if (!img->data) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s has no pixel data", what);
    if (img->width < 1 || img->height < 1 || img->channels < 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s has invalid size %dx%dx%d", what, (int)img->channels,
                        (int)img->height, (int)img->width);
    if (channels && img->channels != channels)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s must have %d channel(s), has %d", what, (int)channels,
                        (int)img->channels);
    return ADN_OK;
}

adn_status adn_check_output_size(const adn_image *img, int32_t channels, int32_t height, int32_t width,
                                 const char *what) {
    if (!img || !img->data) return ADN_OK;
    if (img->channels != channels || img->width != width || img->height != height)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s must be %dx%dx%d (CxHxW), is %dx%dx%d", what, (int)channels,
                        (int)height, (int)width, (int)img->channels, (int)img->height, (int)img->width);
    return ADN_OK;
}

adn_status adn_image_prepare_output(adn_image *img, int32_t channels, int32_t height, int32_t width,
                                    const char *what) {
    if (!img) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s is NULL", what);
    if (!img->data) return adn_image_alloc(img, channels, height, width);
    return adn_check_output_size(img, channels, height, width, what);
}
