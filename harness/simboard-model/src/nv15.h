/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NV15: semi-planar 10-bit YUV 4:2:0, the CAPTURE layout of profile 2 on
 * vdpu381 (Linux Documentation/userspace-api/media/v4l/
 * pixfmt-yuv-planar.rst, V4L2_PIX_FMT_NV15; include/uapi/drm/drm_fourcc.h,
 * DRM_FORMAT_NV15: "[39:0] Y3:Y2:Y1:Y0 little endian", the CbCr plane
 * "[39:0] Cr1:Cb1:Cr0:Cb0 little endian"). Groups of 4 samples in 5 bytes,
 * the first sample in the least significant bits:
 *   byte 0 = s0[7:0], byte 1 = s1[5:0] s0[9:8], byte 2 = s2[3:0] s1[9:6],
 *   byte 3 = s3[1:0] s2[9:4], byte 4 = s3[9:2].
 * A luma plane, then the interleaved Cb Cr plane (Cb first), rows at the
 * stride the driver programs (bytes).
 *
 * No libvpx dependency: built into the model and, with
 * -DVDPU381_NV15_CLI, alone as a pack/unpack filter for the tests
 * (harness/test/simboard/modelCore.test.ts).
 */
#ifndef VDPU381_MODEL_NV15_H
#define VDPU381_MODEL_NV15_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a row of n samples (the last group completed). */
static inline size_t nv15_row_bytes(size_t n)
{
	return (n + 3) / 4 * 5;
}

/*
 * Packs n samples (rounded up to a group of 4: src holds that many) of
 * one plane, or of two planes interleaved (a[0] b[0] a[1] b[1] ...: n
 * counts both). Samples are taken mod 1024.
 */
void nv15_pack(uint8_t *dst, const uint16_t *src, size_t n);
void nv15_pack2(uint8_t *dst, const uint16_t *a, const uint16_t *b, size_t n);

/* The reverse: n samples (rounded up to 4) into dst, or de-interleaved into a and b. */
void nv15_unpack(uint16_t *dst, const uint8_t *src, size_t n);
void nv15_unpack2(uint16_t *a, uint16_t *b, const uint8_t *src, size_t n);

#endif /* VDPU381_MODEL_NV15_H */
