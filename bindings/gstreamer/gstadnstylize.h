/* adnstylize: a GstVideoFilter that renders every frame in the style of an image with
 * libadain_dcs (AdaIN-DCS, depth-preserving), on one library context per element so that the
 * temporal smoothing of docs/METHOD.md §8 carries from frame to frame.
 *
 *   gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! \
 *       adnstylize models=BUNDLE style=style.jpg ! videoconvert ! autovideosink
 *
 * Threads.  Properties may be set from any thread: the values live under the object lock and a
 * frame takes a snapshot of them when it starts.  The model is loaded and the style encoded when
 * the element starts (READY -> PAUSED); a new `style` while running is encoded on the setter's
 * thread and swapped in atomically between two frames.  The model's lifetime is guarded by
 * model_lock against such a setter.  The context belongs to the streaming thread. */
#ifndef GST_ADN_STYLIZE_H
#define GST_ADN_STYLIZE_H

#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#define ADN_EXPERIMENTAL_API 1 /* adn_temporal_params, adn_context_set_temporal */
#include "adain_dcs.h"
#include "adn_gst_frames.h"
#include "adn_gst_style.h"

G_BEGIN_DECLS

#define GST_TYPE_ADN_STYLIZE (gst_adn_stylize_get_type())
G_DECLARE_FINAL_TYPE(GstAdnStylize, gst_adn_stylize, GST, ADN_STYLIZE, GstVideoFilter)

/** The property values (under the object lock). */
typedef struct adn_gst_settings {
    gchar *models, *style;
    gfloat alpha, depth_lo, depth_hi;
    gfloat depth_ema, range_ema, content_stats_ema, scene_cut_threshold;
    adn_device device;
    adn_precision precision;
    gint threads;
    gboolean preserve_color, trust_unsealed;
} adn_gst_settings;

struct _GstAdnStylize {
    GstVideoFilter parent;
    /* under GST_OBJECT_LOCK */
    adn_gst_settings settings;
    adn_gst_style *style;           /* the encoded style in use; NULL while stopped */
    gboolean running;               /* between start and stop */
    gboolean temporal_dirty, range_dirty; /* settings the streaming thread still has to apply */
    guint64 frames;                 /* frames stylized since start */
    gdouble library_ms;             /* their adn_timings.total_ms, summed */
    /* the model, under model_lock against a style setter on another thread */
    GMutex model_lock;
    adn_model *model;
    /* the streaming thread's */
    adn_context *context;
    adn_gst_frames buffers;
};

G_END_DECLS

#endif
