// SPDX-License-Identifier: GPL-2.0-only
/*
 * vdpu381 VP9 decoding model: one decode job from the registers and the
 * buffers the driver programmed, decoded by libvpx's own tile decoder and
 * loop filter (Debian's libvpx source with
 * harness/simboard-model/patches/, see vp9_model_hooks.h there).
 *
 * What comes from where:
 * - the uncompressed frame header (frame size, q, loop filter, segmentation
 *   syntax, tiles, refresh flags, ...) is parsed from the bitstream at
 *   reg128, as the hardware must: no vdpu381 register carries these (MPP
 *   vdpu34x_vp9d.h has no q, loop-filter or frame-size field, and
 *   hal_vp9d_vdpu34x.c hands the hardware the whole frame with
 *   reg064 cprheader_offset = 0);
 * - the compressed header is replaced by the driver's state: probabilities
 *   = reg162 "last" table + reg160 update flags/deltas (probs.c), tx_mode
 *   and reference_mode from reg076; the stream's own compressed header is
 *   still parsed, only to report where the driver's state disagrees;
 * - the adaptation starts from reg162 (libvpx's pre-frame context);
 * - written back: the picture at reg130 (NV12, or NV15 for 10-bit: nv15.h;
 *   strides reg018-020), the counts at reg167, the (adapted when reg103 refresh_en) context at
 *   reg172 when reg103 prob_save_en, the segment map at reg169 when reg075
 *   segment_id_update, the motion vectors at reg131.
 * - segmentation: the syntax is the stream's; the features a frame keeps
 *   (update_data 0) are reg067-074's, whether there is a previous map
 *   is reg075 segmentation_enable_lstframe (seg_from_driver);
 * - the bit depth is the stream's (profile 2 key and intra-only frames
 *   carry it): no vdpu381 register carries it either, MPP's
 *   hal_vp9d_vdpu34x.c uses BitDepthMinus8Luma only for the strides
 *   (width * bit_depth / 8, aligned) and the RCB sizes;
 * - references are read from reg164-166 (hook_ref; a buffer that still
 *   holds a picture the model wrote or read is not copied again), the
 *   previous segment
 *   map from reg168 (segmap_read), the previous frame's motion vectors from
 *   reg170 (colmv_read; the model's own layout, MPP documents only the size);
 * - still libvpx's own state, not the driver's: whether the previous
 *   frame's motion vectors are used (libvpx's last_width/height/show_frame/
 *   intra_only; reg075 carries the hardware's view) and the loop filter
 *   deltas' history (reg075/reg094).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "./vpx_config.h"
#include "vpx_mem/vpx_mem.h"
#include "vpx_ports/mem.h"
#include "./vpx_scale_rtcd.h"
#include "vpx_scale/yv12config.h"
#include "vp9/common/vp9_frame_buffers.h"
#include "vp9/common/vp9_onyxc_int.h"
#include "vp9/common/vp9_pred_common.h"
#include "vp9/common/vp9_quant_common.h"
#include "vp9/common/vp9_seg_common.h"
#include "vp9/decoder/vp9_decoder.h"
#include "vp9/decoder/vp9_model_hooks.h"

#include "vdpu381_model.h"
#include "model_priv.h"
#include "nv15.h"
#include "probs.h"
#include "regs.h"

/*
 * What guest memory held when the model last wrote (a job's picture) or read
 * (an imported reference) a libvpx frame buffer: the buffer's geometry and a
 * copy of its bytes (luma rows, then chroma rows, row padding included). A
 * reference whose guest buffer has the same geometry and the same bytes is
 * that frame buffer: hook_ref takes it without copying or unpacking.
 */
struct fb_shadow {
	int valid;
	uint32_t addr, ys, uvs, w, h;
	uint64_t uvoff;
	int ten;
	const uint8_t *y_buffer;	/* the frame buffer's memory when recorded */
	uint8_t *bytes;
	size_t cap, ylen, uvlen;
};

struct vdpu381_model {
	BufferPool *pool;
	VP9Decoder *pbi;
	struct vp9_model_hooks hooks;
	FILE *log;

	/* the job being decoded */
	const struct vdpu381_guest_ram *ram;
	struct vdpu381_vp9_regs r;
	FRAME_CONTEXT merged;		/* driver's context before adaptation */
	int ref_slot[3];		/* ref_frame_idx of LAST/GOLDEN/ALTREF this job */
	uint32_t sta;
	char why[200];
	struct vdpu381_model_info info;
	struct fb_shadow shadow[FRAME_BUFFERS];
	int no_reuse;			/* vdpu381_model_set_reuse(m, 0) */

	/* the previous job's segmentation, as decoded (reg067-075 checks) */
	int have_prev_seg;
	struct segmentation prev_seg;
	int seg_since_intra;		/* segmentation on in a frame since the last intra one */
};

static void fail(struct vdpu381_model *m, uint32_t sta, const char *fmt, ...)
{
	va_list ap;

	if (m->sta != VDPU381_STA_READY)
		return;			/* keep the first reason */
	m->sta = sta;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

static void note(struct vdpu381_model *m, const char *fmt, ...)
{
	va_list ap;

	m->info.disagreements++;
	if (!m->log)
		return;
	va_start(ap, fmt);
	vfprintf(m->log, fmt, ap);
	va_end(ap);
	fputc('\n', m->log);
}

/* Guest-physical [addr, addr + len) in the mapped RAM, or NULL (bus error). */
static uint8_t *gpa(struct vdpu381_model *m, uint64_t addr, uint64_t len, const char *what)
{
	const struct vdpu381_guest_ram *ram = m->ram;

	if (addr < ram->gpa || len > ram->size || addr - ram->gpa > ram->size - len) {
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_BUS_ERR,
		     "%s at 0x%08llx (+%llu) is outside guest RAM", what,
		     (unsigned long long)addr, (unsigned long long)len);
		return NULL;
	}
	return ram->host + (addr - ram->gpa);
}

/* ---- hooks ------------------------------------------------------------ */

