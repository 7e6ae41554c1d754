/*
 * y4m.h — reading and writing YUV4MPEG2 (Y4M) streams, and converting their frames to and from
 * planar float RGB.  Used by adn-video; independent of libadain_dcs.
 *
 * Supported: 8-bit 4:2:0 (C420jpeg, C420mpeg2, C420paldv, C420) and 4:4:4 (C444).  A header
 * without a C tag is C420jpeg, as the format defines.  Colour: BT.601, limited range (Y 16..235,
 * Cb/Cr 16..240) unless the header says XCOLORRANGE=FULL (or X-COLORRANGE=FULL).
 */
#ifndef ADN_EXAMPLES_Y4M_H
#define ADN_EXAMPLES_Y4M_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Longest header or frame-header line accepted (the format has no limit; real ones are short). */
#define Y4M_MAX_LINE 4096
/** Largest width or height accepted, and the largest frame in pixels (2^28, as for images). */
#define Y4M_MAX_SIDE 32768
#define Y4M_MAX_PIXELS ((int64_t)1 << 28)

typedef enum y4m_chroma {
    Y4M_CHROMA_420JPEG,  /* 4:2:0, chroma centred between luma samples both ways (also "C420") */
    Y4M_CHROMA_420MPEG2, /* 4:2:0, chroma co-sited with the left luma column, centred vertically */
    Y4M_CHROMA_420PALDV, /* 4:2:0, chroma co-sited with the top-left luma sample */
    Y4M_CHROMA_444       /* no subsampling */
} y4m_chroma;

typedef struct y4m_header {
    int32_t width;
    int32_t height;
    y4m_chroma chroma;
    int full_range;          /* 1: XCOLORRANGE=FULL (Y, Cb, Cr over 0..255) */
    /* F and A tags (frame rate, pixel aspect ratio) as num:den; 0:0 when absent or unreadable.
     * They need no handling: the output header is the input's, so both pass through as given. */
    int32_t rate_num, rate_den;
    int32_t aspect_num, aspect_den;
    char line[Y4M_MAX_LINE]; /* the header line as read, with its '\n', for copying to the output */
    size_t line_length;
} y4m_header;

typedef struct y4m_frame {
    uint8_t *plane[3];      /* Y, Cb, Cr, pointing into buffer */
    int32_t plane_width[3];
    int32_t plane_height[3];
    uint8_t *buffer;
    size_t size;            /* bytes of picture data per frame */
} y4m_frame;

/** Reads and checks the stream header.  Returns 0, or -1 with a message in err. */
int y4m_read_header(FILE *in, y4m_header *header, char *err, size_t err_size);

/** Allocates a frame for the header's size and chroma.  Returns 0, or -1 (out of memory). */
int y4m_frame_alloc(const y4m_header *header, y4m_frame *frame);
void y4m_frame_free(y4m_frame *frame);

/** Reads the next frame.  Returns 1 for a frame, 0 at a clean end of stream (no byte of a further
 *  frame), -1 with a message in err for a bad or truncated frame. */
int y4m_read_frame(FILE *in, y4m_frame *frame, char *err, size_t err_size);

/** Write the header (exactly as it was read) and one frame; 0 or -1 (write error). */
int y4m_write_header(FILE *out, const y4m_header *header);
int y4m_write_frame(FILE *out, const y4m_frame *frame);

/** Frame -> planar 3 x H x W float RGB.  Values are NOT clipped to [0,1] (super-whites and
 *  out-of-gamut colours survive), so RGB -> YUV gives the same Y back up to rounding. */
void y4m_frame_to_rgb(const y4m_header *header, const y4m_frame *frame, float *rgb);

/** mean |a - b| over every sample of two frames of one header (all planes, 8-bit codes): the
 *  frame-to-frame change that adn-video's flicker measure compares (docs/METHOD.md §8). */
double y4m_frame_mean_abs_difference(const y4m_frame *a, const y4m_frame *b);

/** Planar float RGB -> frame: chroma is averaged back onto its own sample positions and every
 *  code is rounded and clipped to 0..255.  Returns 0, or -1 (out of memory). */
int y4m_rgb_to_frame(const y4m_header *header, const float *rgb, y4m_frame *frame);

#endif
