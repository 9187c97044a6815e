/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vdpu381 VP9 registers as the model reads them.
 *
 * Field positions: Rockchip MPP mpp/hal/rkdec/inc/vdpu34x_com.h (common
 * registers reg008-reg032, addresses reg128-reg142) and
 * mpp/hal/rkdec/inc/vdpu34x_vp9d.h (VP9 parameters reg064-reg112,
 * VP9 addresses reg160-reg197). regs[N] is MPP's "regN".
 */
#ifndef VDPU381_MODEL_REGS_H
#define VDPU381_MODEL_REGS_H

#include <stdint.h>

#define FIELD(v, lsb, width)	(((v) >> (lsb)) & ((width) >= 32 ? 0xffffffffu : ((1u << (width)) - 1)))

struct vdpu381_vp9_regs {
	/* vdpu34x_com.h */
	uint32_t dec_mode;		/* reg009 dec_mode[9:0]; VP9 = 2 */
	uint32_t cur_pic_is_idr;	/* reg013 bit 24 */
	uint32_t strm_start_bit;	/* reg015 strm_start_bit[11:5] */
	uint32_t str_len;		/* reg016, bytes */
	uint32_t y_hor_virstride;	/* reg018 [15:0], units of 16 bytes */
	uint32_t uv_hor_virstride;	/* reg019 [15:0], units of 16 bytes */
	uint32_t y_virstride;		/* reg020 [27:0], units of 16 bytes (fbc_e = 0) */
	uint32_t fbc_e;			/* reg012 bit 2 */
	uint32_t rlc_base;		/* reg128: bitstream */
	uint32_t decout_base;		/* reg130: decoded picture */
	uint32_t colmv_cur_base;	/* reg131 */
	/* vdpu34x_vp9d.h */
	uint32_t cprheader_offset;	/* reg064 [15:0] */
	struct {
		uint32_t abs_delta;	/* reg067 bit 0 only (MPP writes it to [0]) */
		uint32_t qp_delta_en;	/* bit 1 */
		int32_t qp_delta;	/* [10:2], 9-bit two's complement */
		uint32_t lf_en;		/* bit 11 */
		int32_t lf_value;	/* [18:12], 7-bit two's complement */
		uint32_t ref_en;	/* bit 19 */
		uint32_t ref;		/* [21:20] */
		uint32_t skip_en;	/* bit 22 */
	} seg[8];			/* reg067-reg074 */
	uint32_t mode_deltas_last;	/* reg075 [13:0], 2 x 7 bits */
	uint32_t segment_id_clear;	/* reg075 bit 14 */
	uint32_t segment_id_update;	/* reg075 bit 15 */
	uint32_t seg_en_last;		/* reg075 bit 16 */
	uint32_t last_show_frame;	/* reg075 bit 17 */
	uint32_t last_intra_only;	/* reg075 bit 18 */
	uint32_t last_wh_eqcur;		/* reg075 bit 19 */
	uint32_t tx_mode;		/* reg076 [2:0] */
	uint32_t reference_mode;	/* reg076 [4:3] */
	uint32_t lasttile_size;		/* reg078 [23:0] */
	uint32_t ref_y_hor_virstride[3];	/* reg079/081/083, 16-byte units */
	uint32_t ref_uv_hor_virstride[3];	/* reg080/082/084 */
	uint32_t ref_y_virstride[3];	/* reg085-087 [27:0] */
	uint32_t ref_hor_scale[3];	/* reg088/090/092 */
	uint32_t ref_ver_scale[3];	/* reg089/091/093 */
	uint32_t ref_deltas_last;	/* reg094 [27:0], 4 x 7 bits */
	uint32_t prob_update_en;	/* reg103 bit 20 */
	uint32_t refresh_en;		/* reg103 bit 21: adapt (!error_res && !parallel) */
	uint32_t prob_save_en;		/* reg103 bit 22: refresh_frame_context */
	uint32_t intra_only_flag;	/* reg103 bit 23: key frame or intra-only */
	uint32_t allow_hp;		/* reg103 bit 29 */
	uint32_t last_key_frame_flag;	/* reg103 bit 30 */
	uint32_t count_update_en;	/* reg105 bit 4 */
	uint32_t ref_width[3];		/* reg106/108/110 [15:0] */
	uint32_t ref_height[3];		/* reg107/109/111 [15:0] */
	/* addresses */
	uint32_t delta_prob_base;	/* reg160 */
	uint32_t last_prob_base;	/* reg162 */
	uint32_t ref_base[3];		/* reg164-166: last, golden, altref */
	uint32_t count_base;		/* reg167 */
	uint32_t segid_last_base;	/* reg168 */
	uint32_t segid_cur_base;	/* reg169 */
	uint32_t ref_colmv_base;	/* reg170 */
	uint32_t prob_wr_base;		/* reg172 */
	uint32_t rd_prob_idx;		/* reg028 vp9_rd_prob_idx */
	uint32_t wr_prob_idx;		/* reg028 vp9_wr_prob_idx */
};

void vdpu381_vp9_regs_decode(struct vdpu381_vp9_regs *r, const uint32_t *regs);

#endif /* VDPU381_MODEL_REGS_H */
