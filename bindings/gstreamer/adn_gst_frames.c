/* Frame conversion of the adnstylize element (see adn_gst_frames.h for the formulas). */
#include "adn_gst_frames.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gboolean adn_gst_frames_prepare(adn_gst_frames *f, const GstVideoInfo *info) {
    const int32_t w = GST_VIDEO_INFO_WIDTH(info), h = GST_VIDEO_INFO_HEIGHT(info);
    adn_gst_frames_release(f);
    if (adn_image_alloc(&f->rgb, 3, h, w) != ADN_OK || adn_image_alloc(&f->out, 3, h, w) != ADN_OK) {
        adn_gst_frames_release(f);
        return FALSE;
    }
    if (GST_VIDEO_INFO_FORMAT(info) == GST_VIDEO_FORMAT_I420) {
        const size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
        f->chroma = malloc(sizeof(float) * 2 * (cw * ch + (size_t)w * h));
        if (!f->chroma) {
            adn_gst_frames_release(f);
            return FALSE;
        }
    }
    f->width = w;
    f->height = h;
    return TRUE;
}

void adn_gst_frames_release(adn_gst_frames *f) {
    adn_image_free(&f->rgb);
    adn_image_free(&f->out);
    free(f->chroma);
    memset(f, 0, sizeof *f);
}

/* The library's own 8-bit rounding (lib/image.c, adn_image_to_u8): clamp to [0,1], nearest. */
static guint8 unit_to_u8(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return 255;
    return (guint8)(v * 255.0f + 0.5f);
}

static guint8 code_to_u8(float v) {
    const float r = roundf(v);
    return r <= 0.0f ? 0 : (r >= 255.0f ? 255 : (guint8)r);
}

/* ---- packed RGB ------------------------------------------------------------------------------ */

static void packed_to_rgb(const GstVideoFrame *frame, adn_image *rgb) {
    const size_t plane = (size_t)rgb->height * rgb->width;
    for (int c = 0; c < 3; ++c) { /* components 0, 1, 2 are R, G, B in every RGB format */
        const guint8 *data = GST_VIDEO_FRAME_COMP_DATA(frame, c);
        const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c), step = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
        float *dst = rgb->data + c * plane;
        for (int32_t y = 0; y < rgb->height; ++y)
            for (int32_t x = 0; x < rgb->width; ++x)
                dst[(size_t)y * rgb->width + x] = data[(size_t)y * stride + (size_t)x * step] / 255.0f;
    }
}

static void rgb_to_packed(const adn_image *rgb, GstVideoFrame *frame) {
    const size_t plane = (size_t)rgb->height * rgb->width;
    for (int c = 0; c < 3; ++c) {
        guint8 *data = GST_VIDEO_FRAME_COMP_DATA(frame, c);
        const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c), step = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
        const float *src = rgb->data + c * plane;
        for (int32_t y = 0; y < rgb->height; ++y)
            for (int32_t x = 0; x < rgb->width; ++x)
                data[(size_t)y * stride + (size_t)x * step] = unit_to_u8(src[(size_t)y * rgb->width + x]);
    }
}

/* ---- I420 ------------------------------------------------------------------------------------ */

typedef struct yuv_coding {
    float kr, kb, kg;           /* luma weights */
    float cb_scale, cr_scale;   /* 2 (1 - Kb), 2 (1 - Kr) */
    float y_offset, y_scale, c_offset, c_scale;
} yuv_coding;

static yuv_coding coding_of(const GstVideoInfo *info) {
    gdouble kr = 0.299, kb = 0.114; /* BT.601 unless the caps name a YUV matrix */
    if (!gst_video_color_matrix_get_Kr_Kb(info->colorimetry.matrix, &kr, &kb)) {
        kr = 0.299;
        kb = 0.114;
    }
    GstVideoColorRange range = info->colorimetry.range;
    if (range == GST_VIDEO_COLOR_RANGE_UNKNOWN) range = GST_VIDEO_COLOR_RANGE_16_235; /* what I420 usually is */
    gint offset[GST_VIDEO_MAX_COMPONENTS], scale[GST_VIDEO_MAX_COMPONENTS];
    gst_video_color_range_offsets(range, info->finfo, offset, scale);
    yuv_coding k = {.kr = (float)kr, .kb = (float)kb};
    k.kg = 1.0f - k.kr - k.kb;
    k.cb_scale = 2.0f * (1.0f - k.kb);
    k.cr_scale = 2.0f * (1.0f - k.kr);
    k.y_offset = (float)offset[0];
    k.y_scale = (float)scale[0];
    k.c_offset = (float)offset[1];
    k.c_scale = (float)scale[1];
    return k;
}

