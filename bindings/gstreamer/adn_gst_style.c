/* Reference-counted encoded styles of the adnstylize element (see adn_gst_style.h). */
#include "adn_gst_style.h"

struct adn_gst_style {
    adn_style *style;
    gint refs;
};

static gchar *library_error(const char *what, const char *path, adn_status st) {
    return g_strdup_printf("%s '%s': %s (%s)", what, path, adn_last_error(), adn_status_str(st));
}

gboolean adn_gst_style_readable(const char *path, gchar **error) {
    adn_image img = {0};
    adn_status st = adn_image_read(path, NULL, &img, NULL, NULL);
    adn_image_free(&img);
    if (st != ADN_OK) *error = library_error("cannot read the style image", path, st);
    return st == ADN_OK;
}

adn_gst_style *adn_gst_style_encode(const adn_model *model, const char *path, gchar **error) {
    adn_image img = {0};
    adn_style *style = NULL;
    adn_status st = adn_image_read(path, NULL, &img, NULL, NULL);
    if (st != ADN_OK) {
        *error = library_error("cannot read the style image", path, st);
        return NULL;
    }
    st = adn_style_create(model, &img, &style);
    adn_image_free(&img);
    if (st != ADN_OK) {
        *error = library_error("cannot encode the style image", path, st);
        return NULL;
    }
    adn_gst_style *s = g_new0(adn_gst_style, 1);
    s->style = style;
    s->refs = 1;
    return s;
}

adn_gst_style *adn_gst_style_ref(adn_gst_style *style) {
    if (style) g_atomic_int_inc(&style->refs);
    return style;
}

void adn_gst_style_unref(adn_gst_style *style) {
    if (!style || !g_atomic_int_dec_and_test(&style->refs)) return;
    adn_style_free(style->style);
    g_free(style);
}

const adn_style *adn_gst_style_get(const adn_gst_style *style) { return style ? style->style : NULL; }
