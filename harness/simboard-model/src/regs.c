// SPDX-License-Identifier: GPL-2.0-only
/*
 * Register word -> field decoding. Bit positions from Rockchip MPP
 * vdpu34x_com.h / vdpu34x_vp9d.h (struct SWREGnn_* bit-field order, LSB
 * first, as GCC lays out bit-fields on little-endian targets).
 */
#include "regs.h"

static int32_t sext(uint32_t v, unsigned int bits)
{
	uint32_t m = 1u << (bits - 1);

	return (int32_t)((v ^ m) - m);
}

void vdpu381_vp9_regs_decode(struct vdpu381_vp9_regs *r, const uint32_t *regs)
{
	int i;

	r->dec_mode = FIELD(regs[9], 0, 10);
	r->fbc_e = FIELD(regs[12], 2, 1);
	r->cur_pic_is_idr = FIELD(regs[13], 24, 1);
	r->strm_start_bit = FIELD(regs[15], 5, 7);
	r->str_len = regs[16];
	r->y_hor_virstride = FIELD(regs[18], 0, 16);
	r->uv_hor_virstride = FIELD(regs[19], 0, 16);
	r->y_virstride = FIELD(regs[20], 0, 28);
	r->wr_prob_idx = FIELD(regs[28], 0, 3);
	r->rd_prob_idx = FIELD(regs[28], 4, 3);

	r->cprheader_offset = FIELD(regs[64], 0, 16);
	for (i = 0; i < 8; i++) {
		uint32_t v = regs[67 + i];

		r->seg[i].abs_delta = FIELD(v, 0, 1);
		r->seg[i].qp_delta_en = FIELD(v, 1, 1);
		r->seg[i].qp_delta = sext(FIELD(v, 2, 9), 9);
		r->seg[i].lf_en = FIELD(v, 11, 1);
		r->seg[i].lf_value = sext(FIELD(v, 12, 7), 7);
		r->seg[i].ref_en = FIELD(v, 19, 1);
		r->seg[i].ref = FIELD(v, 20, 2);
		r->seg[i].skip_en = FIELD(v, 22, 1);
	}
	r->mode_deltas_last = FIELD(regs[75], 0, 14);
	r->segment_id_clear = FIELD(regs[75], 14, 1);
	r->segment_id_update = FIELD(regs[75], 15, 1);
	r->seg_en_last = FIELD(regs[75], 16, 1);
	r->last_show_frame = FIELD(regs[75], 17, 1);
	r->last_intra_only = FIELD(regs[75], 18, 1);
	r->last_wh_eqcur = FIELD(regs[75], 19, 1);
	r->tx_mode = FIELD(regs[76], 0, 3);
	r->reference_mode = FIELD(regs[76], 3, 2);
	r->lasttile_size = FIELD(regs[78], 0, 24);
	for (i = 0; i < 3; i++) {
		r->ref_y_hor_virstride[i] = FIELD(regs[79 + 2 * i], 0, 16);
		r->ref_uv_hor_virstride[i] = FIELD(regs[80 + 2 * i], 0, 16);
		r->ref_y_virstride[i] = FIELD(regs[85 + i], 0, 28);
		r->ref_hor_scale[i] = FIELD(regs[88 + 2 * i], 0, 16);
		r->ref_ver_scale[i] = FIELD(regs[89 + 2 * i], 0, 16);
		r->ref_width[i] = FIELD(regs[106 + 2 * i], 0, 16);
		r->ref_height[i] = FIELD(regs[107 + 2 * i], 0, 16);
		r->ref_base[i] = regs[164 + i];
	}
	r->ref_deltas_last = FIELD(regs[94], 0, 28);
	r->prob_update_en = FIELD(regs[103], 20, 1);
	r->refresh_en = FIELD(regs[103], 21, 1);
	r->prob_save_en = FIELD(regs[103], 22, 1);
	r->intra_only_flag = FIELD(regs[103], 23, 1);
	r->allow_hp = FIELD(regs[103], 29, 1);
	r->last_key_frame_flag = FIELD(regs[103], 30, 1);
	r->count_update_en = FIELD(regs[105], 4, 1);

	r->rlc_base = regs[128];
	r->decout_base = regs[130];
	r->colmv_cur_base = regs[131];
	r->delta_prob_base = regs[160];
	r->last_prob_base = regs[162];
	r->count_base = regs[167];
	r->segid_last_base = regs[168];
	r->segid_cur_base = regs[169];
	r->ref_colmv_base = regs[170];
	r->prob_wr_base = regs[172];
}
