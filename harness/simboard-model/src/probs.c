// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probability and count buffers of the vdpu381 VP9 decoder.
 *
 * Source of every layout: Rockchip MPP mpp/hal/rkdec/vp9d/hal_vp9d_com.c.
 * MPP packs the tables with mpp_put_bits() (mpp_bitput.c): values go LSB
 * first into 64-bit little-endian words, so 8-bit values land on
 * consecutive bytes and a 1-bit flag n of a run sits at byte n/8, bit n%8.
 * mpp_put_align(128) pads to the next 16-byte boundary.
 *
 * "last" table (reg162, hal_vp9d_prob_default(); also what the hardware
 * writes at reg172 and reads back as the next "last"), byte offsets:
 *      0 partition[16][3], seg pred[3] (0), seg tree[7] (0), skip[3],
 *        tx32[2][3], tx16[2][2], tx8[2], intra_inter[4]; pad to 80
 *     80 y_mode[4][9], comp_inter[5], comp_ref[5], single_ref[5][2],
 *        inter_mode[7][3], interp_filter[4][2] (85 bytes); pad to 176
 *    176 coef[tx 4][plane 2][ref 0], then ref 1 at 1200: per (tx, plane)
 *        108 probabilities [band 6][ctx 6][node 3] (band 0 ctx 3-5 unused,
 *        0) in 4 rows of 27, each row padded to 32 bytes (128 per (tx, plane))
 *   2224 uv_mode[10][9]: rows of 3 modes (27 bytes) padded to 32, the last
 *        row 9 bytes padded to 16, then 16 bytes of 0 (2352)
 *   2352 mv: joints[3], sign[2], classes[2][10], class0[2], bits[2][10],
 *        class0_fp[2][2][3], fp[2][3], class0_hp[2], hp[2]; pad to 2432,
 *        16 bytes of 0: 2448 of the 4864 bytes are used
 * (checked on a table the series' driver wrote: libvpx's default
 * probabilities at these offsets.)
 *
 * "delta" table (reg160, hal_vp9d_prob_flag_delta()): a block of update
 * flags (1 bit per probability), padded to 16 bytes, then the values; a
 * value is the coded subexponential index d (MPP vp9d_parser.c
 * update_prob() stores d before inv_map_table) of a flagged probability,
 * whose new value is inv_remap_prob(d, last) (VP9 spec 6.3.5 / 9.2,
 * libvpx vp9_dsubexp.c); mv values are the new probability itself
 * ((literal7 << 1) | 1, MPP parser and libvpx read_mv_probs()).
 */
#include <string.h>

#include "vp9/decoder/vp9_model_hooks.h"
#include "probs.h"

/* ---- "last" layout ---------------------------------------------------- */

struct cur {
	uint8_t *buf;			/* write */
	const uint8_t *in;		/* read */
	size_t pos;
};

static void io(struct cur *c, vpx_prob *p)
{
	if (c->buf)
		c->buf[c->pos] = *p;
	else
		*p = c->in[c->pos];
	c->pos++;
}

static void zero(struct cur *c, int n)
{
	while (n--) {
		if (c->buf)
			c->buf[c->pos] = 0;
		c->pos++;
	}
}

static void align16(struct cur *c)
{
	while (c->pos % 16)
		zero(c, 1);
}

/* coef[tx][plane][ref]: 108 bytes in rows of 27, each padded to 32. */
static void coef_rows(struct cur *c, vpx_prob (*p)[COEFF_CONTEXTS][UNCONSTRAINED_NODES])
{
	vpx_prob *flat = &p[0][0][0];
	int n;

	for (n = 0; n < COEF_BANDS * COEFF_CONTEXTS * UNCONSTRAINED_NODES; n++) {
		io(c, &flat[n]);
		if (n % 27 == 26)
			align16(c);
	}
	align16(c);
}