/*
 * Co-located motion vectors: written for the decoded frame at reg131
 * (colmv_cur_base), read for the previous frame at reg170 (ref_colmv_base)
 * when the frame uses them. MPP gives only the size
 * (hal_vp9d_vdpu34x.c: vdpu34x_get_colmv_size() with colmv_size 8,
 * colmv_byte 16, uncompressed: 16 bytes per 8x8 block of the 64-aligned
 * frame), not the content, so the model defines it: per 8x8 block (mi),
 * raster order, align64(width) / 8 blocks per row, 16 bytes: mv[0].row,
 * mv[0].col, mv[1].row, mv[1].col (int16 LE, 1/8 pel), ref_frame[0],
 * ref_frame[1] (int8: -1 none, 0 intra, 1 last, 2 golden, 3 altref), 10
 * bytes of 0.
 */
#define COLMV_BYTES 16

static uint64_t colmv_stride(const VP9_COMMON *cm)
{
	return (uint64_t)((cm->width + 63) & ~63) / 8;
}

static uint64_t colmv_size(const VP9_COMMON *cm)
{
	return colmv_stride(cm) * (uint64_t)(((cm->height + 63) & ~63) / 8) * COLMV_BYTES;
}

static void colmv_write(struct vdpu381_model *m, const VP9_COMMON *cm, int intra)
{
	uint8_t *p = gpa(m, m->r.colmv_cur_base, colmv_size(cm), "reg131 colmv");
	const MV_REF *mv = cm->cur_frame ? cm->cur_frame->mvs : NULL;
	int x, y, k;

	if (!p)
		return;
	memset(p, 0, colmv_size(cm));
	for (y = 0; y < cm->mi_rows; y++)
		for (x = 0; x < cm->mi_cols; x++) {
			uint8_t *d = p + (y * colmv_stride(cm) + x) * COLMV_BYTES;
			const MV_REF *s = mv ? &mv[y * cm->mi_cols + x] : NULL;

			if (intra || !s) {
				d[8] = INTRA_FRAME;
				d[9] = (uint8_t)NO_REF_FRAME;
				continue;
			}
			for (k = 0; k < 2; k++) {
				d[4 * k + 0] = (uint8_t)s->mv[k].as_mv.row;
				d[4 * k + 1] = (uint8_t)((uint16_t)s->mv[k].as_mv.row >> 8);
				d[4 * k + 2] = (uint8_t)s->mv[k].as_mv.col;
				d[4 * k + 3] = (uint8_t)((uint16_t)s->mv[k].as_mv.col >> 8);
				d[8 + k] = (uint8_t)s->ref_frame[k];
			}
		}
}

static void colmv_read(struct vdpu381_model *m, VP9_COMMON *cm)
{
	const uint8_t *p = gpa(m, m->r.ref_colmv_base, colmv_size(cm), "reg170 colmv");
	MV_REF *mv = cm->prev_frame ? cm->prev_frame->mvs : NULL;
	size_t differ = 0;
	int x, y, k;

	if (!p || !mv)
		return;
	for (y = 0; y < cm->mi_rows; y++)
		for (x = 0; x < cm->mi_cols; x++) {
			const uint8_t *s = p + (y * colmv_stride(cm) + x) * COLMV_BYTES;
			MV_REF v, *d = &mv[y * cm->mi_cols + x];

			for (k = 0; k < 2; k++) {
				v.mv[k].as_mv.row = (int16_t)(s[4 * k] | s[4 * k + 1] << 8);
				v.mv[k].as_mv.col = (int16_t)(s[4 * k + 2] | s[4 * k + 3] << 8);
				v.ref_frame[k] = (MV_REFERENCE_FRAME)(int8_t)s[8 + k];
			}
			for (k = 0; k < 2; k++)
				if (d->ref_frame[k] != v.ref_frame[k] ||
				    (v.ref_frame[k] > INTRA_FRAME && d->mv[k].as_int != v.mv[k].as_int))
					break;
			differ += k < 2;
			*d = v;
		}
	if (differ)
		note(m, "reg170 colmv: %zu of %d blocks differ from the previous frame's motion vectors",
		     differ, cm->mi_rows * cm->mi_cols);
}

/*
 * Segment-id maps (reg168 read, reg169 written). Their layout is not in
 * MPP (hal_vp9d_vdpu34x.c only allocates them: MAX_SEGMAP_SIZE, 73728
 * bytes per map = 4 bits per 8x8 block of a 4096x2304 frame), so the model
 * defines one: a 4-bit segment id per 8x8 block (mi), two per byte (even
 * mi_col in the low nibble), rows of (mi_cols + 1) / 2 bytes, mi_rows rows.
 * A map written by the model is read back by the model: what it checks is
 * that the driver points reg168 at the map of the right earlier frame.
 */
static size_t segmap_bytes(const VP9_COMMON *cm)
{
	return (size_t)((cm->mi_cols + 1) / 2) * cm->mi_rows;
}

static void segmap_read(struct vdpu381_model *m, VP9_COMMON *cm)
{
	const uint8_t *p = gpa(m, m->r.segid_last_base, segmap_bytes(cm), "reg168 segment map");
	size_t stride = (cm->mi_cols + 1) / 2, differ = 0;
	int x, y;

	if (!p || !cm->last_frame_seg_map)
		return;
	for (y = 0; y < cm->mi_rows; y++)
		for (x = 0; x < cm->mi_cols; x++) {
			uint8_t id = (p[y * stride + x / 2] >> ((x & 1) * 4)) & 0xf;
			uint8_t *l = &cm->last_frame_seg_map[y * cm->mi_cols + x];

			differ += *l != id;
			*l = id;
		}
	if (differ)
		note(m, "reg168 segment map: %zu of %d ids differ from the previous frame's map",
		     differ, cm->mi_rows * cm->mi_cols);
}

static void segmap_write(struct vdpu381_model *m, const VP9_COMMON *cm)
{
	uint8_t *p = gpa(m, m->r.segid_cur_base, segmap_bytes(cm), "reg169 segment map");
	size_t stride = (cm->mi_cols + 1) / 2;
	int x, y;

	if (!p)
		return;
	memset(p, 0, segmap_bytes(cm));
	/* segmentation off: a map of zeros */
	if (!cm->seg.enabled || !cm->current_frame_seg_map)
		return;
	for (y = 0; y < cm->mi_rows; y++)
		for (x = 0; x < cm->mi_cols; x++)
			p[y * stride + x / 2] |= (cm->current_frame_seg_map[y * cm->mi_cols + x] & 0xf)
						 << ((x & 1) * 4);
}

