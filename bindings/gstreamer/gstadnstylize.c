/* The adnstylize element (see gstadnstylize.h): properties, start/stop, and one adn_stylize per
 * frame.  Errors of the library reach the bus as GST_ELEMENT_ERROR with adn_last_error(); a bad
 * property value is refused with a g_warning and the old value stays, so a typo never stops a
 * running pipeline. */
#include "gstadnstylize.h"

#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(adn_stylize_debug);
#define GST_CAT_DEFAULT adn_stylize_debug

#define ADN_GST_FORMATS "{ RGB, RGBx, BGRx, I420 }"

enum {
    PROP_0,
    PROP_MODELS,
    PROP_STYLE,
    PROP_ALPHA,
    PROP_DEPTH_RANGE,
    PROP_DEPTH_EMA,
    PROP_RANGE_EMA,
    PROP_CONTENT_STATS_EMA,
    PROP_SCENE_CUT_THRESHOLD,
    PROP_DEVICE,
    PROP_PRECISION,
    PROP_THREADS,
    PROP_PRESERVE_COLOR,
    PROP_TRUST_UNSEALED,
    PROP_FRAMES_PROCESSED,
    PROP_LIBRARY_TIME_MS,
};

/* Defaults: those of adn-video (depth smoothed, everything else exact per frame). */
#define DEFAULT_ALPHA 1.0f
#define DEFAULT_DEPTH_EMA 0.8f

G_DEFINE_TYPE(GstAdnStylize, gst_adn_stylize, GST_TYPE_VIDEO_FILTER)

/* ---- enums ------------------------------------------------------------------------------------ */