static void last_layout(struct cur *c, FRAME_CONTEXT *fc)
{
	int i, j, r;

	for (i = 0; i < PARTITION_CONTEXTS; i++)
		for (j = 0; j < PARTITION_TYPES - 1; j++)
			io(c, &fc->partition_prob[i][j]);
	zero(c, 3 + 7);			/* segment pred/tree: in reg160 */
	for (i = 0; i < SKIP_CONTEXTS; i++)
		io(c, &fc->skip_probs[i]);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < TX_SIZES - 1; j++)
			io(c, &fc->tx_probs.p32x32[i][j]);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < TX_SIZES - 2; j++)
			io(c, &fc->tx_probs.p16x16[i][j]);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		io(c, &fc->tx_probs.p8x8[i][0]);
	for (i = 0; i < INTRA_INTER_CONTEXTS; i++)
		io(c, &fc->intra_inter_prob[i]);
	align16(c);

	for (i = 0; i < BLOCK_SIZE_GROUPS; i++)
		for (j = 0; j < INTRA_MODES - 1; j++)
			io(c, &fc->y_mode_prob[i][j]);
	for (i = 0; i < COMP_INTER_CONTEXTS; i++)
		io(c, &fc->comp_inter_prob[i]);
	for (i = 0; i < REF_CONTEXTS; i++)
		io(c, &fc->comp_ref_prob[i]);
	for (i = 0; i < REF_CONTEXTS; i++)
		for (j = 0; j < 2; j++)
			io(c, &fc->single_ref_prob[i][j]);
	for (i = 0; i < INTER_MODE_CONTEXTS; i++)
		for (j = 0; j < INTER_MODES - 1; j++)
			io(c, &fc->inter_mode_probs[i][j]);
	for (i = 0; i < SWITCHABLE_FILTER_CONTEXTS; i++)
		for (j = 0; j < SWITCHABLE_FILTERS - 1; j++)
			io(c, &fc->switchable_interp_prob[i][j]);
	align16(c);

	for (r = 0; r < REF_TYPES; r++)
		for (i = 0; i < TX_SIZES; i++)
			for (j = 0; j < PLANE_TYPES; j++)
				coef_rows(c, fc->coef_probs[i][j][r]);

	for (i = 0; i < INTRA_MODES; i++) {
		for (j = 0; j < INTRA_MODES - 1; j++)
			io(c, &fc->uv_mode_prob[i][j]);
		if (i % 3 == 2 || i == INTRA_MODES - 1)
			align16(c);
	}
	zero(c, 1);
	align16(c);

	for (i = 0; i < MV_JOINTS - 1; i++)
		io(c, &fc->nmvc.joints[i]);
	for (i = 0; i < 2; i++)
		io(c, &fc->nmvc.comps[i].sign);
	for (i = 0; i < 2; i++)
		for (j = 0; j < MV_CLASSES - 1; j++)
			io(c, &fc->nmvc.comps[i].classes[j]);
	for (i = 0; i < 2; i++)
		io(c, &fc->nmvc.comps[i].class0[0]);
	for (i = 0; i < 2; i++)
		for (j = 0; j < MV_OFFSET_BITS; j++)
			io(c, &fc->nmvc.comps[i].bits[j]);
	for (i = 0; i < 2; i++)
		for (j = 0; j < CLASS0_SIZE; j++)
			for (r = 0; r < MV_FP_SIZE - 1; r++)
				io(c, &fc->nmvc.comps[i].class0_fp[j][r]);
	for (i = 0; i < 2; i++)
		for (j = 0; j < MV_FP_SIZE - 1; j++)
			io(c, &fc->nmvc.comps[i].fp[j]);
	for (i = 0; i < 2; i++)
		io(c, &fc->nmvc.comps[i].class0_hp);
	for (i = 0; i < 2; i++)
		io(c, &fc->nmvc.comps[i].hp);
	align16(c);
	zero(c, 1);
	align16(c);
}

void vdpu381_probs_read_last(FRAME_CONTEXT *fc, const uint8_t *buf)
{
	struct cur c = { .in = buf };

	last_layout(&c, fc);
	fc->initialized = 1;
}

void vdpu381_probs_write_last(const FRAME_CONTEXT *fc, uint8_t *buf)
{
	struct cur c = { .buf = buf };
	FRAME_CONTEXT tmp = *fc;

	memset(buf, 0, VDPU381_PROB_SIZE);
	last_layout(&c, &tmp);
}

/* ---- "delta" layout --------------------------------------------------- */

struct dcur {
	const uint8_t *buf;
	size_t fbit;			/* next flag bit */
	size_t vpos;			/* next value byte */
	int updated;
};

static int flag_at(const uint8_t *buf, size_t bit)
{
	return (buf[bit / 8] >> (bit % 8)) & 1;
}

/* One probability: its flag at fbit, its value at vpos. */
static void upd(struct dcur *d, size_t fbit, size_t vpos, vpx_prob *p, int absolute)
{
	if (!flag_at(d->buf, fbit))
		return;
	*p = absolute ? d->buf[vpos] : (vpx_prob)vp9_model_inv_remap_prob(d->buf[vpos], *p);
	d->updated++;
}