/*
 * Per-segment features as the driver programmed them, reg067-074 (MPP
 * vdpu34x_vp9d.h reg67_74: segid_frame_qp_delta 9 bits, _loopfilter_value 7
 * bits, segid_referinfo 2 bits, skip, each with its enable bit;
 * segid_abs_delta in reg067 only). MPP's hal_vp9d_vdpu34x.c fills them from
 * ls_info, which it updates only after programming the frame: they are the
 * previous frame's features, what a frame that codes no segmentation data
 * (update_data 0) keeps.
 */
static void seg_from_regs(const struct vdpu381_vp9_regs *r, struct segmentation *s)
{
	int i;

	vp9_clearall_segfeatures(s);
	s->abs_delta = (uint8_t)r->seg[0].abs_delta;
	for (i = 0; i < MAX_SEGMENTS; i++) {
		if (r->seg[i].qp_delta_en) {
			s->feature_mask[i] |= 1u << SEG_LVL_ALT_Q;
			s->feature_data[i][SEG_LVL_ALT_Q] = (int16_t)r->seg[i].qp_delta;
		}
		if (r->seg[i].lf_en) {
			s->feature_mask[i] |= 1u << SEG_LVL_ALT_LF;
			s->feature_data[i][SEG_LVL_ALT_LF] = (int16_t)r->seg[i].lf_value;
		}
		if (r->seg[i].ref_en) {
			s->feature_mask[i] |= 1u << SEG_LVL_REF_FRAME;
			s->feature_data[i][SEG_LVL_REF_FRAME] = (int16_t)r->seg[i].ref;
		}
		if (r->seg[i].skip_en)
			s->feature_mask[i] |= 1u << SEG_LVL_SKIP;
	}
}

/* The segment (or -1) whose enabled features differ; -2: abs_delta (with a q or lf feature). */
static int seg_features_differ(const struct segmentation *a, const struct segmentation *b)
{
	const unsigned int qlf = 1u << SEG_LVL_ALT_Q | 1u << SEG_LVL_ALT_LF;
	unsigned int any = 0;
	int i, j;

	for (i = 0; i < MAX_SEGMENTS; i++) {
		if (a->feature_mask[i] != b->feature_mask[i])
			return i;
		for (j = 0; j < SEG_LVL_MAX; j++)
			if ((a->feature_mask[i] >> j & 1) && a->feature_data[i][j] != b->feature_data[i][j])
				return i;
		any |= a->feature_mask[i];
	}
	return (any & qlf) && a->abs_delta != b->abs_delta ? -2 : -1;
}

/* libvpx's setup_segmentation_dequant() (vp9_decodeframe.c, static there). */
static void seg_dequant(VP9_COMMON *cm)
{
	int i;

	for (i = 0; i < MAX_SEGMENTS; i++) {
		const int q = vp9_get_qindex(&cm->seg, i, cm->base_qindex);

		cm->y_dequant[i][0] = vp9_dc_quant(q, cm->y_dc_delta_q, cm->bit_depth);
		cm->y_dequant[i][1] = vp9_ac_quant(q, 0, cm->bit_depth);
		cm->uv_dequant[i][0] = vp9_dc_quant(q, cm->uv_dc_delta_q, cm->bit_depth);
		cm->uv_dequant[i][1] = vp9_ac_quant(q, cm->uv_ac_delta_q, cm->bit_depth);
	}
}

/*
 * Segmentation from the registers: the features a frame keeps (no
 * segmentation data in its header) are reg067-074's, and reg075 says
 * whether there is a previous map (segmentation_enable_lstframe: 0 = no
 * frame since the last intra one had segmentation, the map is all 0) and
 * whether this frame writes a new one (segment_id_update; MPP sets it when
 * the frame updates the map, is intra or error resilient, or the size
 * changed, and swaps reg168/169 then). Where they differ from the stream's
 * header and the model's history, a note; the decode follows the registers.
 */
static void seg_from_driver(struct vdpu381_model *m, VP9_COMMON *cm, int intra)
{
	const struct vdpu381_vp9_regs *r = &m->r;
	struct segmentation *seg = &cm->seg;
	struct segmentation regs_seg = *seg;
	const int past_independent = intra || cm->error_resilient_mode;
	unsigned int update, since;
	int d;

	seg_from_regs(r, &regs_seg);
	/*
	 * Not on intra frames: they reset the features, and a new stream
	 * (the server's model decodes one after another) starts with one, the
	 * driver's state fresh while the model's history is the last stream's.
	 */
	if (!intra && m->have_prev_seg &&
	    (d = seg_features_differ(&regs_seg, &m->prev_seg)) != -1)
		note(m, "reg%03d segment features differ from the previous frame's", d == -2 ? 67 : 67 + d);
	if (!past_independent && seg->enabled && !seg->update_data) {
		if ((d = seg_features_differ(&regs_seg, seg)) != -1)
			note(m, "reg%03d: the frame keeps its segment features, the driver's differ from the stream's; decoded with the driver's",
			     d == -2 ? 67 : 67 + d);
		memcpy(seg->feature_mask, regs_seg.feature_mask, sizeof(seg->feature_mask));
		memcpy(seg->feature_data, regs_seg.feature_data, sizeof(seg->feature_data));
		seg->abs_delta = regs_seg.abs_delta;
		seg_dequant(cm);
	}

	update = (seg->enabled && seg->update_map) || past_independent ||
		 cm->width != cm->last_width || cm->height != cm->last_height;
	if (r->segment_id_update != update)
		note(m, "reg075 segment_id_update %u, stream %u (segmentation %d update_map %d, intra %d, error resilient %d, size change %d)",
		     r->segment_id_update, update, seg->enabled, seg->update_map, intra,
		     cm->error_resilient_mode,
		     cm->width != cm->last_width || cm->height != cm->last_height);
	since = intra ? 0 : (unsigned int)m->seg_since_intra;
	if (m->have_prev_seg && r->seg_en_last != since)
		note(m, "reg075 segmentation_enable_lstframe %u, stream %u", r->seg_en_last, since);
	if (r->segment_id_clear)
		note(m, "reg075 segment_id_clear set (MPP never sets it): not modelled");

	/* the previous map is read when this frame predicts or keeps segment ids */
	if (!intra && seg->enabled && (!seg->update_map || seg->temporal_update)) {
		if (r->seg_en_last)
			segmap_read(m, cm);
		else if (cm->last_frame_seg_map) {
			size_t n = (size_t)cm->mi_rows * cm->mi_cols, i, nz = 0;

			for (i = 0; i < n; i++)
				nz += cm->last_frame_seg_map[i] != 0;
			if (nz)
				note(m, "reg075 segmentation_enable_lstframe 0: no previous map, %zu of %zu ids of the stream's are not 0",
				     nz, n);
			memset(cm->last_frame_seg_map, 0, n);
		}
	}
}

