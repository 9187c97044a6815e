// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model server's fill test mode: writes a constant into the output
 * picture the job names, so that the path from the device model to
 * GStreamer's CAPTURE buffers can be seen without a decoder.
 *
 * Registers (Rockchip MPP vdpu34x_com.h, common block):
 *   reg018 y_hor_virstride  bits 0-15, luma row pitch in 16-byte units;
 *   reg019 uv_hor_virstride bits 0-15, chroma row pitch in 16-byte units;
 *   reg020 y_virstride      bits 0-27, luma plane size in 16-byte units;
 *   reg130 decout_base      output picture address (guest-physical here).
 * The chroma plane (NV12: interleaved Cb/Cr, half the rows) follows the
 * luma plane: decout + y_virstride * 16, uv_hor_virstride * 16 * rows / 2
 * bytes, rows = y_virstride / y_hor_virstride.
 */

#include <stdio.h>
#include <string.h>

#include "fill.h"

#define REG_Y_HOR_VIRSTRIDE	18
#define REG_UV_HOR_VIRSTRIDE	19
#define REG_Y_VIRSTRIDE		20
#define REG_DECOUT_BASE		130

uint32_t vdpu381_fill_output(const uint32_t regs[VDPU381_MODEL_NREGS],
			     const struct vdpu381_guest_ram *ram,
			     uint8_t value, char *why, size_t why_len)
{
	const uint32_t err = VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW;
	uint64_t y_hor = (uint64_t)(regs[REG_Y_HOR_VIRSTRIDE] & 0xffff) * 16;
	uint64_t uv_hor = (uint64_t)(regs[REG_UV_HOR_VIRSTRIDE] & 0xffff) * 16;
	uint64_t y_size = (uint64_t)(regs[REG_Y_VIRSTRIDE] & 0x0fffffff) * 16;
	uint64_t addr = regs[REG_DECOUT_BASE];
	uint64_t rows, len;

	if (!y_hor || !y_size || !addr) {
		snprintf(why, why_len,
			 "fill: no output picture (reg018 %u, reg020 %u, reg130 0x%08x)",
			 regs[REG_Y_HOR_VIRSTRIDE], regs[REG_Y_VIRSTRIDE],
			 regs[REG_DECOUT_BASE]);
		return err | VDPU381_STA_ERROR;
	}
	rows = y_size / y_hor;
	len = y_size + uv_hor * ((rows + 1) / 2);
	if (addr < ram->gpa || addr - ram->gpa > ram->size ||
	    len > ram->size - (addr - ram->gpa)) {
		snprintf(why, why_len,
			 "fill: output 0x%08llx + %llu bytes is outside guest RAM",
			 (unsigned long long)addr, (unsigned long long)len);
		return err | VDPU381_STA_BUS_ERR;
	}
	memset(ram->host + (addr - ram->gpa), value, len);
	snprintf(why, why_len, "fill 0x%02x: %llu bytes at 0x%08llx", value,
		 (unsigned long long)len, (unsigned long long)addr);
	return VDPU381_STA_READY;
}