#define GST_TYPE_ADN_STYLIZE_DEVICE (adn_stylize_device_get_type())
static GType adn_stylize_device_get_type(void) {
    static GType type = 0;
    static const GEnumValue values[] = {
        {ADN_DEVICE_AUTO, "CUDA if libtorch has it and a GPU is present, else CPU", "auto"},
        {ADN_DEVICE_CPU, "CPU", "cpu"},
        {ADN_DEVICE_CUDA, "CUDA GPU (the element fails to start without one)", "cuda"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAdnStylizeDevice", values));
    return type;
}

#define GST_TYPE_ADN_STYLIZE_PRECISION (adn_stylize_precision_get_type())
static GType adn_stylize_precision_get_type(void) {
    static GType type = 0;
    static const GEnumValue values[] = {
        {ADN_PRECISION_FP32, "float32 (exact)", "fp32"},
        {ADN_PRECISION_BF16, "bfloat16 (CPU with AVX-512-BF16/AMX; falls back to fp32 with a warning where "
                             "the library does not support it)", "bf16"},
        {ADN_PRECISION_FP16, "float16 (CUDA; falls back to fp32 with a warning where the library does not "
                             "support it)", "fp16"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAdnStylizePrecision", values));
    return type;
}

/* ---- refusing values -------------------------------------------------------------------------- */

/* Every refusal goes the same way: a warning on stderr (and the debug log), the old value kept. */
#define refuse(self, ...)                                   \
    do {                                                    \
        gchar *why_ = g_strdup_printf(__VA_ARGS__);         \
        GST_WARNING_OBJECT(self, "%s", why_);               \
        g_warning("adnstylize: %s", why_);                  \
        g_free(why_);                                       \
    } while (0)

/* "LO,HI" with both in [0,1]. */
static gboolean parse_depth_range(const gchar *text, gfloat *lo, gfloat *hi) {
    if (!text) return FALSE;
    gchar *end = NULL;
    const gdouble a = g_ascii_strtod(text, &end);
    if (end == text || *end != ',') return FALSE;
    const gchar *rest = end + 1;
    const gdouble b = g_ascii_strtod(rest, &end);
    if (end == rest || *end != '\0' || !(a >= 0.0 && a <= 1.0) || !(b >= 0.0 && b <= 1.0)) return FALSE;
    *lo = (gfloat)a;
    *hi = (gfloat)b;
    return TRUE;
}

/* Settings that shape the model (bundle, device, precision, threads, seal) are read at start. */
static gboolean refuse_while_running(GstAdnStylize *self, const gchar *name) {
    GST_OBJECT_LOCK(self);
    const gboolean running = self->running;
    GST_OBJECT_UNLOCK(self);
    if (running)
        refuse(self, "'%s' can only be changed while the element is stopped (NULL or READY state); keeping the "
                     "current value",
               name);
    return running;
}

/* A moving-average factor in [0,1): the param spec allows 1, which would freeze the first frame. */
static gboolean refuse_ema(GstAdnStylize *self, const gchar *name, gfloat v) {
    if (v < 1.0f) return FALSE;
    refuse(self, "'%s' must be below 1 (1 would never let a new frame in); got %g, keeping the current value", name, v);
    return TRUE;
}

static void set_string(GstAdnStylize *self, gchar **field, const gchar *value) {
    GST_OBJECT_LOCK(self);
    g_free(*field);
    *field = g_strdup(value);
    GST_OBJECT_UNLOCK(self);
}

static void set_models(GstAdnStylize *self, const gchar *dir) {
    if (refuse_while_running(self, "models")) return;
    if (!dir || !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        refuse(self, "models: '%s' is not a folder (a model bundle made by tools/adn-export); keeping the current "
                     "value",
               dir ? dir : "(null)");
        return;
    }
    set_string(self, &self->settings.models, dir);
}

/* While running the new style is encoded here, on the caller's thread, and swapped in; otherwise
 * it is only checked to be readable, and encoded when the element starts. */
static void set_style(GstAdnStylize *self, const gchar *path) {
    if (!path || !*path) {
        refuse(self, "style: an empty path is refused; keeping the current style");
        return;
    }
    gchar *error = NULL;
    g_mutex_lock(&self->model_lock);
    if (self->model) {
        adn_gst_style *fresh = adn_gst_style_encode(self->model, path, &error);
        if (fresh) {
            GST_OBJECT_LOCK(self);
            adn_gst_style *old = self->style;
            self->style = fresh;
            g_free(self->settings.style);
            self->settings.style = g_strdup(path);
            GST_OBJECT_UNLOCK(self);
            adn_gst_style_unref(old); /* freed here, or by the frame still using it */
            GST_INFO_OBJECT(self, "style changed to '%s'", path);
        }
    } else if (adn_gst_style_readable(path, &error)) {
        set_string(self, &self->settings.style, path);
    }
    g_mutex_unlock(&self->model_lock);
    if (error) {
        refuse(self, "style: %s; keeping the current style", error);
        g_free(error);
    }
}

static void set_float(GstAdnStylize *self, gfloat *field, gfloat value, gboolean *dirty) {
    GST_OBJECT_LOCK(self);
    *field = value;
    if (dirty) *dirty = TRUE;
    GST_OBJECT_UNLOCK(self);
}

static void set_int(GstAdnStylize *self, gint *field, gint value) {
    GST_OBJECT_LOCK(self);
    *field = value;
    GST_OBJECT_UNLOCK(self);
}

static void gst_adn_stylize_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec) {
    GstAdnStylize *self = GST_ADN_STYLIZE(object);
    adn_gst_settings *s = &self->settings;
    gfloat v;
    switch (prop_id) {
    case PROP_MODELS: set_models(self, g_value_get_string(value)); break;
    case PROP_STYLE: set_style(self, g_value_get_string(value)); break;
    case PROP_ALPHA: set_float(self, &s->alpha, g_value_get_float(value), NULL); break;
    case PROP_DEPTH_RANGE: {
        gfloat lo, hi;
        if (!parse_depth_range(g_value_get_string(value), &lo, &hi)) {
            refuse(self, "depth-range: '%s' is not LO,HI with both in [0,1]; keeping the current range",
                   g_value_get_string(value) ? g_value_get_string(value) : "(null)");
            break;
        }
        GST_OBJECT_LOCK(self);
        s->depth_lo = lo;
        s->depth_hi = hi;
        self->range_dirty = TRUE;
        GST_OBJECT_UNLOCK(self);
        break;
    }
    case PROP_DEPTH_EMA:
        if (!refuse_ema(self, "depth-ema", v = g_value_get_float(value))) set_float(self, &s->depth_ema, v, &self->temporal_dirty);
        break;
    case PROP_RANGE_EMA:
        if (!refuse_ema(self, "range-ema", v = g_value_get_float(value))) set_float(self, &s->range_ema, v, &self->temporal_dirty);
        break;
    case PROP_CONTENT_STATS_EMA:
        if (!refuse_ema(self, "content-stats-ema", v = g_value_get_float(value)))
            set_float(self, &s->content_stats_ema, v, &self->temporal_dirty);
        break;
    case PROP_SCENE_CUT_THRESHOLD:
        set_float(self, &s->scene_cut_threshold, g_value_get_float(value), &self->temporal_dirty);
        break;
    case PROP_DEVICE:
        if (refuse_while_running(self, "device")) break;
        GST_OBJECT_LOCK(self);
        s->device = (adn_device)g_value_get_enum(value);
        GST_OBJECT_UNLOCK(self);
        break;
    case PROP_PRECISION:
        if (refuse_while_running(self, "precision")) break;
        GST_OBJECT_LOCK(self);
        s->precision = (adn_precision)g_value_get_enum(value);
        GST_OBJECT_UNLOCK(self);
        break;
    case PROP_THREADS:
        if (!refuse_while_running(self, "threads")) set_int(self, &s->threads, g_value_get_int(value));
        break;
    case PROP_TRUST_UNSEALED:
        if (!refuse_while_running(self, "trust-unsealed")) set_int(self, &s->trust_unsealed, g_value_get_boolean(value));
        break;
    case PROP_PRESERVE_COLOR: set_int(self, &s->preserve_color, g_value_get_boolean(value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
}

static void gst_adn_stylize_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
    GstAdnStylize *self = GST_ADN_STYLIZE(object);
    const adn_gst_settings *s = &self->settings;
    GST_OBJECT_LOCK(self);
    switch (prop_id) {
    case PROP_MODELS: g_value_set_string(value, s->models); break;
    case PROP_STYLE: g_value_set_string(value, s->style); break;
    case PROP_ALPHA: g_value_set_float(value, s->alpha); break;
    case PROP_DEPTH_RANGE: {
        gchar lo[G_ASCII_DTOSTR_BUF_SIZE], hi[G_ASCII_DTOSTR_BUF_SIZE];
        g_value_take_string(value, g_strdup_printf("%s,%s", g_ascii_dtostr(lo, sizeof lo, s->depth_lo),
                                                   g_ascii_dtostr(hi, sizeof hi, s->depth_hi)));
        break;
    }
    case PROP_DEPTH_EMA: g_value_set_float(value, s->depth_ema); break;
    case PROP_RANGE_EMA: g_value_set_float(value, s->range_ema); break;
    case PROP_CONTENT_STATS_EMA: g_value_set_float(value, s->content_stats_ema); break;
    case PROP_SCENE_CUT_THRESHOLD: g_value_set_float(value, s->scene_cut_threshold); break;
    case PROP_DEVICE: g_value_set_enum(value, s->device); break;
    case PROP_PRECISION: g_value_set_enum(value, s->precision); break;
    case PROP_THREADS: g_value_set_int(value, s->threads); break;
    case PROP_PRESERVE_COLOR: g_value_set_boolean(value, s->preserve_color); break;
    case PROP_TRUST_UNSEALED: g_value_set_boolean(value, s->trust_unsealed); break;
    case PROP_FRAMES_PROCESSED: g_value_set_uint64(value, self->frames); break;
    case PROP_LIBRARY_TIME_MS: g_value_set_double(value, self->library_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
    }
    GST_OBJECT_UNLOCK(self);
}

/* ---- start / stop ----------------------------------------------------------------------------- */

/* A copy of the settings, taken under the lock (strings duplicated; free with clear_settings). */
static adn_gst_settings snapshot(GstAdnStylize *self) {
    GST_OBJECT_LOCK(self);
    adn_gst_settings s = self->settings;
    s.models = g_strdup(s.models);
    s.style = g_strdup(s.style);
    GST_OBJECT_UNLOCK(self);
    return s;
}

static void clear_settings(adn_gst_settings *s) {
    g_free(s->models);
    g_free(s->style);
    s->models = s->style = NULL;
}

static adn_temporal_params temporal_of(const adn_gst_settings *s) {
    adn_temporal_params tp = adn_temporal_default_params();
    tp.depth_ema = s->depth_ema;
    tp.range_ema = s->range_ema;
    tp.content_stats_ema = s->content_stats_ema;
    tp.scene_cut_threshold = s->scene_cut_threshold;
    return tp;
}

/* Loads the bundle; a precision the library does not support falls back to fp32 with a warning
 * on the bus.  Posts the error and returns NULL on failure. */
static adn_model *load_model(GstAdnStylize *self, const adn_gst_settings *s) {
    adn_model_params mp = adn_model_default_params();
    mp.device = s->device;
    mp.precision = s->precision;
    mp.n_threads = s->threads;
    mp.trust_unsealed = s->trust_unsealed ? 1 : 0;
    adn_model *model = NULL;
    adn_status st = adn_model_load(s->models, &mp, &model);
    if (st == ADN_ERR_UNSUPPORTED && mp.precision != ADN_PRECISION_FP32) {
        GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS, ("adnstylize: precision not available, using fp32: %s", adn_last_error()),
                            ("adn_model_load(%s) with precision %d: %s", s->models, (int)mp.precision, adn_status_str(st)));
        mp.precision = ADN_PRECISION_FP32;
        st = adn_model_load(s->models, &mp, &model);
    }
    if (st != ADN_OK)
        GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("adnstylize: %s", adn_last_error()),
                          ("adn_model_load(%s): %s", s->models, adn_status_str(st)));
    return model;
}

/* The context, with the settings' temporal smoothing and depth range.  Posts the error. */
static adn_context *make_context(GstAdnStylize *self, const adn_model *model, const adn_gst_settings *s) {
    adn_context *ctx = NULL;
    const adn_temporal_params tp = temporal_of(s);
    adn_status st = adn_context_create(model, NULL, &ctx);
    if (st == ADN_OK) st = adn_context_set_temporal(ctx, &tp);
    if (st == ADN_OK) st = adn_set_depth_range(ctx, s->depth_lo, s->depth_hi);
    if (st != ADN_OK) {
        GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("adnstylize: %s", adn_last_error()),
                          ("setting up the context: %s", adn_status_str(st)));
        adn_context_free(ctx);
        return NULL;
    }
    return ctx;
}

static gboolean gst_adn_stylize_start(GstBaseTransform *trans) {
    GstAdnStylize *self = GST_ADN_STYLIZE(trans);
    adn_gst_settings s = snapshot(self);
    if (!s.models || !s.style) {
        GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("adnstylize: the '%s' property is not set", s.models ? "style" : "models"),
                          ("both models (a bundle folder) and style (an image) are needed"));
        clear_settings(&s);
        return FALSE;
    }
    g_mutex_lock(&self->model_lock);
    adn_model *model = load_model(self, &s);
    adn_context *ctx = model ? make_context(self, model, &s) : NULL;
    gchar *error = NULL;
    adn_gst_style *style = ctx ? adn_gst_style_encode(model, s.style, &error) : NULL;
    if (ctx && !style) GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("adnstylize: %s", error), (NULL));
    if (!style) {
        adn_context_free(ctx);
        adn_model_free(model);
    } else {
        self->model = model;
        self->context = ctx;
        GST_OBJECT_LOCK(self);
        self->style = style;
        self->running = TRUE;
        self->temporal_dirty = self->range_dirty = FALSE; /* the context has just been given them */
        self->frames = 0;
        self->library_ms = 0.0;
        GST_OBJECT_UNLOCK(self);
    }
    g_mutex_unlock(&self->model_lock);
    g_free(error);
    clear_settings(&s);
    return style != NULL;
}

static gboolean gst_adn_stylize_stop(GstBaseTransform *trans) {
    GstAdnStylize *self = GST_ADN_STYLIZE(trans);
    g_mutex_lock(&self->model_lock);
    GST_OBJECT_LOCK(self);
    adn_gst_style *style = self->style;
    self->style = NULL;
    self->running = FALSE;
    GST_OBJECT_UNLOCK(self);
    adn_gst_style_unref(style); /* styles and contexts before their model */
    adn_context_free(self->context);
    self->context = NULL;
    adn_model_free(self->model);
    self->model = NULL;
    g_mutex_unlock(&self->model_lock);
    adn_gst_frames_release(&self->buffers);
    return TRUE;
}

/* ---- frames ----------------------------------------------------------------------------------- */

static gboolean gst_adn_stylize_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info, GstCaps *outcaps,
                                         GstVideoInfo *out_info) {
    (void)incaps;
    (void)outcaps;
    (void)out_info; /* the same as in_info: in-place, caps unchanged */
    GstAdnStylize *self = GST_ADN_STYLIZE(filter);
    if (!adn_gst_frames_prepare(&self->buffers, in_info)) {
        GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("adnstylize: cannot allocate %dx%d frame buffers: %s",
                                                          GST_VIDEO_INFO_WIDTH(in_info), GST_VIDEO_INFO_HEIGHT(in_info), adn_last_error()),
                          (NULL));
        return FALSE;
    }
    return TRUE;
}

