// SPDX-License-Identifier: GPL-2.0-only
/*
 * NV15 rows <-> 16-bit samples (layout: nv15.h, from the kernel's
 * V4L2_PIX_FMT_NV15 documentation).
 */
#include "nv15.h"

static inline void put4(uint8_t *d, uint32_t s0, uint32_t s1, uint32_t s2, uint32_t s3)
{
	s0 &= 0x3ff;
	s1 &= 0x3ff;
	s2 &= 0x3ff;
	s3 &= 0x3ff;
	d[0] = (uint8_t)s0;
	d[1] = (uint8_t)(s0 >> 8 | s1 << 2);
	d[2] = (uint8_t)(s1 >> 6 | s2 << 4);
	d[3] = (uint8_t)(s2 >> 4 | s3 << 6);
	d[4] = (uint8_t)(s3 >> 2);
}

static inline void get4(const uint8_t *s, uint16_t *o)
{
	o[0] = (uint16_t)((s[0] | s[1] << 8) & 0x3ff);
	o[1] = (uint16_t)((s[1] >> 2 | s[2] << 6) & 0x3ff);
	o[2] = (uint16_t)((s[2] >> 4 | s[3] << 4) & 0x3ff);
	o[3] = (uint16_t)((s[3] >> 6 | s[4] << 2) & 0x3ff);
}

void nv15_pack(uint8_t *dst, const uint16_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 4, src += 4, dst += 5)
		put4(dst, src[0], src[1], src[2], src[3]);
}

void nv15_pack2(uint8_t *dst, const uint16_t *a, const uint16_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 4, a += 2, b += 2, dst += 5)
		put4(dst, a[0], b[0], a[1], b[1]);
}

void nv15_unpack(uint16_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 4, src += 5, dst += 4)
		get4(src, dst);
}

void nv15_unpack2(uint16_t *a, uint16_t *b, const uint8_t *src, size_t n)
{
	uint16_t g[4];
	size_t i;

	for (i = 0; i < n; i += 4, src += 5, a += 2, b += 2) {
		get4(src, g);
		a[0] = g[0];
		b[0] = g[1];
		a[1] = g[2];
		b[1] = g[3];
	}
}

#ifdef VDPU381_NV15_CLI
/*
 * A filter for the tests:
 *   nv15 pack N      N 16-bit LE samples on stdin -> nv15_row_bytes(N) bytes
 *   nv15 pack2 N     N/2 samples of plane a then N/2 of plane b (16-bit LE)
 *                    -> the interleaved row
 *   nv15 unpack N    nv15_row_bytes(N) bytes -> N 16-bit LE samples
 *   nv15 unpack2 N   -> N/2 samples of a, then N/2 of b
 * N a multiple of 4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	size_t n, i, nb;
	uint16_t *s, *t;
	uint8_t *p, *raw;
	int pack, two;

	if (argc != 3)
		return 2;
	pack = !strncmp(argv[1], "pack", 4);
	two = argv[1][strlen(argv[1]) - 1] == '2';
	n = strtoul(argv[2], NULL, 10);
	if (!n || n % 4)
		return 2;
	nb = nv15_row_bytes(n);
	s = calloc(n, sizeof(*s));
	t = calloc(n, sizeof(*t));
	p = calloc(nb, 1);
	raw = calloc(2 * n, 1);
	if (!s || !t || !p || !raw)
		return 2;
	if (pack) {
		if (fread(raw, 1, 2 * n, stdin) != 2 * n)
			return 1;
		for (i = 0; i < n; i++)
			s[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
		if (two)
			nv15_pack2(p, s, s + n / 2, n);
		else
			nv15_pack(p, s, n);
		return fwrite(p, 1, nb, stdout) != nb;
	}
	if (fread(p, 1, nb, stdin) != nb)
		return 1;
	if (two)
		nv15_unpack2(t, t + n / 2, p, n);
	else
		nv15_unpack(t, p, n);
	for (i = 0; i < n; i++) {
		raw[2 * i] = (uint8_t)t[i];
		raw[2 * i + 1] = (uint8_t)(t[i] >> 8);
	}
	return fwrite(raw, 1, 2 * n, stdout) != 2 * n;
}
#endif
