/* SPDX-License-Identifier: GPL-2.0-only */
/* The model server's fill test mode (fill.c). */
#ifndef VDPU381_FILL_H
#define VDPU381_FILL_H

#include <stddef.h>
#include <stdint.h>

#include "vdpu381_model.h"

/*
 * Fills the output picture of the job in regs (both NV12 planes) with
 * byte value; returns VDPU381_STA_READY, or an error status with the
 * reason in why when the registers point outside guest RAM.
 */
uint32_t vdpu381_fill_output(const uint32_t regs[VDPU381_MODEL_NREGS],
			     const struct vdpu381_guest_ram *ram,
			     uint8_t value, char *why, size_t why_len);

#endif
