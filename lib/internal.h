/* Internal helpers shared by the C sources of lib/ (never installed). */
#ifndef ADN_INTERNAL_H
#define ADN_INTERNAL_H

#include "adain_dcs.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#  define ADN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define ADN_PRINTF(fmt, args)
#endif

/** Records a one-line message for this thread and returns status (so callers can
 *  `return adn_fail(ADN_ERR_..., "...")`).  Also forwards it to the log callback at ERROR level. */
adn_status adn_fail(adn_status status, const char *fmt, ...) ADN_PRINTF(2, 3);

/** Sends a message to the installed log callback, if any, at or above its minimum level. */
void adn_log(adn_log_level level, const char *fmt, ...) ADN_PRINTF(2, 3);

/** 1 if all n values are finite. */
int adn_all_finite(const float *x, int64_t n);

/** Checks an image's pointer and sizes (channels as given, or any if channels == 0).
 *  what names the argument in the message. */
adn_status adn_check_image(const adn_image *img, int32_t channels, const char *what);

/** Checks that a caller-provided output image (data not NULL) has exactly these sizes; an empty
 *  image passes (it is allocated later).  what names the argument in the message. */
adn_status adn_check_output_size(const adn_image *img, int32_t channels, int32_t width, int32_t height,
                                 const char *what);

/** Style weights: finite (else ADN_ERR_NON_FINITE), >= 0, with a positive sum stored in *total.
 *  fn names the caller in the message. */
adn_status adn_check_style_weights(const char *fn, const float *weights, int32_t n_styles, double *total);

/** Makes `img` a C x H x W image: allocates it if img->data is NULL, otherwise checks that the
 *  caller's buffer has exactly these sizes.  what names the argument in the message. */
adn_status adn_image_prepare_output(adn_image *img, int32_t channels, int32_t width, int32_t height,
                                    const char *what);

#ifdef __cplusplus
}
#endif

#endif