static int hook_probs(void *priv, VP9_COMMON *cm)
{
	struct vdpu381_model *m = priv;
	const struct vdpu381_vp9_regs *r = &m->r;
	const int intra = frame_is_intra_only(cm);
	struct vdpu381_delta_abs abs;
	FRAME_CONTEXT last;
	const uint8_t *lp, *dp;
	int i, n;

	/* this job's output buffer: decoded into from here on */
	if (cm->new_fb_idx >= 0)
		m->shadow[cm->new_fb_idx].valid = 0;
	if (r->intra_only_flag != (unsigned int)intra)
		note(m, "reg103 intra_only_flag %u, stream: %s", r->intra_only_flag,
		     intra ? "intra" : "inter");
	lp = gpa(m, r->last_prob_base, VDPU381_PROB_SIZE, "reg162 last probabilities");
	dp = gpa(m, r->delta_prob_base, VDPU381_PROB_SIZE, "reg160 delta probabilities");
	if (!lp || !dp)
		return 1;

	memset(&last, 0, sizeof(last));
	vdpu381_probs_read_last(&last, lp);
	m->merged = last;
	m->info.probs_updated = vdpu381_probs_apply_delta(&m->merged, dp, intra, &abs);

	/* Compare with what the stream's compressed header gave libvpx. */
	{
		const uint8_t *a = (const uint8_t *)&m->merged, *b = (const uint8_t *)cm->fc;
		size_t len = offsetof(FRAME_CONTEXT, initialized);

		if (intra) {
			/* key frames: libvpx uses only coef, skip, tx */
			a = (const uint8_t *)m->merged.coef_probs;
			b = (const uint8_t *)cm->fc->coef_probs;
			len = sizeof(cm->fc->coef_probs);
			n = memcmp(&m->merged.skip_probs, &cm->fc->skip_probs, sizeof(cm->fc->skip_probs)) ||
			    memcmp(&m->merged.tx_probs, &cm->fc->tx_probs, sizeof(cm->fc->tx_probs));
			if (n)
				note(m, "skip/tx probabilities differ from the stream's");
		}
		const uint8_t *a0 = a;
		long first = -1;

		for (n = 0; len--; a++, b++)
			if (*a != *b) {
				if (first < 0)
					first = a - a0;
				n++;
			}
		m->info.probs_differ = n;
		if (n)
			note(m, "%d probabilities differ from the stream's compressed header (first at FRAME_CONTEXT%s byte %ld)",
			     n, intra ? ".coef_probs" : "", first);
	}
	if (cm->seg.enabled && cm->seg.update_map) {
		if (memcmp(abs.seg_tree, cm->seg.tree_probs, sizeof(abs.seg_tree)))
			note(m, "reg160 segment tree probabilities differ from the stream's");
		memcpy(cm->seg.tree_probs, abs.seg_tree, sizeof(abs.seg_tree));
		if (cm->seg.temporal_update) {
			if (memcmp(abs.seg_pred, cm->seg.pred_probs, sizeof(abs.seg_pred)))
				note(m, "reg160 segment prediction probabilities differ from the stream's");
			memcpy(cm->seg.pred_probs, abs.seg_pred, sizeof(abs.seg_pred));
		}
	}
	if (intra) {
		for (i = 0; i < PARTITION_CONTEXTS; i++)
			if (memcmp(abs.partition[i], vp9_kf_partition_probs[i], 3))
				break;
		if (i < PARTITION_CONTEXTS)
			note(m, "reg160 key-frame partition table differs from the spec's at context %d", i);
	}

	if (r->tx_mode != (unsigned int)cm->tx_mode)
		note(m, "reg076 tx_mode %u, stream %d", r->tx_mode, cm->tx_mode);
	cm->tx_mode = (TX_MODE)r->tx_mode;
	if (!intra) {
		if (r->reference_mode != (unsigned int)cm->reference_mode)
			note(m, "reg076 reference_mode %u, stream %d", r->reference_mode,
			     cm->reference_mode);
		cm->reference_mode = (REFERENCE_MODE)r->reference_mode;
		if (cm->reference_mode != SINGLE_REFERENCE)
			vp9_setup_compound_reference_mode(cm);
		if (r->allow_hp != (unsigned int)cm->allow_high_precision_mv)
			note(m, "reg103 allow_high_precision_mv %u, stream %d", r->allow_hp,
			     cm->allow_high_precision_mv);
	}
	if (r->prob_save_en != (unsigned int)cm->refresh_frame_context)
		note(m, "reg103 prob_save_en %u, stream refresh_frame_context %d",
		     r->prob_save_en, cm->refresh_frame_context);
	if (r->refresh_en != (unsigned int)(!cm->error_resilient_mode &&
					   !cm->frame_parallel_decoding_mode))
		note(m, "reg103 refresh_en %u, stream error_resilient %d frame_parallel %d",
		     r->refresh_en, cm->error_resilient_mode,
		     cm->frame_parallel_decoding_mode);

	if (!intra) {
		/*
		 * Reference scale factors: MPP hal_vp9d_vdpu34x.c writes
		 * reg088-093 = (ref size << 14) / frame size (vp9d_parser.c
		 * mvscale), libvpx's x/y_scale_fp (REF_SCALE_SHIFT 14).
		 */
		for (i = 0; i < 3; i++) {
			const struct scale_factors *sf = &cm->frame_refs[i].sf;

			if (r->ref_hor_scale[i] != (uint32_t)(sf->x_scale_fp & 0xffff) ||
			    r->ref_ver_scale[i] != (uint32_t)(sf->y_scale_fp & 0xffff))
				note(m, "reg%d/%d scale %u/%u, the reference's %d/%d", 88 + 2 * i,
				     89 + 2 * i, r->ref_hor_scale[i], r->ref_ver_scale[i],
				     sf->x_scale_fp, sf->y_scale_fp);
		}
		/*
		 * Whether the previous frame's motion vectors are used: the
		 * hardware's view is reg075 (last_widthheight_eqcur,
		 * last_show_frame, last_intra_only: MPP sets last_intra_only
		 * for key frames too); libvpx's is cm->use_prev_frame_mvs,
		 * which also excludes a previous key frame (whose vectors are
		 * all intra: the same result).
		 */
		if (cm->use_prev_frame_mvs !=
		    (!cm->error_resilient_mode && r->last_wh_eqcur && r->last_show_frame &&
		     !r->last_intra_only))
			note(m, "reg075 (size equal %u, shown %u, intra %u) and the stream disagree on using the previous frame's motion vectors (libvpx: %d)",
			     r->last_wh_eqcur, r->last_show_frame, r->last_intra_only,
			     cm->use_prev_frame_mvs);
	}
	if (!intra && cm->use_prev_frame_mvs) {
		if (r->ref_colmv_base == r->colmv_cur_base)
			note(m, "reg170 colmv = reg131: the frame would read the motion vectors it writes");
		colmv_read(m, cm);
	}
	seg_from_driver(m, cm, intra);

	cm->frame_contexts[cm->frame_context_idx] = last;
	*cm->fc = m->merged;
	return 0;
}

