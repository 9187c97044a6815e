/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vdpu381 decoding model: the interface between the simboard's QEMU device
 * (harness/simboard-qemu/hw/misc/vdpu381_sim.c, which hands over each job)
 * and the model that decodes it (harness/simboard-model/).
 *
 * A job is the function register block as the driver left it at DEC_E
 * (function + 0x028 bit 0): 0x500 bytes, 320 little-endian 32-bit words;
 * regs[N] is Rockchip MPP's "regN" (vdpu34x_com.h / vdpu34x_vp9d.h numbering:
 * reg010 dec_e, reg016 stream length, reg128 rlc_base, reg224 STA_INT).
 *
 * Addresses in the registers are guest-physical (the simboard has no IOMMU),
 * 32-bit. The model reads and writes guest memory through
 * struct vdpu381_guest_ram: the guest's RAM mapped into the model's process
 * (QEMU memory-backend-file share=on), base = guest-physical ram_gpa.
 */
#ifndef VDPU381_MODEL_H
#define VDPU381_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VDPU381_MODEL_NREGS     320     /* 0x500 bytes of function block */

/* STA_INT (reg224) bits, MPP vdpu34x_com.h. */
#define VDPU381_STA_IRQ         (1u << 0)
#define VDPU381_STA_IRQ_RAW     (1u << 1)
#define VDPU381_STA_DEC_RDY     (1u << 2)
#define VDPU381_STA_BUS_ERR     (1u << 3)
#define VDPU381_STA_ERROR       (1u << 4)
#define VDPU381_STA_READY       (VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | \
                                 VDPU381_STA_DEC_RDY)

struct vdpu381_guest_ram {
	uint8_t *host;          /* the guest's RAM, mapped */
	uint64_t gpa;           /* guest-physical address of host[0] */
	uint64_t size;          /* bytes */
};

/* State kept across jobs (opaque). */
struct vdpu381_model;

struct vdpu381_model *vdpu381_model_new(void);
void vdpu381_model_free(struct vdpu381_model *m);

/*
 * Decodes one job: reads the parameters from regs, the bitstream,
 * probability tables, references, segment map and colmv from guest memory;
 * writes the picture at the output address in the CAPTURE layout the driver
 * uses (NV12 for 8-bit, NV15 for 10-bit) and writes back what the hardware
 * writes back (counts, segment map, colmv).
 *
 * Returns the STA_INT word to answer with: VDPU381_STA_READY on success;
 * VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR (or BUS_ERR for
 * an address outside guest RAM) when the job cannot be decoded, with a
 * one-line reason in why (NUL-terminated, at most why_len bytes).
 */
uint32_t vdpu381_model_run(struct vdpu381_model *m,
			   const uint32_t regs[VDPU381_MODEL_NREGS],
			   const struct vdpu381_guest_ram *ram,
			   char *why, size_t why_len);

/*
 * Where the model writes one line per disagreement between the driver's
 * state and the stream during vdpu381_model_run() (e.g. "reg165 golden and
 * reg164 last name one reference slot (0) but different buffers"); NULL:
 * nowhere (the default). The model server collects them per job for its log.
 */
void vdpu381_model_set_log(struct vdpu381_model *m, FILE *log);

/*
 * The socket protocol between the QEMU device (client) and the model
 * process (server, a UNIX stream socket). All fields little-endian.
 * Device -> model: struct vdpu381_model_job; model -> device:
 * struct vdpu381_model_answer followed by why_len bytes of reason text.
 */
#define VDPU381_MODEL_MAGIC     0x31385056u     /* "VP81" */
#define VDPU381_MODEL_VERSION   1u

struct vdpu381_model_job {
	uint32_t magic;
	uint32_t version;
	uint64_t job;           /* the device's 1-based job number */
	uint32_t regs[VDPU381_MODEL_NREGS];
};

struct vdpu381_model_answer {
	uint32_t magic;
	uint32_t version;
	uint64_t job;
	uint32_t sta_int;
	uint32_t why_len;       /* bytes of reason text that follow, < 256 */
};

#endif /* VDPU381_MODEL_H */