/* What one frame needs from the settings, taken under the lock when it starts. */
typedef struct frame_settings {
    adn_gst_style *style; /* a reference */
    adn_stylize_params params;
    gboolean new_temporal, new_range;
    adn_temporal_params temporal;
    gfloat depth_lo, depth_hi;
} frame_settings;

static frame_settings take_frame_settings(GstAdnStylize *self) {
    frame_settings f = {.params = adn_stylize_default_params()};
    GST_OBJECT_LOCK(self);
    f.style = adn_gst_style_ref(self->style);
    f.params.alpha = self->settings.alpha;
    f.params.preserve_color = self->settings.preserve_color ? 1 : 0;
    f.new_temporal = self->temporal_dirty;
    f.new_range = self->range_dirty;
    f.temporal = temporal_of(&self->settings);
    f.depth_lo = self->settings.depth_lo;
    f.depth_hi = self->settings.depth_hi;
    self->temporal_dirty = self->range_dirty = FALSE;
    GST_OBJECT_UNLOCK(self);
    return f;
}

static GstFlowReturn gst_adn_stylize_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
    GstAdnStylize *self = GST_ADN_STYLIZE(filter);
    frame_settings f = take_frame_settings(self);
    const adn_style *style = adn_gst_style_get(f.style);
    adn_status st = ADN_OK;
    const char *doing = NULL;
    if (f.new_temporal) /* restarts the smoothing */
        st = adn_context_set_temporal(self->context, &f.temporal), doing = "adn_context_set_temporal";
    if (st == ADN_OK && f.new_range)
        st = adn_set_depth_range(self->context, f.depth_lo, f.depth_hi), doing = "adn_set_depth_range";
    if (st == ADN_OK) {
        adn_gst_frame_to_rgb(frame, &self->buffers);
        st = adn_stylize(self->context, &self->buffers.rgb, &style, 1, &f.params, &self->buffers.out), doing = "adn_stylize";
    }
    adn_gst_style_unref(f.style);
    if (st != ADN_OK) {
        GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("adnstylize: %s", adn_last_error()),
                          ("%s: %s (frame %" G_GUINT64_FORMAT ")", doing, adn_status_str(st), self->frames + 1));
        return GST_FLOW_ERROR;
    }
    adn_gst_rgb_to_frame(&self->buffers, frame);
    adn_timings timings = {.struct_size = sizeof timings};
    adn_context_get_timings(self->context, &timings);
    GST_OBJECT_LOCK(self);
    self->frames += 1;
    self->library_ms += timings.total_ms;
    GST_OBJECT_UNLOCK(self);
    return GST_FLOW_OK;
}

