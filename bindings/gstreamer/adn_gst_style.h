/* An encoded style shared between the adnstylize element's property setter and its streaming
 * thread.  Changing the `style` property while PLAYING encodes the new image on the setter's
 * thread (never the streaming thread) and swaps the pointer under the object lock; a frame that
 * is being stylized keeps a reference to the style it started with, so the old style is freed
 * only when that frame is done. */
#ifndef ADN_GST_STYLE_H
#define ADN_GST_STYLE_H

#include <glib.h>

#include "adain_dcs.h"

typedef struct adn_gst_style adn_gst_style;

/** Reads the image at path and encodes it for model.  NULL on failure, with *error set to a
 *  g_malloc'ed one-line message (the library's). */
adn_gst_style *adn_gst_style_encode(const adn_model *model, const char *path, gchar **error);

/** Whether path holds an image the library can read (for a style set before the model exists).
 *  FALSE with *error set as above. */
gboolean adn_gst_style_readable(const char *path, gchar **error);

/** A new reference (NULL stays NULL).  Thread-safe. */
adn_gst_style *adn_gst_style_ref(adn_gst_style *style);

/** Drops a reference; the last one frees the style.  NULL is fine.  Thread-safe. */
void adn_gst_style_unref(adn_gst_style *style);

const adn_style *adn_gst_style_get(const adn_gst_style *style);

#endif