/*
 * coef[tx][plane][ref] flags: per (tx, plane) 4 groups of 27 bits, each
 * followed by 5 reserved bits (128 bits); values: rows of 27 bytes padded
 * to 32 (128 bytes) in the intra layout, rows of 27 bytes followed by 5
 * zero bytes (also 32) in the inter layout.
 */
static void coef_delta(struct dcur *d, size_t fbit0, size_t vpos0, FRAME_CONTEXT *fc, int ref)
{
	int i, j, n;

	for (i = 0; i < TX_SIZES; i++)
		for (j = 0; j < PLANE_TYPES; j++) {
			vpx_prob *flat = &fc->coef_probs[i][j][ref][0][0][0];
			size_t fb = fbit0 + (size_t)(i * PLANE_TYPES + j) * 128;
			size_t vp = vpos0 + (size_t)(i * PLANE_TYPES + j) * 128;

			for (n = 0; n < 108; n++)
				upd(d, fb + (n / 27) * 32 + n % 27, vp + (n / 27) * 32 + n % 27,
				    &flat[n], 0);
		}
}

/*
 * The block shared by both layouts: flags from bit 0 (partition 48,
 * segment 10, skip 3, tx 12, intra_inter 4, reserved 3 = 80 bits), values
 * from byte v0 in the same order (77 bytes).
 */
static void head_delta(struct dcur *d, size_t v0, FRAME_CONTEXT *fc, int intra,
		       struct vdpu381_delta_abs *abs)
{
	size_t f = 0, v = v0;
	int i, j;

	for (i = 0; i < PARTITION_CONTEXTS; i++)
		for (j = 0; j < PARTITION_TYPES - 1; j++, f++, v++) {
			if (abs)
				abs->partition[i][j] = d->buf[v];
			if (!intra)
				upd(d, f, v, &fc->partition_prob[i][j], 0);
		}
	for (i = 0; i < 3; i++, f++, v++)
		if (abs)
			abs->seg_pred[i] = d->buf[v];
	for (i = 0; i < 7; i++, f++, v++)
		if (abs)
			abs->seg_tree[i] = d->buf[v];
	for (i = 0; i < SKIP_CONTEXTS; i++, f++, v++)
		upd(d, f, v, &fc->skip_probs[i], 0);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < TX_SIZES - 1; j++, f++, v++)
			upd(d, f, v, &fc->tx_probs.p32x32[i][j], 0);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < TX_SIZES - 2; j++, f++, v++)
			upd(d, f, v, &fc->tx_probs.p16x16[i][j], 0);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++, f++, v++)
		upd(d, f, v, &fc->tx_probs.p8x8[i][0], 0);
	for (i = 0; i < INTRA_INTER_CONTEXTS; i++, f++, v++)
		if (!intra)
			upd(d, f, v, &fc->intra_inter_prob[i], 0);
}

int vdpu381_probs_apply_delta(FRAME_CONTEXT *fc, const uint8_t *buf, int intra,
			      struct vdpu381_delta_abs *abs)
{
	struct dcur d = { .buf = buf };
	size_t f, v;
	int i, j, k;

