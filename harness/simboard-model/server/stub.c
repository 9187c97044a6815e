// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stand-in model core, linked while the real one
 * (harness/simboard-model/, libvdpu381model.a) is not there: it decodes
 * nothing, writes nothing and answers every job "ready", which is what the
 * device model did before it had a model.
 */

#include <stdio.h>
#include <stdlib.h>

#include "vdpu381_model.h"

struct vdpu381_model {
	unsigned long jobs;
};

struct vdpu381_model *vdpu381_model_new(void)
{
	return calloc(1, sizeof(struct vdpu381_model));
}

void vdpu381_model_free(struct vdpu381_model *m)
{
	free(m);
}

uint32_t vdpu381_model_run(struct vdpu381_model *m,
			   const uint32_t regs[VDPU381_MODEL_NREGS],
			   const struct vdpu381_guest_ram *ram,
			   char *why, size_t why_len)
{
	(void)regs;
	(void)ram;
	m->jobs++;
	snprintf(why, why_len, "stub model: nothing decoded");
	return VDPU381_STA_READY;
}

void vdpu381_model_set_log(struct vdpu381_model *m, FILE *log)
{
	(void)m;
	(void)log;
}