/*
 * A 10-bit frame (profile 2): 16-bit samples in libvpx (built with
 * --enable-vp9-highbitdepth, modelCore.ts), NV15 in guest memory; else
 * NV12.
 */
static int is_10bit(const VP9_COMMON *cm)
{
	return cm->bit_depth > VPX_BITS_8;
}

/*
 * The stream's bit depth as the hardware supports it: 8 (NV12) or 10
 * (NV15); profile 2's 12-bit (no vdpu381 CAPTURE format) is an error.
 */
static int bit_depth_ok(struct vdpu381_model *m, const VP9_COMMON *cm)
{
	if (cm->bit_depth == VPX_BITS_8 ||
	    (CONFIG_VP9_HIGHBITDEPTH && cm->bit_depth == VPX_BITS_10))
		return 1;
	fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
	     "%d-bit (profile %d) is not supported (8-bit NV12 and 10-bit NV15 only%s)",
	     (int)cm->bit_depth, (int)cm->profile,
	     CONFIG_VP9_HIGHBITDEPTH ? "" : "; libvpx built without high bit depth");
	return 0;
}

/* Bytes of a row of n samples of one plane (n luma, or 2 x chroma width). */
static uint64_t row_bytes(int ten_bit, uint32_t n)
{
	return ten_bit ? nv15_row_bytes(n) : n;
}

/* ---- reference reuse ---------------------------------------------------- */

/* A picture in guest memory: NV12 or NV15 at addr, luma rows then chroma rows. */
struct guest_pic {
	uint32_t addr, ys, uvs, w, h;
	uint64_t uvoff;
	int ten;
	uint64_t ylen, uvlen;		/* bytes from the first to the end of the last row */
};

static int guest_pic_same(const struct fb_shadow *s, const struct guest_pic *g)
{
	return s->addr == g->addr && s->ys == g->ys && s->uvs == g->uvs && s->w == g->w &&
	       s->h == g->h && s->uvoff == g->uvoff && s->ten == g->ten && s->ylen == g->ylen &&
	       s->uvlen == g->uvlen;
}

/* Whether an NV12 chroma row holds u0 v0 u1 v1 ... (n pairs). */
static int nv12_row_equal(const uint8_t *d, const uint8_t *u, const uint8_t *v, int n)
{
	int j = 0;

#ifdef __SSE2__
	for (; j + 16 <= n; j += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(u + j));
		__m128i b = _mm_loadu_si128((const __m128i *)(v + j));
		__m128i lo = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(d + 2 * j)),
					    _mm_unpacklo_epi8(a, b));
		__m128i hi = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(d + 2 * j + 16)),
					    _mm_unpackhi_epi8(a, b));

		if (_mm_movemask_epi8(_mm_and_si128(lo, hi)) != 0xffff)
			return 0;
	}
#endif
	for (; j < n; j++)
		if (d[2 * j] != u[j] || d[2 * j + 1] != v[j])
			return 0;
	return 1;
}

/* Whether the NV12 picture in guest memory (y, uv; g) is the frame buffer's visible picture. */
static int nv12_equal(const YV12_BUFFER_CONFIG *b, const struct guest_pic *g, const uint8_t *y,
		      const uint8_t *uv)
{
	const uint32_t cw = (g->w + 1) / 2, ch = (g->h + 1) / 2;
	uint32_t row;

	for (row = 0; row < g->h; row++)
		if (memcmp(y + (size_t)row * g->ys, b->y_buffer + (size_t)row * b->y_stride, g->w))
			return 0;
	for (row = 0; row < ch; row++)
		if (!nv12_row_equal(uv + (size_t)row * g->uvs, b->u_buffer + (size_t)row * b->uv_stride,
				    b->v_buffer + (size_t)row * b->uv_stride, (int)cw))
			return 0;
	return 1;
}

/*
 * Frame buffer idx now holds the picture that guest memory holds at g (the
 * model just wrote it there, or just imported it from there): remember
 * where, and for NV15 a copy of the guest bytes (NV12 is compared with the
 * frame buffer itself).
 */
static void shadow_record(struct vdpu381_model *m, int idx, const struct guest_pic *g,
			  const uint8_t *y, const uint8_t *uv)
{
	struct fb_shadow *s = &m->shadow[idx];
	size_t need = g->ylen + g->uvlen;

	s->valid = 0;
	if (!g->ten)
		need = 0;
	if (need > s->cap) {
		uint8_t *b = realloc(s->bytes, need);

		if (!b)
			return;		/* no reuse for this buffer: imported each time */
		s->bytes = b;
		s->cap = need;
	}
	if (g->ten) {
		memcpy(s->bytes, y, g->ylen);
		memcpy(s->bytes + g->ylen, uv, g->uvlen);
	}
	s->addr = g->addr;
	s->ys = g->ys;
	s->uvs = g->uvs;
	s->w = g->w;
	s->h = g->h;
	s->uvoff = g->uvoff;
	s->ten = g->ten;
	s->ylen = g->ylen;
	s->uvlen = g->uvlen;
	s->y_buffer = m->pool->frame_bufs[idx].buf.y_buffer;
	s->valid = 1;
}

/*
 * The frame buffer whose picture guest memory still holds at g, or -1: same
 * guest address and geometry as when recorded, the same picture (the guest
 * may have reused or rewritten the buffer: NV12 compared with the frame
 * buffer's samples, NV15 with the bytes recorded), and a frame buffer libvpx
 * still holds, unchanged since (not released to the pool, not this job's
 * output, the same memory).
 */