	if (intra) {
		/*
		 * Flags: head 80 bits, coef ref 0 at bit 80, ref 1 at bit 1104;
		 * padded to 2176 bits (byte 272). Values: head at 272, coef
		 * ref 0 at 352, key-frame y/uv mode tables at 1376 (10 x 128
		 * bytes, constants), coef ref 1 at 2656.
		 */
		head_delta(&d, 272, fc, 1, abs);
		coef_delta(&d, 80, 352, fc, 0);
		coef_delta(&d, 80 + 1024, 2656, fc, 1);
		return d.updated;
	}
	/*
	 * Inter. Flags: head 80 bits; y_mode 36, comp_inter 5, comp_ref 5,
	 * single_ref 10, inter_mode 21, interp_filter 8, reserved 11 (to bit
	 * 176); coef ref 0 at 176, ref 1 at 1200; uv_mode rows of 27 + 5 at
	 * 2224, 2256, 2288 and 9 + 23 at 2320; mv 69 flags at 2352 (+ 11 + 128
	 * reserved: 2560 bits, byte 320). Values: head at 320 (80 bytes), y_mode
	 * ... filter at 400 (85 + 11), coef ref 0 at 496, ref 1 at 1520, uv_mode
	 * at 2544 (rows 27 + 5, the last 9 + 23), mv at 2672 (absolute).
	 */
	head_delta(&d, 320, fc, 0, abs);
	f = 80;
	v = 400;
	for (i = 0; i < BLOCK_SIZE_GROUPS; i++)
		for (j = 0; j < INTRA_MODES - 1; j++)
			upd(&d, f++, v++, &fc->y_mode_prob[i][j], 0);
	for (i = 0; i < COMP_INTER_CONTEXTS; i++)
		upd(&d, f++, v++, &fc->comp_inter_prob[i], 0);
	for (i = 0; i < REF_CONTEXTS; i++)
		upd(&d, f++, v++, &fc->comp_ref_prob[i], 0);
	for (i = 0; i < REF_CONTEXTS; i++)
		for (j = 0; j < 2; j++)
			upd(&d, f++, v++, &fc->single_ref_prob[i][j], 0);
	for (i = 0; i < INTER_MODE_CONTEXTS; i++)
		for (j = 0; j < INTER_MODES - 1; j++)
			upd(&d, f++, v++, &fc->inter_mode_probs[i][j], 0);
	for (i = 0; i < SWITCHABLE_FILTER_CONTEXTS; i++)
		for (j = 0; j < SWITCHABLE_FILTERS - 1; j++)
			upd(&d, f++, v++, &fc->switchable_interp_prob[i][j], 0);
	coef_delta(&d, 176, 496, fc, 0);
	coef_delta(&d, 1200, 1520, fc, 1);
	for (i = 0; i < INTRA_MODES; i++)
		for (j = 0; j < INTRA_MODES - 1; j++) {
			int row = i / 3, col = (i % 3) * 9 + j;

			upd(&d, 2224 + row * 32 + col, 2544 + row * 32 + col,
			    &fc->uv_mode_prob[i][j], 0);
		}
	f = 2352;
	v = 2672;
	for (i = 0; i < MV_JOINTS - 1; i++)
		upd(&d, f++, v++, &fc->nmvc.joints[i], 1);
	for (i = 0; i < 2; i++)
		upd(&d, f++, v++, &fc->nmvc.comps[i].sign, 1);
	for (i = 0; i < 2; i++)
		for (j = 0; j < MV_CLASSES - 1; j++)
			upd(&d, f++, v++, &fc->nmvc.comps[i].classes[j], 1);
	for (i = 0; i < 2; i++)
		upd(&d, f++, v++, &fc->nmvc.comps[i].class0[0], 1);
	for (i = 0; i < 2; i++)
		for (j = 0; j < MV_OFFSET_BITS; j++)
			upd(&d, f++, v++, &fc->nmvc.comps[i].bits[j], 1);
	for (i = 0; i < 2; i++)
		for (j = 0; j < CLASS0_SIZE; j++)
			for (k = 0; k < MV_FP_SIZE - 1; k++)
				upd(&d, f++, v++, &fc->nmvc.comps[i].class0_fp[j][k], 1);
	for (i = 0; i < 2; i++)
		for (j = 0; j < MV_FP_SIZE - 1; j++)
			upd(&d, f++, v++, &fc->nmvc.comps[i].fp[j], 1);
	for (i = 0; i < 2; i++)
		upd(&d, f++, v++, &fc->nmvc.comps[i].class0_hp, 1);
	for (i = 0; i < 2; i++)
		upd(&d, f++, v++, &fc->nmvc.comps[i].hp, 1);
	return d.updated;
}

/* ---- counts (reg167) -------------------------------------------------- */

/*
 * hal_vp9d_update_counts() reads 32-bit words: a header copied over MPP's
 * counts struct (vp9d_syntax.h), for intra frames only partition[16][4],
 * skip[3][2], intra_inter[4][2], tx32[2][4], tx16[2][4], tx8[2][2] (98
 * words); for inter frames the whole struct up to coef (426 words: then
 * y_mode[4][10], uv_mode[10][10], comp_inter[5][2], comp_ref[5][2],
 * single_ref[5][2][2], inter_mode[7][4], filter[4][3], mv joints[4],
 * sign[2][2], classes[2][12], class0[2][2], bits[2][10][2],
 * class0_fp[2][2][4], fp[2][4], class0_hp[2][2], hp[2][2]). Then per
 * [ref (1 intra, 2 inter)][tx 4][plane 2][band 6][ctx 6] five words:
 * eob_branch, EOB (libvpx coef[3]), ZERO, ONE, TWO+ (MPP turns them into
 * eob {w1, w0 - w1} and coef {w2, w3, w4}, libvpx's branch counts
 * {neob, eob_branch - neob}).
 * Open: the symbol order of MPP's inter_mode counts (libvpx counts by
 * INTER_OFFSET: NEAREST, NEAR, ZERO, NEW) is written in libvpx's order.
 */
