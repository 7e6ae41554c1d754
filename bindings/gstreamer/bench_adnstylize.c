/* adn-gst-bench: frames per second of the adnstylize element against the library's own time per
 * frame, measured in the same run (the machine may be shared and loaded: the ratio is what
 * carries over).
 *
 *   GST_PLUGIN_PATH=build/bindings/gstreamer adn-gst-bench --models M --style S --size 640x360
 *
 * Each repeat runs videotestsrc ! video/x-raw,format=F,WxH ! adnstylize ! fakesink: the first
 * frame (model warm-up, buffer allocation) is made while prerolling and left out; the clock runs
 * from PLAYING to EOS over the remaining frames.  The element's fps, the library's ms per frame
 * (its adn_timings, from the element's library-time-ms) and their ratio are printed per repeat and
 * as medians. */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_options {
    const gchar *models, *style, *format, *device, *precision;
    gint width, height, frames, repeats;
    gdouble depth_ema;
} bench_options;

typedef struct run_result {
    gdouble fps, library_ms;
} run_result;

static gboolean parse_args(int argc, char **argv, bench_options *o) {
    *o = (bench_options){.format = "RGB", .device = "cpu", .precision = "fp32", .width = 320, .height = 240,
                         .frames = 20, .repeats = 3, .depth_ema = 0.8};
    gchar *size = NULL;
    GOptionEntry entries[] = {
        {"models", 0, 0, G_OPTION_ARG_STRING, &o->models, "model bundle folder (required)", "DIR"},
        {"style", 0, 0, G_OPTION_ARG_STRING, &o->style, "style image (required)", "FILE"},
        {"size", 0, 0, G_OPTION_ARG_STRING, &size, "frame size (default 320x240)", "WxH"},
        {"format", 0, 0, G_OPTION_ARG_STRING, &o->format, "RGB, RGBx, BGRx or I420 (default RGB)", "F"},
        {"frames", 0, 0, G_OPTION_ARG_INT, &o->frames, "timed frames per repeat (default 20)", "N"},
        {"repeats", 0, 0, G_OPTION_ARG_INT, &o->repeats, "repeats; medians are reported (default 3)", "R"},
        {"device", 0, 0, G_OPTION_ARG_STRING, &o->device, "auto, cpu or cuda (default cpu)", "D"},
        {"precision", 0, 0, G_OPTION_ARG_STRING, &o->precision, "fp32, bf16 or fp16 (default fp32)", "P"},
        {"depth-ema", 0, 0, G_OPTION_ARG_DOUBLE, &o->depth_ema, "the element's depth-ema (default 0.8)", "A"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *context = g_option_context_new("- throughput of the adnstylize element");
    g_option_context_add_main_entries(context, entries, NULL);
    g_option_context_add_group(context, gst_init_get_option_group());
    GError *error = NULL;
    gboolean ok = g_option_context_parse(context, &argc, &argv, &error);
    g_option_context_free(context);
    if (!ok) {
        fprintf(stderr, "adn-gst-bench: %s\n", error->message);
        g_error_free(error);
        return FALSE;
    }
    if (size && sscanf(size, "%dx%d", &o->width, &o->height) != 2) ok = FALSE;
    g_free(size);
    if (!ok || !o->models || !o->style || o->width < 1 || o->height < 1 || o->frames < 1 || o->repeats < 1) {
        fprintf(stderr, "adn-gst-bench: --models and --style are required; --size WxH, --frames and --repeats must be positive\n");
        return FALSE;
    }
    return TRUE;
}

/* Waits for one of the message types; FALSE (with the error printed) on an error message. */
static gboolean wait_for(GstElement *pipeline, GstMessageType type) {
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, type | GST_MESSAGE_ERROR);
    gboolean ok = msg && GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ERROR;
    if (msg && !ok) {
        GError *error = NULL;
        gst_message_parse_error(msg, &error, NULL);
        fprintf(stderr, "adn-gst-bench: %s\n", error->message);
        g_error_free(error);
    }
    if (msg) gst_message_unref(msg);
    gst_object_unref(bus);
    return ok;
}

static void read_counters(GstElement *element, guint64 *frames, gdouble *ms) {
    g_object_get(element, "frames-processed", frames, "library-time-ms", ms, NULL);
}

static gboolean run_once(const bench_options *o, run_result *r) {
    gchar *description = g_strdup_printf("videotestsrc num-buffers=%d pattern=ball ! video/x-raw,format=%s,width=%d,height=%d,"
                                         "framerate=30/1 ! adnstylize name=s ! fakesink sync=false",
                                         o->frames + 1, o->format, o->width, o->height);
    GError *error = NULL;
    GstElement *pipeline = gst_parse_launch(description, &error);
    g_free(description);
    if (!pipeline) {
        fprintf(stderr, "adn-gst-bench: %s\n", error ? error->message : "cannot build the pipeline");
        g_clear_error(&error);
        return FALSE;
    }
    GstElement *element = gst_bin_get_by_name(GST_BIN(pipeline), "s");
    gst_util_set_object_arg(G_OBJECT(element), "device", o->device);
    gst_util_set_object_arg(G_OBJECT(element), "precision", o->precision);
    g_object_set(element, "models", o->models, "style", o->style, "depth-ema", (gfloat)o->depth_ema, NULL);
    guint64 frames0 = 0, frames1 = 0;
    gdouble ms0 = 0, ms1 = 0;
    gboolean ok = gst_element_set_state(pipeline, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE &&
                  wait_for(pipeline, GST_MESSAGE_ASYNC_DONE);
    gint64 start = 0, end = 0;
    if (ok) {
        read_counters(element, &frames0, &ms0);
        start = g_get_monotonic_time();
        ok = gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE &&
             wait_for(pipeline, GST_MESSAGE_EOS);
        end = g_get_monotonic_time();
        read_counters(element, &frames1, &ms1);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(element);
    gst_object_unref(pipeline);
    if (!ok || frames1 <= frames0) return FALSE;
    r->fps = (gdouble)(frames1 - frames0) / ((gdouble)(end - start) / 1e6);
    r->library_ms = (ms1 - ms0) / (gdouble)(frames1 - frames0);
    return TRUE;
}

static int compare_doubles(const void *a, const void *b) {
    const gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;
    return (x > y) - (x < y);
}

static gdouble median(gdouble *v, gint n) {
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    bench_options o;
    if (!parse_args(argc, argv, &o)) return 1;
    gst_init(NULL, NULL);
    gdouble *fps = g_new(gdouble, o.repeats), *ms = g_new(gdouble, o.repeats), *ratio = g_new(gdouble, o.repeats);
    int rc = 0;
    for (gint i = 0; i < o.repeats && rc == 0; ++i) {
        run_result r;
        if (!run_once(&o, &r)) {
            rc = 2;
            break;
        }
        fps[i] = r.fps;
        ms[i] = r.library_ms;
        ratio[i] = r.fps * r.library_ms / 1000.0; /* element fps / library-only fps */
        printf("repeat %d: %.3f frames/s, library %.2f ms/frame (%.3f frames/s), ratio %.3f\n", i + 1, r.fps,
               r.library_ms, 1000.0 / r.library_ms, ratio[i]);
    }
    if (rc == 0)
        printf("%dx%d %s %s %s, %d frames x %d repeats: median %.3f frames/s, library %.2f ms/frame, ratio %.3f\n",
               o.width, o.height, o.format, o.device, o.precision, o.frames, o.repeats, median(fps, o.repeats),
               median(ms, o.repeats), median(ratio, o.repeats));
    g_free(fps);
    g_free(ms);
    g_free(ratio);
    return rc;
}