static int shadow_find(struct vdpu381_model *m, const VP9_COMMON *cm, const struct guest_pic *g,
		       const uint8_t *y, const uint8_t *uv)
{
	const RefCntBuffer *fbs = m->pool->frame_bufs;
	int idx;

	for (idx = 0; idx < FRAME_BUFFERS; idx++) {
		const struct fb_shadow *s = &m->shadow[idx];

		if (!s->valid || !guest_pic_same(s, g) || idx == cm->new_fb_idx ||
		    fbs[idx].ref_count <= 0 || fbs[idx].released ||
		    fbs[idx].buf.y_buffer != s->y_buffer ||
		    fbs[idx].buf.y_crop_width != (int)g->w || fbs[idx].buf.y_crop_height != (int)g->h)
			continue;
		if (g->ten ? !memcmp(s->bytes, y, g->ylen) && !memcmp(s->bytes + g->ylen, uv, g->uvlen)
			   : nv12_equal(&fbs[idx].buf, g, y, uv))
			return idx;
	}
	return -1;
}

/*
 * Inter frames: reference i (LAST, GOLDEN, ALTREF) is read from the driver's
 * buffer, not from libvpx's history: NV12 (8-bit) or NV15 (10-bit, nv15.h)
 * at reg164+i, luma stride reg079/081/083, chroma stride reg080/082/084,
 * luma plane size reg085-087 (16-byte units; chroma follows the luma
 * plane), size reg106-111 (MPP vdpu34x_vp9d.h; strides in bytes, for
 * 10-bit MPP's hal_vp9d_vdpu34x.c computes them from width * 10 / 8). The
 * bit depth is the stream's (libvpx's from the last intra frame: inter
 * frames do not code it). It replaces the buffer libvpx would take from the
 * slot the stream's ref_frame_idx names.
 */
static void hook_ref(void *priv, VP9_COMMON *cm, int i, int slot)
{
	struct vdpu381_model *m = priv;
	const struct vdpu381_vp9_regs *r = &m->r;
	BufferPool *pool = cm->buffer_pool;
	RefCntBuffer *fbs = pool->frame_bufs;
	uint32_t w = r->ref_width[i], h = r->ref_height[i];
	uint32_t ys = r->ref_y_hor_virstride[i] * 16, uvs = r->ref_uv_hor_virstride[i] * 16;
	uint64_t uvoff = (uint64_t)r->ref_y_virstride[i] * 16;
	uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2, row, x;
	static const char *const name[3] = { "reg164 last", "reg165 golden", "reg166 altref" };
	const int ten = is_10bit(cm);
	uint64_t yrow = row_bytes(ten, w), uvrow = row_bytes(ten, 2 * cw);
	const uint8_t *y, *uv;
	YV12_BUFFER_CONFIG *b;
	struct guest_pic g;
	int j, idx;

	for (j = 0; j < i; j++)
		if (m->ref_slot[j] == slot) {
			if (r->ref_base[j] != r->ref_base[i])
				note(m, "%s and %s name one reference slot (%d) but different buffers 0x%08x 0x%08x",
				     name[j], name[i], slot, r->ref_base[j], r->ref_base[i]);
			m->ref_slot[i] = slot;
			return;
		}
	m->ref_slot[i] = slot;
	if (!bit_depth_ok(m, cm))
		return;
	if (!w || !h || ys < yrow || uvs < uvrow || uvoff < (uint64_t)ys * h) {
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "%s reference: %s size %ux%u strides y %u uv %u plane %llu do not fit", name[i],
		     ten ? "NV15" : "NV12", w, h, ys, uvs, (unsigned long long)uvoff);
		return;
	}
	g = (struct guest_pic){ .addr = r->ref_base[i], .ys = ys, .uvs = uvs, .w = w, .h = h,
				.uvoff = uvoff, .ten = ten,
				.ylen = (uint64_t)ys * (h - 1) + yrow,
				.uvlen = (uint64_t)uvs * (ch - 1) + uvrow };
	y = gpa(m, g.addr, g.ylen, name[i]);
	uv = gpa(m, g.addr + uvoff, g.uvlen, name[i]);
	if (!y || !uv)
		return;
	/*
	 * The common case: the buffer holds, unchanged, a picture the model
	 * wrote (or imported) earlier, still in a libvpx frame buffer: take
	 * that one (usually libvpx's own in this very slot).
	 */
	idx = m->no_reuse ? -1 : shadow_find(m, cm, &g, y, uv);
	if (idx >= 0) {
		m->info.refs_reused++;
		if (cm->ref_frame_map[slot] != idx) {
			fbs[idx].ref_count++;
			decrease_ref_count(cm->ref_frame_map[slot], fbs, pool);
			cm->ref_frame_map[slot] = idx;
		}
		return;
	}
	idx = get_free_fb(cm);
	if (idx == INVALID_IDX) {
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "no free frame buffer for the %s reference", name[i]);
		return;
	}
	b = &fbs[idx].buf;
	if (vpx_realloc_frame_buffer(b, (int)w, (int)h, 1, 1,
#if CONFIG_VP9_HIGHBITDEPTH
				     ten,
#endif
				     VP9_DEC_BORDER_IN_PIXELS,
				     cm->byte_alignment, &fbs[idx].raw_frame_buffer,
				     pool->get_fb_cb, pool->cb_priv)) {
		fbs[idx].ref_count = 0;
		m->shadow[idx].valid = 0;
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "cannot allocate the %s reference (%ux%u)", name[i], w, h);
		return;
	}
	m->shadow[idx].valid = 0;
	fbs[idx].released = 0;
	b->corrupted = 0;
	b->bit_depth = cm->bit_depth;
	b->color_space = cm->color_space;
	b->color_range = cm->color_range;
#if CONFIG_VP9_HIGHBITDEPTH
	if (ten) {
		/*
		 * Whole groups of 4: up to 3 samples past the visible width,
		 * inside libvpx's 8-aligned width (the border is extended
		 * from the visible width below).
		 */
		uint16_t *y16 = CONVERT_TO_SHORTPTR(b->y_buffer);
		uint16_t *u16 = CONVERT_TO_SHORTPTR(b->u_buffer);
		uint16_t *v16 = CONVERT_TO_SHORTPTR(b->v_buffer);

		for (row = 0; row < h; row++)
			nv15_unpack(y16 + (size_t)row * b->y_stride, y + (size_t)row * ys, w);
		for (row = 0; row < ch; row++)
			nv15_unpack2(u16 + (size_t)row * b->uv_stride, v16 + (size_t)row * b->uv_stride,
				     uv + (size_t)row * uvs, 2 * cw);
	} else
