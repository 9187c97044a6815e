/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Model extras beyond the device contract (include/vdpu381_model.h):
 * diagnostics for the offline tool and tests.
 */
#ifndef VDPU381_MODEL_PRIV_H
#define VDPU381_MODEL_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vdpu381_model.h"	/* vdpu381_model_set_log() */

/*
 * Whether a reference whose guest buffer holds, unchanged, a picture the
 * model wrote or imported earlier is taken from the model's own frame buffer
 * (1, the default) or copied in again like any other (0: the offline tool's
 * --no-reuse, to check that path).
 */
void vdpu381_model_set_reuse(struct vdpu381_model *m, int reuse);

/* What the last job decoded. */
struct vdpu381_model_info {
	int width, height;		/* frame size (from the stream's header) */
	int bit_depth;			/* 8 or 10 (the stream's) */
	int intra;			/* key frame or intra-only */
	int show_frame;
	int probs_updated;		/* flagged entries in the delta table */
	int probs_differ;		/* bytes of the driver's context != stream's */
	int disagreements;		/* lines logged for this job */
	int refs_imported;		/* references copied in from guest memory */
	int refs_reused;		/* references whose guest bytes an earlier job wrote or read: not copied */
};

void vdpu381_model_last_info(const struct vdpu381_model *m, struct vdpu381_model_info *info);

/*
 * libvpx alone, without the model's hooks: what libvpx decodes from the
 * stream and its own history. The offline tool's --check compares each
 * job's picture with it (hidden frames included).
 */
struct vdpu381_picture {
	int width, height;
	int bit_depth;
	const uint8_t *y, *u, *v;		/* 8-bit, else NULL */
	const uint16_t *y16, *u16, *v16;	/* more than 8 bits, else NULL */
	int y_stride, uv_stride;		/* samples */
};

struct vdpu381_model *vdpu381_libvpx_new(void);
/* 0 and *pic (valid until the next call) on success, -1 on a decode error. */
int vdpu381_libvpx_decode(struct vdpu381_model *m, const uint8_t *data, size_t len,
			  struct vdpu381_picture *pic);

#endif /* VDPU381_MODEL_PRIV_H */