static void i420_to_rgb(const GstVideoFrame *frame, adn_gst_frames *f) {
    const yuv_coding k = coding_of(&frame->info);
    const int32_t w = f->width, h = f->height;
    const int32_t cw = GST_VIDEO_FRAME_COMP_WIDTH(frame, 1), ch = GST_VIDEO_FRAME_COMP_HEIGHT(frame, 1);
    float *half = f->chroma, *full = f->chroma + 2 * (size_t)cw * ch;
    for (int p = 0; p < 2; ++p) {
        const guint8 *data = GST_VIDEO_FRAME_COMP_DATA(frame, 1 + p);
        const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 1 + p);
        for (int32_t y = 0; y < ch; ++y)
            for (int32_t x = 0; x < cw; ++x) half[((size_t)p * ch + y) * cw + x] = data[(size_t)y * stride + x];
    }
    adn_resize_bilinear(half, 2, ch, cw, full, h, w); /* sizes >= 1: cannot fail */
    const guint8 *luma = GST_VIDEO_FRAME_COMP_DATA(frame, 0);
    const int y_stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 0);
    const size_t plane = (size_t)w * h;
    float *r = f->rgb.data, *g = r + plane, *b = g + plane;
    for (int32_t y = 0; y < h; ++y)
        for (int32_t x = 0; x < w; ++x) {
            const size_t i = (size_t)y * w + x;
            const float yy = ((float)luma[(size_t)y * y_stride + x] - k.y_offset) / k.y_scale;
            const float pb = (full[i] - k.c_offset) / k.c_scale, pr = (full[plane + i] - k.c_offset) / k.c_scale;
            r[i] = yy + k.cr_scale * pr;
            b[i] = yy + k.cb_scale * pb;
            g[i] = (yy - k.kr * r[i] - k.kb * b[i]) / k.kg;
        }
}

/* Mean of the pixels of 2x2 block (cx, cy) of a full-resolution plane that lie inside it. */
static float block_mean(const float *plane, int32_t w, int32_t h, int32_t cx, int32_t cy) {
    float sum = 0.0f;
    int count = 0;
    for (int32_t y = 2 * cy; y < 2 * cy + 2 && y < h; ++y)
        for (int32_t x = 2 * cx; x < 2 * cx + 2 && x < w; ++x) {
            sum += plane[(size_t)y * w + x];
            ++count;
        }
    return sum / (float)count;
}

static void rgb_to_i420(adn_gst_frames *f, GstVideoFrame *frame) {
    const yuv_coding k = coding_of(&frame->info);
    const int32_t w = f->width, h = f->height;
    const int32_t cw = GST_VIDEO_FRAME_COMP_WIDTH(frame, 1), ch = GST_VIDEO_FRAME_COMP_HEIGHT(frame, 1);
    const size_t plane = (size_t)w * h;
    float *full = f->chroma + 2 * (size_t)cw * ch; /* Cb, Cr codes at full resolution */
    const float *r = f->out.data, *g = r + plane, *b = g + plane;
    guint8 *luma = GST_VIDEO_FRAME_COMP_DATA(frame, 0);
    const int y_stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 0);
    for (int32_t y = 0; y < h; ++y)
        for (int32_t x = 0; x < w; ++x) {
            const size_t i = (size_t)y * w + x;
            const float yy = k.kr * r[i] + k.kg * g[i] + k.kb * b[i];
            luma[(size_t)y * y_stride + x] = code_to_u8(k.y_offset + k.y_scale * yy);
            full[i] = k.c_offset + k.c_scale * (b[i] - yy) / k.cb_scale;
            full[plane + i] = k.c_offset + k.c_scale * (r[i] - yy) / k.cr_scale;
        }
    for (int p = 0; p < 2; ++p) {
        guint8 *data = GST_VIDEO_FRAME_COMP_DATA(frame, 1 + p);
        const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 1 + p);
        for (int32_t y = 0; y < ch; ++y)
            for (int32_t x = 0; x < cw; ++x) data[(size_t)y * stride + x] = code_to_u8(block_mean(full + p * plane, w, h, x, y));
    }
}

/* ---- entry points ---------------------------------------------------------------------------- */

void adn_gst_frame_to_rgb(const GstVideoFrame *frame, adn_gst_frames *f) {
    if (GST_VIDEO_FRAME_FORMAT(frame) == GST_VIDEO_FORMAT_I420)
        i420_to_rgb(frame, f);
    else
        packed_to_rgb(frame, &f->rgb);
}

void adn_gst_rgb_to_frame(adn_gst_frames *f, GstVideoFrame *frame) {
    if (GST_VIDEO_FRAME_FORMAT(frame) == GST_VIDEO_FORMAT_I420)
        rgb_to_i420(f, frame);
    else
        rgb_to_packed(&f->out, frame);
}
