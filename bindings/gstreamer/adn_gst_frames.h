/* Video frames of the adnstylize element <-> the planar float RGB of libadain_dcs.
 *
 * RGB, RGBx, BGRx: each 8-bit value v becomes v / 255 and comes back as the library's
 * adn_image_to_u8 writes it (clamp to [0,1], round to nearest), so the element's output equals
 * adn_stylize on the same pixels bit for bit.  The x byte is left as it was (the element works in
 * place).
 *
 * I420: Y'CbCr with the matrix (Kr, Kb) and the range of the caps' colorimetry (BT.601 when the
 * caps name no YUV matrix, limited range when they name no range), the offsets and scales
 * GStreamer defines for them (gst_video_color_range_offsets: Y 16 + 219 Y', C 128 + 224 P limited,
 * Y 255 Y', C 128 + 255 P full).  Chroma is brought to the frame's size by the library's bilinear
 * resize with half-pixel centres (adn_resize_bilinear, i.e. centred chroma as in JPEG/MPEG-1) and
 * back by the mean of each 2x2 block (its pixels inside the frame).  RGB is not clipped in between,
 * codes are rounded half away from zero and clipped to 0..255. */
#ifndef ADN_GST_FRAMES_H
#define ADN_GST_FRAMES_H

#include <gst/video/video.h>

#include "adain_dcs.h"

typedef struct adn_gst_frames {
    adn_image rgb;          /* 3 x H x W: the frame as the library reads it */
    adn_image out;          /* 3 x H x W: what adn_stylize writes */
    float *chroma;          /* I420: Cb and Cr at chroma resolution, then at full resolution */
    int32_t width, height;  /* the size the buffers are for */
} adn_gst_frames;

/** Allocates the buffers for frames of `info` (releasing older ones).  FALSE when out of memory
 *  (or the library refuses the size; adn_last_error() says why). */
gboolean adn_gst_frames_prepare(adn_gst_frames *f, const GstVideoInfo *info);
void adn_gst_frames_release(adn_gst_frames *f);

/** frame (RGB, RGBx, BGRx or I420) -> f->rgb. */
void adn_gst_frame_to_rgb(const GstVideoFrame *frame, adn_gst_frames *f);

/** f->out -> frame, in place. */
void adn_gst_rgb_to_frame(adn_gst_frames *f, GstVideoFrame *frame);

#endif