#endif
	{
		for (row = 0; row < h; row++)
			memcpy(b->y_buffer + (size_t)row * b->y_stride, y + (size_t)row * ys, w);
		for (row = 0; row < ch; row++) {
			const uint8_t *s = uv + (size_t)row * uvs;
			uint8_t *u = b->u_buffer + (size_t)row * b->uv_stride;
			uint8_t *v = b->v_buffer + (size_t)row * b->uv_stride;

			for (x = 0; x < cw; x++) {
				u[x] = s[2 * x];
				v[x] = s[2 * x + 1];
			}
		}
	}
	/*
	 * No border extension: libvpx's decoder does its own edge emulation
	 * (vp9_decodeframe.c dec_build_inter_predictors: a block reaching
	 * outside the reference's visible size, with a motion vector or a
	 * size not a multiple of 8, is predicted from extend_and_predict()'s
	 * copy; libvpx never extends its own frames' borders either).
	 */
	m->info.refs_imported++;
	shadow_record(m, idx, &g, y, uv);
	decrease_ref_count(cm->ref_frame_map[slot], fbs, pool);
	cm->ref_frame_map[slot] = idx;
}

/* One NV12 chroma row: d = u0 v0 u1 v1 ... (n pairs). */
static void nv12_interleave(uint8_t *d, const uint8_t *u, const uint8_t *v, int n)
{
	int j = 0;

#ifdef __SSE2__
	for (; j + 16 <= n; j += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(u + j));
		__m128i b = _mm_loadu_si128((const __m128i *)(v + j));

		_mm_storeu_si128((__m128i *)(d + 2 * j), _mm_unpacklo_epi8(a, b));
		_mm_storeu_si128((__m128i *)(d + 2 * j + 16), _mm_unpackhi_epi8(a, b));
	}
#endif
	for (; j < n; j++) {
		d[2 * j] = u[j];
		d[2 * j + 1] = v[j];
	}
}

/*
 * The decoded picture -> reg130 (reg018-020 strides, 16-byte units): NV12
 * for 8-bit, NV15 for 10-bit (whole groups of 4 samples: up to 3 past the
 * visible width, libvpx's decoded samples there).
 */
static int write_picture(struct vdpu381_model *m, const VP9_COMMON *cm,
			 const YV12_BUFFER_CONFIG *f, struct guest_pic *g)
{
	const struct vdpu381_vp9_regs *r = &m->r;
	uint32_t ys = r->y_hor_virstride * 16, uvs = r->uv_hor_virstride * 16;
	uint64_t uvoff = (uint64_t)r->y_virstride * 16;
	int w = f->y_crop_width, h = f->y_crop_height;
	int cw = f->uv_crop_width, ch = f->uv_crop_height;
	const int ten = is_10bit(cm);
	uint64_t yrow = row_bytes(ten, (uint32_t)w), uvrow = row_bytes(ten, 2 * (uint32_t)cw);
	uint8_t *y, *uv;
	int i;

	if (r->fbc_e) {
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "reg012 fbc_e: compressed output is not modelled");
		return 0;
	}
	if (!bit_depth_ok(m, cm))
		return 0;
	if (ys < yrow || uvs < uvrow || uvoff < (uint64_t)ys * h) {
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "output strides too small for %s %dx%d: y %u uv %u y_virstride %llu",
		     ten ? "NV15" : "NV12", w, h, ys, uvs, (unsigned long long)uvoff);
		return 0;
	}
	y = gpa(m, r->decout_base, (uint64_t)ys * (h - 1) + yrow, "reg130 output (luma)");
	uv = gpa(m, r->decout_base + uvoff, (uint64_t)uvs * (ch - 1) + uvrow,
		 "reg130 output (chroma)");
	if (!y || !uv)
		return 0;
	*g = (struct guest_pic){ .addr = r->decout_base, .ys = ys, .uvs = uvs, .w = (uint32_t)w,
				 .h = (uint32_t)h, .uvoff = uvoff, .ten = ten,
				 .ylen = (uint64_t)ys * (h - 1) + yrow,
				 .uvlen = (uint64_t)uvs * (ch - 1) + uvrow };
#if CONFIG_VP9_HIGHBITDEPTH
	if (ten) {
		const uint16_t *y16 = CONVERT_TO_SHORTPTR(f->y_buffer);
		const uint16_t *u16 = CONVERT_TO_SHORTPTR(f->u_buffer);
		const uint16_t *v16 = CONVERT_TO_SHORTPTR(f->v_buffer);

		for (i = 0; i < h; i++)
			nv15_pack(y + (size_t)i * ys, y16 + (size_t)i * f->y_stride, (size_t)w);
		for (i = 0; i < ch; i++)
			nv15_pack2(uv + (size_t)i * uvs, u16 + (size_t)i * f->uv_stride,
				   v16 + (size_t)i * f->uv_stride, 2 * (size_t)cw);
		return 1;
	}
#endif
	for (i = 0; i < h; i++)
		memcpy(y + (size_t)i * ys, f->y_buffer + (size_t)i * f->y_stride, w);
	for (i = 0; i < ch; i++)
		nv12_interleave(uv + (size_t)i * uvs, f->u_buffer + (size_t)i * f->uv_stride,
				f->v_buffer + (size_t)i * f->uv_stride, cw);
	return 1;
}