/* ---- class ------------------------------------------------------------------------------------ */

static void gst_adn_stylize_finalize(GObject *object) {
    GstAdnStylize *self = GST_ADN_STYLIZE(object);
    clear_settings(&self->settings);
    g_mutex_clear(&self->model_lock);
    G_OBJECT_CLASS(gst_adn_stylize_parent_class)->finalize(object);
}

static void gst_adn_stylize_init(GstAdnStylize *self) {
    g_mutex_init(&self->model_lock);
    self->settings = (adn_gst_settings){
        .alpha = DEFAULT_ALPHA,
        .depth_lo = 0.0f,
        .depth_hi = 1.0f,
        .depth_ema = DEFAULT_DEPTH_EMA,
        .device = ADN_DEVICE_AUTO,
        .precision = ADN_PRECISION_FP32,
    };
}

#define RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)
#define RW_PLAYING (RW | GST_PARAM_MUTABLE_PLAYING)
#define RW_READY (RW | GST_PARAM_MUTABLE_READY)

static void install_properties(GObjectClass *oc) {
    g_object_class_install_property(oc, PROP_MODELS,
        g_param_spec_string("models", "Model bundle",
            "Folder of a sealed model bundle (encoder.pt, decoder.pt, optional depth.pt, manifest.txt; made by "
            "tools/adn-export).  Loaded when the element starts; required", NULL, RW_READY));
    g_object_class_install_property(oc, PROP_STYLE,
        g_param_spec_string("style", "Style image",
            "PNG or JPEG file whose style is applied, encoded once.  May be changed while PLAYING: the new image is "
            "encoded on the thread that sets it and takes over from the next frame; an unreadable image is refused "
            "with a warning and the current style stays; required", NULL, RW_PLAYING));
    g_object_class_install_property(oc, PROP_ALPHA,
        g_param_spec_float("alpha", "Strength", "Global style strength, 0 = the frame unchanged, 1 = full style",
            0.0f, 1.0f, DEFAULT_ALPHA, RW_PLAYING));
    g_object_class_install_property(oc, PROP_DEPTH_RANGE,
        g_param_spec_string("depth-range", "Depth range",
            "LO,HI: style strength at the nearest and the farthest depth, each in [0,1] (HI < LO reverses "
            "the effect).  Strength per pixel = alpha * (LO + (HI - LO) * depth)", "0,1", RW_PLAYING));
    g_object_class_install_property(oc, PROP_DEPTH_EMA,
        g_param_spec_float("depth-ema", "Depth smoothing",
            "Weight a of the previous frames in the depth moving average D'_t = a D'_{t-1} + (1 - a) D_t, "
            "in [0,1) (0 = each frame's own depth).  Changing it restarts the smoothing",
            0.0f, 1.0f, DEFAULT_DEPTH_EMA, RW_PLAYING));
    g_object_class_install_property(oc, PROP_RANGE_EMA,
        g_param_spec_float("range-ema", "Depth range smoothing",
            "Weight of the previous frames in the moving average of the raw depth's min and max that normalise it, "
            "in [0,1) (0 = each frame's own min and max).  Changing it restarts the smoothing",
            0.0f, 1.0f, 0.0f, RW_PLAYING));
    g_object_class_install_property(oc, PROP_CONTENT_STATS_EMA,
        g_param_spec_float("content-stats-ema", "Content statistics smoothing",
            "Weight of the previous frames in the moving average of the per-channel mean and std of the content "
            "features that AdaIN normalises with, in [0,1) (0 = each frame's own).  Changing it restarts the "
            "smoothing", 0.0f, 1.0f, 0.0f, RW_PLAYING));
    g_object_class_install_property(oc, PROP_SCENE_CUT_THRESHOLD,
        g_param_spec_float("scene-cut-threshold", "Scene-cut threshold",
            "A frame whose mean |in_t - in_t-1| (RGB in [0,1]) is above this is a scene cut: all smoothing "
            "restarts there (0 = no detection; about 0.1 separates the cuts of ordinary video)",
            0.0f, 1.0f, 0.0f, RW_PLAYING));
    g_object_class_install_property(oc, PROP_DEVICE,
        g_param_spec_enum("device", "Device", "Where the networks run; read when the element starts",
            GST_TYPE_ADN_STYLIZE_DEVICE, ADN_DEVICE_AUTO, RW_READY));
    g_object_class_install_property(oc, PROP_PRECISION,
        g_param_spec_enum("precision", "Precision",
            "Arithmetic of the encoder and decoder; read when the element starts.  One the library does not "
            "support here is reported as a warning on the bus and fp32 is used",
            GST_TYPE_ADN_STYLIZE_PRECISION, ADN_PRECISION_FP32, RW_READY));
    g_object_class_install_property(oc, PROP_THREADS,
        g_param_spec_int("threads", "CPU threads",
            "CPU threads of the networks (0 = all cores; libtorch keeps the count of the first model loaded in "
            "the process); read when the element starts", 0, ADN_MAX_THREADS, 0, RW_READY));
    g_object_class_install_property(oc, PROP_PRESERVE_COLOR,
        g_param_spec_boolean("preserve-color", "Preserve colour",
            "Keep the frame's colours: the style is recoloured to each frame (CORAL) and re-encoded, which costs "
            "a style encode per frame", FALSE, RW_PLAYING));
    g_object_class_install_property(oc, PROP_TRUST_UNSEALED,
        g_param_spec_boolean("trust-unsealed", "Trust unsealed bundles",
            "Also load a bundle without manifest.txt (made by hand; seal it with adn-export --seal DIR instead "
            "where you can); read when the element starts", FALSE, RW_READY));
    g_object_class_install_property(oc, PROP_FRAMES_PROCESSED,
        g_param_spec_uint64("frames-processed", "Frames processed", "Frames stylized since the element started",
            0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
    g_object_class_install_property(oc, PROP_LIBRARY_TIME_MS,
        g_param_spec_double("library-time-ms", "Library time",
            "Milliseconds spent in adn_stylize since the element started (its own timings, summed): divided by "
            "frames-processed, the library's time per frame", 0.0, G_MAXDOUBLE, 0.0,
            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void gst_adn_stylize_class_init(GstAdnStylizeClass *klass) {
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    GstElementClass *ec = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass *bc = GST_BASE_TRANSFORM_CLASS(klass);
    GstVideoFilterClass *vc = GST_VIDEO_FILTER_CLASS(klass);
    oc->set_property = gst_adn_stylize_set_property;
    oc->get_property = gst_adn_stylize_get_property;
    oc->finalize = gst_adn_stylize_finalize;
    install_properties(oc);
    GstCaps *caps = gst_caps_from_string(GST_VIDEO_CAPS_MAKE(ADN_GST_FORMATS));
    gst_element_class_add_pad_template(ec, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
    gst_element_class_add_pad_template(ec, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
    gst_caps_unref(caps);
    gst_element_class_set_static_metadata(ec, "AdaIN-DCS style transfer", "Filter/Effect/Video",
        "Renders video in the style of an image, keeping near things detailed (depth-preserving AdaIN, "
        "libadain_dcs), with temporal smoothing against flicker",
        "libadain_dcs developers");
    bc->start = GST_DEBUG_FUNCPTR(gst_adn_stylize_start);
    bc->stop = GST_DEBUG_FUNCPTR(gst_adn_stylize_stop);
    vc->set_info = GST_DEBUG_FUNCPTR(gst_adn_stylize_set_info);
    vc->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_adn_stylize_transform_frame_ip);
    GST_DEBUG_CATEGORY_INIT(adn_stylize_debug, "adnstylize", 0, "AdaIN-DCS style transfer");
    gst_type_mark_as_plugin_api(GST_TYPE_ADN_STYLIZE_DEVICE, 0);
    gst_type_mark_as_plugin_api(GST_TYPE_ADN_STYLIZE_PRECISION, 0);
}

/* ---- plugin ----------------------------------------------------------------------------------- */

static gboolean plugin_init(GstPlugin *plugin) {
    return gst_element_register(plugin, "adnstylize", GST_RANK_NONE, GST_TYPE_ADN_STYLIZE);
}

/* GStreamer's macro leaves the struct's reserved tail to zero-initialisation. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, adnstylize,
                  "AdaIN-DCS depth-preserving style transfer (libadain_dcs)", plugin_init, ADN_GST_VERSION, "MIT",
                  "adain_dcs", "libadain_dcs")
#pragma GCC diagnostic pop
