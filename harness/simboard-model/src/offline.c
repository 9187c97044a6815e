// SPDX-License-Identifier: GPL-2.0-only
/*
 * vdpu381-model-offline: decodes one job of a simboard capture file (the
 * JSON lines the vdpu381-sim device writes, harness/simboard-qemu/hw/misc/
 * vdpu381_sim.c; with `workbench simboard faults --full-buffers` each
 * record carries the input buffers as base64) with the model, in a
 * stand-in guest RAM that holds those buffers at their guest addresses.
 *
 * usage: vdpu381-model-offline [--job N | --line N] [--i420 FILE [--all]]
 *        [--check] [--counts FILE] [--probs FILE] [--quiet] [--no-reuse]
 *        CAPTURE.jsonl
 * Prints one line per decoded job: job, size, status, reason, the time
 * vdpu381_model_run() took; the
 * disagreements between the driver's state and the stream on stderr.
 * --i420 writes the picture the model put at reg130 (NV12, or NV15 for
 * 10-bit; driver strides) back as planar I420 of the visible size (what
 * `vpxdec --i420` writes: 16-bit little-endian samples for 10-bit);
 * with --all every job's picture is appended (decode order, hidden frames
 * included), else only the last job's. --check decodes every job's
 * bitstream with libvpx alone too (no hooks: libvpx's own state) and says
 * per job whether the model's picture is libvpx's; exit 1 if one is not.
 * --no-reuse copies every reference in from guest memory (the path a
 * buffer the model did not write, or one the guest changed, takes).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vdpu381_model.h"
#include "model_priv.h"
#include "nv15.h"
#include "regs.h"

struct buf {
	const char *name;
	uint64_t addr, len;
	uint8_t *data;		/* decoded base64, or NULL */
	size_t data_len;
};