static void hook_done(void *priv, VP9_COMMON *cm, const YV12_BUFFER_CONFIG *f)
{
	struct vdpu381_model *m = priv;
	const struct vdpu381_vp9_regs *r = &m->r;
	const int intra = frame_is_intra_only(cm);
	const int adapted = !cm->error_resilient_mode && !cm->frame_parallel_decoding_mode;
	struct guest_pic g;
	uint8_t *p;

	m->info.width = cm->width;
	m->info.height = cm->height;
	m->info.bit_depth = (int)cm->bit_depth;
	m->info.intra = intra;
	m->info.show_frame = cm->show_frame;
	if (write_picture(m, cm, f, &g))
		shadow_record(m, cm->new_fb_idx, &g, m->ram->host + (g.addr - m->ram->gpa),
			      m->ram->host + (g.addr + g.uvoff - m->ram->gpa));
	/* a new map when the driver says so (MPP swaps reg168/169 then) */
	if (r->segment_id_update)
		segmap_write(m, cm);
	m->prev_seg = cm->seg;
	m->have_prev_seg = 1;
	m->seg_since_intra = (intra ? 0 : m->seg_since_intra) || cm->seg.enabled;
	colmv_write(m, cm, intra);

	p = gpa(m, r->count_base, VDPU381_COUNT_SIZE, "reg167 counts");
	if (p) {
		static const FRAME_COUNTS none;

		vdpu381_counts_write(adapted ? &cm->counts : &none, intra, p, VDPU381_COUNT_SIZE);
	}
	if (r->prob_save_en) {
		p = gpa(m, r->prob_wr_base, VDPU381_PROB_SIZE, "reg172 probability write-back");
		if (p) {
			if (r->refresh_en && !adapted)
				note(m, "reg103 refresh_en set but the stream's frame does not adapt: wrote the unadapted context");
			vdpu381_probs_write_last(r->refresh_en && adapted ? cm->fc : &m->merged, p);
		}
	}
}

/* ---- the model -------------------------------------------------------- */

struct vdpu381_model *vdpu381_model_new(void)
{
	struct vdpu381_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pool = vpx_calloc(1, sizeof(*m->pool));
	if (!m->pool)
		goto err;
	m->pbi = vp9_decoder_create(m->pool);
	if (!m->pbi)
		goto err;
	m->pbi->max_threads = 1;
	m->pbi->common.new_fb_idx = INVALID_IDX;
	m->pool->get_fb_cb = vp9_get_frame_buffer;
	m->pool->release_fb_cb = vp9_release_frame_buffer;
	if (vp9_alloc_internal_frame_buffers(&m->pool->int_frame_buffers))
		goto err;
	m->pool->cb_priv = &m->pool->int_frame_buffers;
	m->hooks.priv = m;
	m->hooks.ref = hook_ref;
	m->hooks.probs = hook_probs;
	m->hooks.done = hook_done;
	m->pbi->model_hooks = &m->hooks;
	return m;
err:
	vdpu381_model_free(m);
	return NULL;
}

void vdpu381_model_free(struct vdpu381_model *m)
{
	if (!m)
		return;
	if (m->pbi)
		vp9_decoder_remove(m->pbi);
	if (m->pool) {
		vp9_free_ref_frame_buffers(m->pool);
		vp9_free_internal_frame_buffers(&m->pool->int_frame_buffers);
		vpx_free(m->pool);
	}
	for (int i = 0; i < FRAME_BUFFERS; i++)
		free(m->shadow[i].bytes);
	free(m);
}

struct vdpu381_model *vdpu381_libvpx_new(void)
{
	struct vdpu381_model *m = vdpu381_model_new();

	if (m)
		m->pbi->model_hooks = NULL;
	return m;
}

int vdpu381_libvpx_decode(struct vdpu381_model *m, const uint8_t *data, size_t len,
			  struct vdpu381_picture *pic)
{
	VP9_COMMON *cm = &m->pbi->common;
	const YV12_BUFFER_CONFIG *f;

	if (vp9_receive_compressed_data(m->pbi, len, &data)) {
		m->pbi->need_resync = 1;
		return -1;
	}
	f = cm->frame_to_show;
	if (!f)
		return -1;
	pic->width = f->y_crop_width;
	pic->height = f->y_crop_height;
	pic->bit_depth = (int)f->bit_depth;
	pic->y = f->y_buffer;
	pic->u = f->u_buffer;
	pic->v = f->v_buffer;
	pic->y16 = pic->u16 = pic->v16 = NULL;
#if CONFIG_VP9_HIGHBITDEPTH
	if (f->flags & YV12_FLAG_HIGHBITDEPTH) {
		pic->y = pic->u = pic->v = NULL;
		pic->y16 = CONVERT_TO_SHORTPTR(f->y_buffer);
		pic->u16 = CONVERT_TO_SHORTPTR(f->u_buffer);
		pic->v16 = CONVERT_TO_SHORTPTR(f->v_buffer);
	}
#endif
	pic->y_stride = f->y_stride;
	pic->uv_stride = f->uv_stride;
	return 0;
}

void vdpu381_model_set_log(struct vdpu381_model *m, FILE *log)
{
	m->log = log;
}

void vdpu381_model_set_reuse(struct vdpu381_model *m, int reuse)
{
	m->no_reuse = !reuse;
}

void vdpu381_model_last_info(const struct vdpu381_model *m, struct vdpu381_model_info *info)
{
	*info = m->info;
}

uint32_t vdpu381_model_run(struct vdpu381_model *m, const uint32_t regs[VDPU381_MODEL_NREGS],
			   const struct vdpu381_guest_ram *ram, char *why, size_t why_len)
{
	const uint8_t *data;

	m->ram = ram;
	m->sta = VDPU381_STA_READY;
	m->why[0] = 0;
	memset(&m->info, 0, sizeof(m->info));
	m->ref_slot[0] = m->ref_slot[1] = m->ref_slot[2] = -1;
	vdpu381_vp9_regs_decode(&m->r, regs);

	if (m->r.dec_mode != 2) {
		/* reg009 dec_mode: MPP vdpu34x_com.h, VP9 = 2 */
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "reg009 dec_mode %u is not VP9 (2)", m->r.dec_mode);
		goto out;
	}
	if (m->r.strm_start_bit || m->r.cprheader_offset)
		note(m, "reg015 strm_start_bit %u, reg064 cprheader_offset %u: not modelled (MPP writes 0)",
		     m->r.strm_start_bit, m->r.cprheader_offset);
	data = gpa(m, m->r.rlc_base, m->r.str_len, "reg128 bitstream");
	if (!data)
		goto out;
	if (vp9_receive_compressed_data(m->pbi, m->r.str_len, &data)) {
		fail(m, VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW | VDPU381_STA_ERROR,
		     "libvpx: %s", m->pbi->common.error.has_detail ?
		     m->pbi->common.error.detail : "decode error");
		m->pbi->need_resync = 1;
	}
out:
	if (why && why_len) {
		snprintf(why, why_len, "%s", m->why);
	}
	return m->sta;
}