struct wcur {
	uint32_t *w;
	size_t n, max;
};

static void put(struct wcur *c, unsigned int v)
{
	if (c->n < c->max)
		c->w[c->n] = v;
	c->n++;
}

size_t vdpu381_counts_write(const FRAME_COUNTS *fc, int intra, uint8_t *buf, size_t len)
{
	struct wcur c = { .w = (uint32_t *)buf, .max = len / 4 };
	int i, j, k, r, t, p;

	memset(buf, 0, len);
	for (i = 0; i < PARTITION_CONTEXTS; i++)
		for (j = 0; j < PARTITION_TYPES; j++)
			put(&c, fc->partition[i][j]);
	for (i = 0; i < SKIP_CONTEXTS; i++)
		for (j = 0; j < 2; j++)
			put(&c, fc->skip[i][j]);
	for (i = 0; i < INTRA_INTER_CONTEXTS; i++)
		for (j = 0; j < 2; j++)
			put(&c, fc->intra_inter[i][j]);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < 4; j++)
			put(&c, fc->tx.p32x32[i][j]);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < 4; j++)
			put(&c, j < 3 ? fc->tx.p16x16[i][j] : 0);
	for (i = 0; i < TX_SIZE_CONTEXTS; i++)
		for (j = 0; j < 2; j++)
			put(&c, fc->tx.p8x8[i][j]);
	if (!intra) {
		const nmv_context_counts *mv = &fc->mv;

		for (i = 0; i < BLOCK_SIZE_GROUPS; i++)
			for (j = 0; j < INTRA_MODES; j++)
				put(&c, fc->y_mode[i][j]);
		for (i = 0; i < INTRA_MODES; i++)
			for (j = 0; j < INTRA_MODES; j++)
				put(&c, fc->uv_mode[i][j]);
		for (i = 0; i < COMP_INTER_CONTEXTS; i++)
			for (j = 0; j < 2; j++)
				put(&c, fc->comp_inter[i][j]);
		for (i = 0; i < REF_CONTEXTS; i++)
			for (j = 0; j < 2; j++)
				put(&c, fc->comp_ref[i][j]);
		for (i = 0; i < REF_CONTEXTS; i++)
			for (j = 0; j < 2; j++)
				for (k = 0; k < 2; k++)
					put(&c, fc->single_ref[i][j][k]);
		for (i = 0; i < INTER_MODE_CONTEXTS; i++)
			for (j = 0; j < INTER_MODES; j++)
				put(&c, fc->inter_mode[i][j]);
		for (i = 0; i < SWITCHABLE_FILTER_CONTEXTS; i++)
			for (j = 0; j < SWITCHABLE_FILTERS; j++)
				put(&c, fc->switchable_interp[i][j]);
		for (i = 0; i < MV_JOINTS; i++)
			put(&c, mv->joints[i]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				put(&c, mv->comps[i].sign[j]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 12; j++)
				put(&c, j < MV_CLASSES ? mv->comps[i].classes[j] : 0);
		for (i = 0; i < 2; i++)
			for (j = 0; j < CLASS0_SIZE; j++)
				put(&c, mv->comps[i].class0[j]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < MV_OFFSET_BITS; j++)
				for (k = 0; k < 2; k++)
					put(&c, mv->comps[i].bits[j][k]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < CLASS0_SIZE; j++)
				for (k = 0; k < MV_FP_SIZE; k++)
					put(&c, mv->comps[i].class0_fp[j][k]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < MV_FP_SIZE; j++)
				put(&c, mv->comps[i].fp[j]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				put(&c, mv->comps[i].class0_hp[j]);
		for (i = 0; i < 2; i++)
			for (j = 0; j < 2; j++)
				put(&c, mv->comps[i].hp[j]);
	}
	for (r = 0; r < (intra ? 1 : 2); r++)
		for (t = 0; t < TX_SIZES; t++)
			for (p = 0; p < PLANE_TYPES; p++)
				for (i = 0; i < COEF_BANDS; i++)
					for (j = 0; j < COEFF_CONTEXTS; j++) {
						const unsigned int *n = fc->coef[t][p][r][i][j];

						put(&c, fc->eob_branch[t][p][r][i][j]);
						put(&c, n[EOB_MODEL_TOKEN]);
						put(&c, n[ZERO_TOKEN]);
						put(&c, n[ONE_TOKEN]);
						put(&c, n[TWO_TOKEN]);
					}
	return c.n * 4;
}