static const char *const buf_names[] = {
	"stream", "delta_prob", "last_prob", "count", "segid_last", "segid_cur",
	"ref_colmv", "colmv",
};
#define NBUFS (sizeof(buf_names) / sizeof(buf_names[0]))

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 4648 base64 up to the closing quote; returns the byte count. */
static size_t b64dec(const char *s, uint8_t **out)
{
	size_t n = strcspn(s, "\""), o = 0, i;
	uint32_t acc = 0;
	int bits = 0;
	uint8_t *d = malloc(n * 3 / 4 + 3);

	if (!d)
		exit(2);
	for (i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			continue;	/* '=' and anything else */
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = d;
	return o;
}

static int num_field(const char *obj, const char *end, const char *key, uint64_t *v)
{
	char k[40];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(obj, k);
	if (!p || p > end)
		return -1;
	*v = strtoull(p + strlen(k), NULL, 10);
	return 0;
}

/* Parses one capture record; 0 on success. */
static int parse_record(const char *line, uint64_t *job, uint32_t *regs, struct buf *bufs)
{
	const char *p, *b;
	size_t i;

	if (num_field(line, line + strlen(line), "job", job))
		return -1;
	p = strstr(line, "\"function\":\"");
	if (!p)
		return -1;
	p += strlen("\"function\":\"");
	for (i = 0; i < VDPU381_MODEL_NREGS; i++) {
		char w[9];

		memcpy(w, p + i * 8, 8);
		w[8] = 0;
		if (strlen(w) < 8)
			return -1;
		regs[i] = (uint32_t)strtoul(w, NULL, 16);
	}
	b = strstr(line, "\"buffers\":{");
	for (i = 0; i < NBUFS; i++) {
		char k[40];
		const char *o, *e, *d;

		bufs[i].name = buf_names[i];
		bufs[i].data = NULL;
		if (!b)
			continue;
		snprintf(k, sizeof(k), "\"%s\":{", buf_names[i]);
		o = strstr(b, k);
		if (!o)
			continue;
		e = strchr(o + strlen(k), '}');
		if (!e)
			continue;
		num_field(o, e, "addr", &bufs[i].addr);
		num_field(o, e, "len", &bufs[i].len);
		d = strstr(o, "\"base64\":\"");
		if (d && d < e)
			bufs[i].data_len = b64dec(d + strlen("\"base64\":\""), &bufs[i].data);
	}
	return 0;
}

static void span(uint64_t *lo, uint64_t *hi, uint64_t addr, uint64_t len)
{
	if (!addr || !len)
		return;
	if (addr < *lo)
		*lo = addr;
	if (addr + len > *hi)
		*hi = addr + len;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "vdpu381-model-offline: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Buffers the model wrote in an earlier job (addresses). */
static uint64_t written[64];
static unsigned int nwritten;

static int model_wrote(uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < nwritten && i < 64; i++)
		if (written[i] == addr)
			return 1;
	return 0;
}

static void remember_write(uint64_t addr)
{
	if (addr && !model_wrote(addr) && nwritten < 64)
		written[nwritten++] = addr;
}

/* Guest addresses one job touches (inputs, outputs, references). */
static void job_span(const uint32_t *regs, const struct buf *bufs, uint64_t *lo, uint64_t *hi)
{
	struct vdpu381_vp9_regs r;
	size_t i;

	vdpu381_vp9_regs_decode(&r, regs);
	for (i = 0; i < NBUFS; i++)
		span(lo, hi, bufs[i].addr, bufs[i].len);
	span(lo, hi, r.decout_base, (uint64_t)r.y_virstride * 16 * 3 / 2);
	span(lo, hi, r.count_base, 13208);
	span(lo, hi, r.prob_wr_base, 4864);
	span(lo, hi, r.last_prob_base, 4864);
	span(lo, hi, r.delta_prob_base, 4864);
	span(lo, hi, r.rlc_base, r.str_len);
	if (r.y_hor_virstride) {
		/* colmv (reg131, reg170): 16 bytes per 8x8 block of the 64-aligned picture */
		uint64_t w = (uint64_t)r.y_hor_virstride * 16, h = r.y_virstride / r.y_hor_virstride;
		uint64_t colmv = ((w + 63) / 64 * 8) * ((h + 63) / 64 * 8) * 16;

		span(lo, hi, r.colmv_cur_base, colmv);
		span(lo, hi, r.ref_colmv_base, colmv);
	}
	if (r.intra_only_flag)
		return;
	for (i = 0; i < 3; i++)
		span(lo, hi, r.ref_base[i], (uint64_t)r.ref_y_virstride[i] * 16 * 3 / 2);
}

/*
 * One plane row of the picture at reg130 as samples: 8-bit NV12 bytes, or
 * NV15 (10-bit) unpacked; n samples (a chroma row: 2 x its width,
 * interleaved), into row (room for n + 3).
 */
static void out_row(uint16_t *row, const uint8_t *src, int ten, int n)
{
	int x;

	if (ten) {
		nv15_unpack(row, src, (size_t)n);
		return;
	}
	for (x = 0; x < n; x++)
		row[x] = src[x];
}

/*
 * --check: the picture the model wrote at reg130 against libvpx's own
 * decode of the same bitstream (lib); returns 0 when equal.
 */
static int check_job(struct vdpu381_model *lib, const struct vdpu381_guest_ram *ram,
		     const struct vdpu381_vp9_regs *r, const struct buf *stream, char *out, size_t len)
{
	struct vdpu381_picture pic;
	const uint8_t *y, *uv;
	uint16_t *row;
	int rown, x, ten, ret = 0;

	if (!stream->data || vdpu381_libvpx_decode(lib, stream->data, stream->data_len, &pic)) {
		snprintf(out, len, "libvpx: no picture");
		return 1;
	}
	ten = pic.bit_depth > 8;
	y = ram->host + (r->decout_base - ram->gpa);
	uv = y + (uint64_t)r->y_virstride * 16;
	row = malloc(((size_t)pic.width + 8) * sizeof(*row));
	if (!row)
		exit(2);
#define PIC_Y(x, yy) (ten ? pic.y16[(size_t)(yy) * pic.y_stride + (x)] : pic.y[(size_t)(yy) * pic.y_stride + (x)])
#define PIC_U(x, yy) (ten ? pic.u16[(size_t)(yy) * pic.uv_stride + (x)] : pic.u[(size_t)(yy) * pic.uv_stride + (x)])
#define PIC_V(x, yy) (ten ? pic.v16[(size_t)(yy) * pic.uv_stride + (x)] : pic.v[(size_t)(yy) * pic.uv_stride + (x)])
	for (rown = 0; rown < pic.height && !ret; rown++) {
		out_row(row, y + (size_t)rown * r->y_hor_virstride * 16, ten, pic.width);
		for (x = 0; x < pic.width; x++)
			if (row[x] != PIC_Y(x, rown)) {
				snprintf(out, len, "libvpx: DIFFERS (luma %d,%d)", x, rown);
				ret = 1;
				break;
			}
	}
	for (rown = 0; rown < (pic.height + 1) / 2 && !ret; rown++) {
		out_row(row, uv + (size_t)rown * r->uv_hor_virstride * 16, ten, 2 * ((pic.width + 1) / 2));
		for (x = 0; x < (pic.width + 1) / 2; x++)
			if (row[2 * x] != PIC_U(x, rown) || row[2 * x + 1] != PIC_V(x, rown)) {
				snprintf(out, len, "libvpx: DIFFERS (chroma %d,%d)", x, rown);
				ret = 1;
				break;
			}
	}
#undef PIC_Y
#undef PIC_U
#undef PIC_V
	free(row);
	if (!ret)
		snprintf(out, len, "libvpx: equal");
	return ret;
}

/*
 * --i420: the picture at reg130 as planar I420 of the visible size, what
 * `vpxdec --i420` writes: 8-bit samples, or 16-bit little-endian ones for
 * 10-bit (NV15). Returns 0, or 2 on a write error.
 */
static int write_i420(const char *path, const struct vdpu381_guest_ram *ram,
		      const struct vdpu381_vp9_regs *r, const struct vdpu381_model_info *info)
{
	int w = info->width, h = info->height, cw = (w + 1) / 2, ch = (h + 1) / 2, y, x, p;
	int ten = info->bit_depth > 8, bps = ten ? 2 : 1;
	const uint8_t *src = ram->host + (r->decout_base - ram->gpa);
	const uint8_t *uv = src + (uint64_t)r->y_virstride * 16;
	uint8_t *o = malloc(((size_t)w * h + 2 * (size_t)cw * ch) * bps), *op = o;
	uint16_t *row = malloc(((size_t)w + 8) * sizeof(*row));
	FILE *f;
	int ret = 0;

	if (!o || !row)
		exit(2);
#define PUT(v) do { *op++ = (uint8_t)(v); if (ten) *op++ = (uint8_t)((v) >> 8); } while (0)
	for (y = 0; y < h; y++) {
		out_row(row, src + (size_t)y * r->y_hor_virstride * 16, ten, w);
		for (x = 0; x < w; x++)
			PUT(row[x]);
	}
	for (p = 0; p < 2; p++)
		for (y = 0; y < ch; y++) {
			out_row(row, uv + (size_t)y * r->uv_hor_virstride * 16, ten, 2 * cw);
			for (x = 0; x < cw; x++)
				PUT(row[2 * x + p]);
		}
#undef PUT
	f = fopen(path, "ab");
	if (!f || fwrite(o, 1, (size_t)(op - o), f) != (size_t)(op - o) || fclose(f)) {
		fprintf(stderr, "vdpu381-model-offline: %s: %s\n", path, strerror(errno));
		ret = 2;
	}
	free(row);
	free(o);
	return ret;
}

static int run_job(struct vdpu381_model *m, struct vdpu381_model *lib,
		   const struct vdpu381_guest_ram *ram, uint64_t job, const uint32_t *regs,
		   struct buf *bufs, const char *i420, const char *counts, const char *probs)
{
	char check[80] = "", depth[16] = "";
	struct vdpu381_vp9_regs r;
	struct vdpu381_model_info info;
	uint64_t lo = ram->gpa;
	char why[256];
	struct timespec t0, t1;
	uint32_t sta;
	size_t i;
	int ret = 0;

	vdpu381_vp9_regs_decode(&r, regs);
	/*
	 * The job's input buffers as the capture recorded them, except those
	 * an earlier job of the model wrote (the probability write-back of
	 * reg172, the segment map of reg169): the simulated device that
	 * recorded the capture wrote nothing back, the model did.
	 */
	for (i = 0; i < NBUFS; i++) {
		if (!bufs[i].data || bufs[i].addr < lo || bufs[i].addr + bufs[i].len > lo + ram->size)
			continue;
		if (model_wrote(bufs[i].addr))
			continue;
		/*
		 * Segment maps: the capture records MPP's 73728 bytes from
		 * reg168/169, more than the driver allocates (its maps sit
		 * 4 KiB apart, before the probability tables); the model keeps
		 * the maps it wrote instead.
		 */
		if (!strncmp(bufs[i].name, "segid", 5))
			continue;
		memcpy(ram->host + (bufs[i].addr - lo), bufs[i].data,
		       bufs[i].data_len < bufs[i].len ? bufs[i].data_len : bufs[i].len);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sta = vdpu381_model_run(m, regs, ram, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vdpu381_model_last_info(m, &info);
	if (lib) {
		if (sta != VDPU381_STA_READY) {
			struct vdpu381_picture pic;

			/* keep libvpx's history in step */
			if (bufs[0].data)
				vdpu381_libvpx_decode(lib, bufs[0].data, bufs[0].data_len, &pic);
			snprintf(check, sizeof(check), "libvpx: not compared");
		} else if (check_job(lib, ram, &r, &bufs[0], check, sizeof(check))) {
			ret = 1;
		}
	}
	if (info.bit_depth > 8)
		snprintf(depth, sizeof(depth), " %d-bit", info.bit_depth);
	printf("job %llu: %dx%d%s %s%s sta 0x%08x%s%s (%d probabilities updated, %d differ from the stream, %d disagreements, references %d copied %d reused; %.3f ms)%s%s\n",
	       (unsigned long long)job, info.width, info.height, depth, info.intra ? "intra" : "inter",
	       info.show_frame ? "" : " hidden", sta, why[0] ? ": " : "", why,
	       info.probs_updated, info.probs_differ, info.disagreements, info.refs_imported,
	       info.refs_reused,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       check[0] ? " " : "", check);
	if (r.prob_save_en)
		remember_write(r.prob_wr_base);
	remember_write(r.segid_cur_base);
	if (sta != VDPU381_STA_READY)
		ret = 1;

	if (i420 && sta == VDPU381_STA_READY && write_i420(i420, ram, &r, &info))
		ret = 2;
	if (counts && write_file(counts, ram->host + (r.count_base - lo), 13208))
		ret = 2;
	if (probs && r.prob_save_en && write_file(probs, ram->host + (r.prob_wr_base - lo), 4864))
		ret = 2;
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: vdpu381-model-offline [--job N | --line N] [--i420 FILE] "
		"[--all] [--check] [--counts FILE] [--probs FILE] [--quiet] [--no-reuse] "
		"CAPTURE.jsonl\n");
	exit(2);
}

struct rec {
	uint64_t job;
	uint32_t regs[VDPU381_MODEL_NREGS];
	struct buf bufs[NBUFS];
};

int main(int argc, char **argv)
{
	const char *i420 = NULL, *counts = NULL, *probs = NULL, *path = NULL;
	long want_job = -1, want_line = -1, lineno = 0;
	int quiet = 0, all_shown = 0, check = 0, reuse = 1, ret = 0, i;
	struct vdpu381_model *lib = NULL;
	unsigned int checked = 0, equal = 0;
	struct vdpu381_guest_ram ram;
	struct vdpu381_model *m;
	struct rec *recs = NULL;
	size_t nrec = 0, k, b;
	uint64_t lo = UINT64_MAX, hi = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--job") && i + 1 < argc)
			want_job = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--line") && i + 1 < argc)
			want_line = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--i420") && i + 1 < argc)
			i420 = argv[++i];
		else if (!strcmp(argv[i], "--all") )
			all_shown = 1;
		else if (!strcmp(argv[i], "--counts") && i + 1 < argc)
			counts = argv[++i];
		else if (!strcmp(argv[i], "--probs") && i + 1 < argc)
			probs = argv[++i];
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if (!strcmp(argv[i], "--check"))
			check = 1;
		else if (!strcmp(argv[i], "--no-reuse"))
			reuse = 0;
		else if (argv[i][0] == '-' || path)
			usage();
		else
			path = argv[i];
	}
	if (!path)
		usage();
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "vdpu381-model-offline: %s: %s\n", path, strerror(errno));
		return 2;
	}
	/*
	 * Jobs run in order from the first record (the model and the guest
	 * RAM keep their state across jobs: a job's references are the
	 * pictures earlier jobs wrote) up to the one asked for.
	 */
	while (getline(&line, &cap, f) > 0) {
		struct rec *r;

		lineno++;
		if (want_line > 0 && lineno != want_line)
			continue;
		recs = realloc(recs, (nrec + 1) * sizeof(*recs));
		if (!recs)
			return 2;
		r = &recs[nrec];
		memset(r, 0, sizeof(*r));
		if (parse_record(line, &r->job, r->regs, r->bufs)) {
			fprintf(stderr, "%s:%ld: not a capture record\n", path, lineno);
			return 2;
		}
		job_span(r->regs, r->bufs, &lo, &hi);
		nrec++;
		if (want_line > 0 || (want_job >= 0 && (long)r->job >= want_job))
			break;
	}
	free(line);
	fclose(f);
	if (!nrec || hi <= lo || hi - lo > (1ull << 31)) {
		fprintf(stderr, "vdpu381-model-offline: no job to decode (or buffers spread over more than 2 GiB)\n");
		return 2;
	}
	ram.gpa = lo;
	ram.size = hi - lo;
	ram.host = calloc(1, ram.size);
	m = vdpu381_model_new();
	if (!ram.host || !m)
		return 2;
	/*
	 * Touch every page now, outside the timed vdpu381_model_run() calls:
	 * a running guest's RAM is resident (the guest kernel allocated and
	 * cleared its buffers), a fresh calloc() is not.
	 */
	memset(ram.host, 0, ram.size);
	if (!quiet)
		vdpu381_model_set_log(m, stderr);
	vdpu381_model_set_reuse(m, reuse);
	if (check && !(lib = vdpu381_libvpx_new()))
		return 2;
	if (i420)
		remove(i420);
	for (k = 0; k < nrec; k++) {
		int last = k + 1 == nrec;
		int r = run_job(m, lib, &ram, recs[k].job, recs[k].regs, recs[k].bufs,
				(last || all_shown) ? i420 : NULL, last ? counts : NULL,
				last ? probs : NULL);

		if (lib) {
			checked++;
			equal += r == 0;
		}
		if (r > ret)
			ret = r;
		for (b = 0; b < NBUFS; b++)
			free(recs[k].bufs[b].data);
	}
	if (lib) {
		printf("check: %u of %u jobs equal to libvpx's own decode\n", equal, checked);
		vdpu381_model_free(lib);
	}
	free(recs);
	free(ram.host);
	vdpu381_model_free(m);
	return ret;
}
