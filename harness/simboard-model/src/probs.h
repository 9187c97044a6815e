/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vdpu381 VP9 probability and count buffers <-> libvpx FRAME_CONTEXT /
 * FRAME_COUNTS. Layouts from Rockchip MPP mpp/hal/rkdec/vp9d/hal_vp9d_com.c
 * (see probs.c for the offsets).
 */
#ifndef VDPU381_MODEL_PROBS_H
#define VDPU381_MODEL_PROBS_H

#include <stddef.h>
#include <stdint.h>

#include "vp9/common/vp9_entropymode.h"

#define VDPU381_PROB_SIZE	4864	/* MPP hal_vp9d_com.h PROB_SIZE */
#define VDPU381_COUNT_SIZE	13208	/* MPP hal_vp9d_com.h COUNT_SIZE */

/* reg162 "last" table (hal_vp9d_prob_default layout) -> fc. */
void vdpu381_probs_read_last(FRAME_CONTEXT *fc, const uint8_t *buf);
/* fc -> "last" layout (what the hardware writes at reg172 for the next frame). */
void vdpu381_probs_write_last(const FRAME_CONTEXT *fc, uint8_t *buf);

/* Values in the delta table the decoder takes as they are (not deltas). */
struct vdpu381_delta_abs {
	uint8_t partition[16][3];	/* intra: the key-frame table */
	uint8_t seg_pred[3];
	uint8_t seg_tree[7];
};

/*
 * Applies the reg160 table (hal_vp9d_prob_flag_delta layout: update flags,
 * then the coded deltas) to fc, which holds the last probabilities.
 * Returns the number of probabilities updated.
 */
int vdpu381_probs_apply_delta(FRAME_CONTEXT *fc, const uint8_t *buf, int intra,
			      struct vdpu381_delta_abs *abs);

/* counts -> reg167 (hal_vp9d_update_counts layout); returns bytes written. */
size_t vdpu381_counts_write(const FRAME_COUNTS *c, int intra, uint8_t *buf, size_t len);

#endif /* VDPU381_MODEL_PROBS_H */
