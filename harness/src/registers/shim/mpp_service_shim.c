// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * A stand-in for the RK3588 video device layer, loaded with LD_PRELOAD into
 * Rockchip MPP (Apache-2.0; hence the MIT alternative of this file) so that
 * MPP's own decoder runs on a host without the hardware and every job it
 * would give the hardware is recorded.
 *
 * What it emulates (interfaces as MPP's sources use them; no MPP code here):
 * - /dev/mpp_service: open(), access(), and ioctl(MPP_IOC_CFG_V1) with a
 *   chain of requests {cmd, flag, size, offset, data_ptr} ended by the
 *   LAST_MSG flag (osal/inc/mpp_service.h, osal/driver/mpp_service.c):
 *   QUERY_* (capabilities), INIT_CLIENT_TYPE, SET_REG_WRITE/READ,
 *   SET_REG_ADDR_OFFSET, SET_RCB_INFO, SEND_CODEC_INFO, POLL_HW_FINISH,
 *   RESET_SESSION...; /proc/mpp_service/supports-cmd exists.
 * - SoC detection: /proc/device-tree/compatible names an RK3588
 *   (osal/mpp_soc.cpp reads it).
 * - dma-heap: /dev/dma_heap/<heap> and DMA_HEAP_IOCTL_ALLOC
 *   (include/uapi/linux/dma-heap.h) hand out memfd-backed fds, which mmap
 *   like dma-bufs; dma-buf ioctls (type 'b', e.g. DMA_BUF_IOCTL_SYNC) on them
 *   succeed. /dev/ion and /dev/dri/card0 are reported absent.
 *
 * Per job (one POLL after one SEND) it appends one JSON line to
 * $WB_MPP_SHIM_OUT: every register block written (byte offset, size,
 * values), the read-back blocks, the address-register offsets set
 * separately, the RCB info, every address register resolved to a buffer
 * (allocation id, size, SHA-256 of its bytes when the job was sent; for the
 * probability tables also the SHA-256 of their PROB_SIZE bytes from the
 * register's offset) and the status word answered. $WB_MPP_SHIM_DUMP_DIR, when set, receives the bytes
 * of each buffer as <sha256>.bin. The status word read back at POLL is
 * reg224 with dec_rdy_sta (bit 2) set; $WB_MPP_SHIM_FAULT=<job> answers
 * dec_error_sta (bit 4) instead for that job (0-based), to prove failures
 * show. Bit names: MPP mpp/hal/rkdec/inc/vdpu34x_com.h (SWREG224_STA_INT),
 * Linux rkvdec-vdpu381-regs.h (VDPU381_REG_STA_INT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <openssl/evp.h>

/* The request layout and command numbers of the mpp_service uapi. */
struct wb_req {
	uint32_t cmd;
	uint32_t flag;
	uint32_t size;
	uint32_t offset;
	uint64_t data_ptr;
};

#define WB_IOC_CFG_V1		_IOW('v', 1, unsigned int)
#define WB_FLAG_MULTI_MSG	0x1u
#define WB_FLAG_LAST_MSG	0x2u
#define WB_FLAG_REG_OFFSET_ALONE 0x10u

#define CMD_PROBE_HW_SUPPORT	0x000
#define CMD_QUERY_HW_ID		0x001
#define CMD_QUERY_CMD_SUPPORT	0x002
#define CMD_QUERY_BUTT		0x003
#define CMD_INIT_CLIENT_TYPE	0x100
#define CMD_INIT_DRIVER_DATA	0x101
#define CMD_INIT_TRANS_TABLE	0x102
#define CMD_INIT_BUTT		0x103
#define CMD_SET_REG_WRITE	0x200
#define CMD_SET_REG_READ	0x201
#define CMD_SET_REG_ADDR_OFFSET	0x202
#define CMD_SET_RCB_INFO	0x203
#define CMD_SEND_BUTT		0x204	/* SET_SESSION_FD (batch mode) is not offered */
#define CMD_POLL_HW_FINISH	0x300
#define CMD_POLL_HW_IRQ		0x301
#define CMD_POLL_BUTT		0x302
#define CMD_RESET_SESSION	0x400
#define CMD_TRANS_FD_TO_IOVA	0x401
#define CMD_RELEASE_FD		0x402
#define CMD_SEND_CODEC_INFO	0x403
#define CMD_SET_ERR_REF_HACK	0x404
#define CMD_CONTROL_BUTT	0x405

/* Client type of the RK video decoder and the hardware id of vdpu38x (RK3588). */
#define CLIENT_RKVDEC		9
#define HWID_VDPU38X		0x53813f05u

#define REG224_DEC_RDY		(1u << 2)
#define REG224_DEC_ERROR	(1u << 4)
#define STATUS_REG		224

/* Address registers: common addresses 128..159 and codec addresses 160..199. */
#define ADDR_REG_FIRST		128
#define ADDR_REG_LAST		199

struct dma_heap_alloc {
	uint64_t len;
	uint32_t fd;
	uint32_t fd_flags;
	uint64_t heap_flags;
};

#define WB_DMA_HEAP_IOCTL_ALLOC	_IOWR('H', 0x0, struct dma_heap_alloc)

enum fd_kind { FD_NONE = 0, FD_SERVICE, FD_HEAP };

#define MAX_FDS		4096
#define MAX_BLOCKS	32
#define MAX_OFFSETS	128
#define MAX_BUFFERS	65536

struct block {
	uint32_t offset;
	uint32_t size;
	uint32_t *values;	/* WRITE: copy; READ: NULL */
	void *dest;		/* READ: where to answer */
};

struct pair { uint32_t a, b; };

struct job {
	struct block writes[MAX_BLOCKS];
	int n_writes;
	struct block reads[MAX_BLOCKS];
	int n_reads;
	struct pair offsets[MAX_OFFSETS];
	int n_offsets;
	struct pair rcb[MAX_OFFSETS];
	int n_rcb;
	int no_offset_in_reg;	/* REG_OFFSET_ALONE seen: the register holds only the fd */
	char *sent;		/* JSON of the addresses/buffers, made at SEND */
	int pending;
};

struct service {
	int client;
	struct job job;
};

struct buffer {
	dev_t dev;
	ino_t ino;
	uint64_t size;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char fd_kind[MAX_FDS];
static struct service *services[MAX_FDS];
static struct buffer buffers[MAX_BUFFERS];
static int n_buffers;
static long job_count;
static FILE *out;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_access)(const char *, int);
static int (*real_ioctl)(int, unsigned long, ...);

static void resolve(void)
{
	if (real_open)
		return;
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_close = dlsym(RTLD_NEXT, "close");
	real_access = dlsym(RTLD_NEXT, "access");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_open = dlsym(RTLD_NEXT, "open");
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wb-mpp-shim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void warn_unsupported(const char *what, unsigned long v)
{
	fprintf(stderr, "wb-mpp-shim: unsupported %s 0x%lx\n", what, v);
}

static FILE *out_file(void)
{
	const char *p;
	int fd;

	if (out)
		return out;
	p = getenv("WB_MPP_SHIM_OUT");
	if (!p || !*p)
		die("WB_MPP_SHIM_OUT is not set (the JSON Lines file for the records)");
	fd = real_open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot open %s: %s", p, strerror(errno));
	out = fdopen(fd, "a");
	if (!out)
		die("fdopen %s: %s", p, strerror(errno));
	return out;
}

/* ------------------------------------------------------------------ paths */

static const char compatible[] = "rockchip,rk3588-evb1-lp4-v10\0rockchip,rk3588";

/* Path equality that tolerates NULL (the libc prototypes declare paths nonnull). */
static int same(const char *p, const char *s)
{
	return p && !strcmp(p, s);
}

static int is_service_path(const char *p)
{
	return same(p, "/dev/mpp_service");
}

static int heap_path(const char *p)
{
	return p && !strncmp(p, "/dev/dma_heap/", 14) && p[14];
}

static int absent_path(const char *p)
{
	static const char *const absent[] = {
		"/dev/mpp-service", "/dev/ion", "/dev/dri/card0", "/dev/rga", "/dev/iep",
		"/dev/vpu_service", "/dev/vpu-service", NULL,
	};
	int i;

	for (i = 0; p && absent[i]; i++)
		if (!strcmp(p, absent[i]))
			return 1;
	return 0;
}

static int mark(int fd, enum fd_kind kind)
{
	if (fd < 0)
		return fd;
	if (fd >= MAX_FDS)
		die("fd %d beyond the shim's table", fd);
	pthread_mutex_lock(&lock);
	fd_kind[fd] = kind;
	if (kind == FD_SERVICE) {
		services[fd] = calloc(1, sizeof(struct service));
		if (!services[fd])
			die("out of memory");
		services[fd]->client = -1;
	}
	pthread_mutex_unlock(&lock);
	return fd;
}

static int fake_open(const char *path, int flags, int *handled)
{
	*handled = 1;
	if (is_service_path(path))
		return mark(real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC)), FD_SERVICE);
	if (heap_path(path))
		return mark(real_open("/dev/null", O_RDONLY | (flags & O_CLOEXEC)), FD_HEAP);
	if (same(path, "/proc/device-tree/compatible")) {
		int fd = memfd_create("wb-compatible", MFD_CLOEXEC);

		if (fd < 0 || write(fd, compatible, sizeof(compatible)) != (ssize_t)sizeof(compatible))
			die("memfd for the compatible string: %s", strerror(errno));
		lseek(fd, 0, SEEK_SET);
		return fd;
	}
	if (absent_path(path)) {
		errno = ENOENT;
		return -1;
	}
	*handled = 0;
	return -1;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	int handled, fd;

	resolve();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	fd = fake_open(path, flags, &handled);
	return handled ? fd : real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	int handled, fd;

	resolve();
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	/* Only absolute names match the emulated paths. */
	fd = fake_open(path, flags, &handled);
	if (handled)
		return fd;
	return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int access(const char *path, int amode)
{
	resolve();
	if (is_service_path(path) || same(path, "/dev/dma_heap") || same(path, "/proc/mpp_service/supports-cmd"))
		return 0;
	if (absent_path(path) || same(path, "/proc/mpp_service/support_cmd")) {
		errno = ENOENT;
		return -1;
	}
	return real_access(path, amode);
}

int close(int fd)
{
	resolve();
	if (fd >= 0 && fd < MAX_FDS && fd_kind[fd]) {
		pthread_mutex_lock(&lock);
		if (services[fd]) {
			free(services[fd]->job.sent);
			free(services[fd]);
			services[fd] = NULL;
		}
		fd_kind[fd] = FD_NONE;
		pthread_mutex_unlock(&lock);
	}
	return real_close(fd);
}

/* ---------------------------------------------------------------- buffers */

/* The allocation id of a buffer fd (memfd handed out by the heap), or -1. */
static int buffer_id(int fd)
{
	struct stat st;
	int i;

	if (fd <= 0 || fstat(fd, &st))
		return -1;
	for (i = 0; i < n_buffers; i++)
		if (buffers[i].ino == st.st_ino && buffers[i].dev == st.st_dev)
			return i;
	return -1;
}

static int heap_alloc(struct dma_heap_alloc *a)
{
	struct stat st;
	int fd;

	fd = memfd_create("wb-dmabuf", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)a->len) || fstat(fd, &st)) {
		int e = errno;

		real_close(fd);
		errno = e;
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (n_buffers == MAX_BUFFERS)
		die("more than %d buffers allocated", MAX_BUFFERS);
	buffers[n_buffers].dev = st.st_dev;
	buffers[n_buffers].ino = st.st_ino;
	buffers[n_buffers].size = a->len;
	n_buffers++;
	pthread_mutex_unlock(&lock);
	a->fd = (uint32_t)fd;
	return 0;
}

static void hash_buffer(int fd, uint64_t size, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	void *p = MAP_FAILED;
	const char *dump;
	int i;

	if (size)
		p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (size && p == MAP_FAILED)
		die("mmap of buffer fd %d (%" PRIu64 " bytes): %s", fd, size, strerror(errno));
	if (!EVP_Digest(size ? p : "", size, md, &len, EVP_sha256(), NULL))
		die("EVP_Digest failed");
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
	dump = getenv("WB_MPP_SHIM_DUMP_DIR");
	if (dump && *dump) {
		char path[4096];
		int dfd;

		snprintf(path, sizeof(path), "%s/%s.bin", dump, hex);
		dfd = real_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (dfd >= 0) {
			const char *c = p;
			uint64_t done = 0;

			while (done < size) {
				ssize_t n = write(dfd, c + done, size - done);

				if (n <= 0)
					die("write %s: %s", path, strerror(errno));
				done += (uint64_t)n;
			}
			real_close(dfd);
		} else if (errno != EEXIST) {
			die("cannot create %s: %s", path, strerror(errno));
		}
	}
	if (size)
		munmap(p, size);
}

/* ------------------------------------------------------------------- jobs */

static void job_reset(struct job *j)
{
	int i;

	for (i = 0; i < j->n_writes; i++)
		free(j->writes[i].values);
	free(j->sent);
	memset(j, 0, sizeof(*j));
}

static uint32_t reg_offset_of(const struct job *j, uint32_t reg)
{
	int i;

	for (i = 0; i < j->n_offsets; i++)
		if (j->offsets[i].a == reg)
			return j->offsets[i].b;
	return 0;
}

/*
 * Probability tables the Linux simboard model hashes at the same register
 * (harness/simboard-qemu/hw/misc/vdpu381_sim.c vdpu381_buffers[]): reg160
 * delta probabilities and reg162 last/default probabilities, PROB_SIZE
 * bytes each (MPP mpp/hal/rkdec/vp9d/hal_vp9d_com.h). Their bytes from the
 * register's offset are hashed on their own, so the two sides compare.
 */
#define PROB_SIZE		4864

static uint32_t region_len(uint32_t reg)
{
	return (reg == 160 || reg == 162) ? PROB_SIZE : 0;
}

/* SHA-256 of len bytes at off of a buffer of size bytes; 0 if out of range. */
static int hash_region(int fd, uint64_t size, uint64_t off, uint32_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	void *p;
	int i;

	if (!len || off + len > size)
		return 0;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap of buffer fd %d (%" PRIu64 " bytes): %s", fd, size, strerror(errno));
	if (!EVP_Digest((const char *)p + off, len, md, &mdlen, EVP_sha256(), NULL))
		die("EVP_Digest failed");
	munmap(p, size);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
	return 1;
}

/* At SEND: resolve the address registers to buffers and hash those buffers. */
static void job_sent(struct job *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int seen[256], n_seen = 0, first = 1, i, k, w;

	if (!m)
		die("open_memstream");
	fputs("\"addresses\":[", m);
	for (i = 0; i < j->n_writes; i++) {
		const struct block *b = &j->writes[i];

		for (w = 0; w < (int)(b->size / 4); w++) {
			uint32_t reg = b->offset / 4 + (uint32_t)w, v = b->values[w];
			int fd, id;

			if (reg < ADDR_REG_FIRST || reg > ADDR_REG_LAST || !v)
				continue;
			fd = j->no_offset_in_reg ? (int)v : (int)(v & 0x3ff);
			id = (v < 0x7fffffffu) ? buffer_id(fd) : -1;
			fprintf(m, "%s{\"reg\":%u,\"value\":%u,", first ? "" : ",", reg, v);
			first = 0;
			if (id < 0) {
				fputs("\"buffer\":null}", m);
				continue;
			}
			{
				uint32_t off = (j->no_offset_in_reg ? 0 : v >> 10) + reg_offset_of(j, reg);
				char rhex[65];

				fprintf(m, "\"buffer\":%d,\"offset\":%u", id, off);
				if (hash_region(fd, buffers[id].size, off, region_len(reg), rhex))
					fprintf(m, ",\"len\":%u,\"sha256\":\"%s\"", region_len(reg), rhex);
				fputc('}', m);
			}
			for (k = 0; k < n_seen && seen[k] != id; k++)
				;
			if (k == n_seen && n_seen < 256)
				seen[n_seen++] = id;
		}
	}
	fputs("],\"buffers\":[", m);
	for (k = 0; k < n_seen; k++) {
		int id = seen[k], fd = -1;
		char hex[65];

		/* Find an fd of the buffer among the register values. */
		for (i = 0; i < j->n_writes && fd < 0; i++)
			for (w = 0; w < (int)(j->writes[i].size / 4) && fd < 0; w++) {
				uint32_t v = j->writes[i].values[w];
				int c = j->no_offset_in_reg ? (int)v : (int)(v & 0x3ff);

				if (v && v < 0x7fffffffu && buffer_id(c) == id)
					fd = c;
			}
		hash_buffer(fd, buffers[id].size, hex);
		fprintf(m, "%s{\"id\":%d,\"size\":%" PRIu64 ",\"sha256\":\"%s\"}", k ? "," : "", id, buffers[id].size, hex);
	}
	fputc(']', m);
	fclose(m);
	j->sent = buf;
	j->pending = 1;
}

static void put_blocks(FILE *f, const char *name, const struct block *b, int n, int values)
{
	int i, w;

	fprintf(f, "\"%s\":[", name);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s{\"offset\":%u,\"size\":%u", i ? "," : "", b[i].offset, b[i].size);
		if (values) {
			fputs(",\"values\":[", f);
			for (w = 0; w < (int)(b[i].size / 4); w++)
				fprintf(f, "%s%u", w ? "," : "", b[i].values[w]);
			fputc(']', f);
		}
		fputc('}', f);
	}
	fputs("],", f);
}

static void put_pairs(FILE *f, const char *name, const char *a, const char *b, const struct pair *p, int n)
{
	int i;

	fprintf(f, "\"%s\":[", name);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{\"%s\":%u,\"%s\":%u}", i ? "," : "", a, p[i].a, b, p[i].b);
	fputs("],", f);
}

/* At POLL: answer the read-back blocks and write the job's record. */
static void job_done(struct service *s)
{
	struct job *j = &s->job;
	const char *fault = getenv("WB_MPP_SHIM_FAULT");
	int faulted = fault && *fault && strtol(fault, NULL, 10) == job_count;
	uint32_t status = faulted ? REG224_DEC_ERROR : REG224_DEC_RDY;
	FILE *f = out_file();
	int i, w;

	for (i = 0; i < j->n_reads; i++) {
		uint32_t *d = j->reads[i].dest;

		for (w = 0; w < (int)(j->reads[i].size / 4); w++)
			d[w] = (j->reads[i].offset / 4 + (uint32_t)w == STATUS_REG) ? status : 0;
	}
	fprintf(f, "{\"job\":%ld,\"client\":%d,\"status\":%u,\"fault\":%s,\"regOffsetAlone\":%s,", job_count, s->client, status,
		faulted ? "true" : "false", j->no_offset_in_reg ? "true" : "false");
	put_blocks(f, "writes", j->writes, j->n_writes, 1);
	put_blocks(f, "reads", j->reads, j->n_reads, 0);
	put_pairs(f, "regOffsets", "reg", "offset", j->offsets, j->n_offsets);
	put_pairs(f, "rcbInfo", "reg", "size", j->rcb, j->n_rcb);
	fprintf(f, "%s}\n", j->sent ? j->sent : "\"addresses\":[],\"buffers\":[]");
	fflush(f);
	job_count++;
	job_reset(j);
}

static int fail(int e)
{
	errno = e;
	return -1;
}

static int service_req(struct service *s, const struct wb_req *r)
{
	void *data = (void *)(uintptr_t)r->data_ptr;
	struct job *j = &s->job;
	uint32_t *u = data;

	if (r->flag & WB_FLAG_REG_OFFSET_ALONE)
		j->no_offset_in_reg = 1;
	switch (r->cmd) {
	case CMD_PROBE_HW_SUPPORT:
		*u = 1u << CLIENT_RKVDEC;
		return 0;
	case CMD_QUERY_HW_ID:
		*u = s->client == CLIENT_RKVDEC ? HWID_VDPU38X : 0;
		return 0;
	case CMD_QUERY_CMD_SUPPORT:
		switch (*u) {
		case 0x000: *u = CMD_QUERY_BUTT; return 0;
		case 0x100: *u = CMD_INIT_BUTT; return 0;
		case 0x200: *u = CMD_SEND_BUTT; return 0;
		case 0x300: *u = CMD_POLL_BUTT; return 0;
		case 0x400: *u = CMD_CONTROL_BUTT; return 0;
		}
		return fail(EINVAL);
	case CMD_INIT_CLIENT_TYPE:
		s->client = (int)*u;
		return 0;
	case CMD_INIT_DRIVER_DATA:
	case CMD_INIT_TRANS_TABLE:
	case CMD_RESET_SESSION:
	case CMD_RELEASE_FD:
	case CMD_SEND_CODEC_INFO:
	case CMD_SET_ERR_REF_HACK:
		return 0;
	case CMD_SET_REG_WRITE:
		if (j->pending)
			die("register write after SEND without POLL (job %ld)", job_count);
		if (j->n_writes == MAX_BLOCKS || r->size % 4 || r->offset % 4)
			return fail(EINVAL);
		j->writes[j->n_writes].offset = r->offset;
		j->writes[j->n_writes].size = r->size;
		j->writes[j->n_writes].values = malloc(r->size ? r->size : 1);
		if (!j->writes[j->n_writes].values)
			die("out of memory");
		memcpy(j->writes[j->n_writes].values, data, r->size);
		j->n_writes++;
		return 0;
	case CMD_SET_REG_READ:
		if (j->n_reads == MAX_BLOCKS || r->size % 4 || r->offset % 4)
			return fail(EINVAL);
		j->reads[j->n_reads].offset = r->offset;
		j->reads[j->n_reads].size = r->size;
		j->reads[j->n_reads].dest = data;
		j->n_reads++;
		return 0;
	case CMD_SET_REG_ADDR_OFFSET:
	case CMD_SET_RCB_INFO: {
		const struct pair *p = data;
		struct pair *dst = r->cmd == CMD_SET_RCB_INFO ? j->rcb : j->offsets;
		int *n = r->cmd == CMD_SET_RCB_INFO ? &j->n_rcb : &j->n_offsets;
		uint32_t i;

		for (i = 0; i < r->size / sizeof(*p); i++) {
			if (*n == MAX_OFFSETS)
				return fail(EINVAL);
			dst[(*n)++] = p[i];
		}
		return 0;
	}
	case CMD_POLL_HW_FINISH:
	case CMD_POLL_HW_IRQ:
		if (!j->pending)
			return fail(EINVAL);
		job_done(s);
		return 0;
	default:
		warn_unsupported("mpp_service command", r->cmd);
		return fail(EINVAL);
	}
}

static int service_ioctl(int fd, unsigned long req, void *arg)
{
	struct service *s = services[fd];
	const struct wb_req *r = arg;
	int sends = 0, ret = 0, i;

	if (req != WB_IOC_CFG_V1) {
		warn_unsupported("mpp_service ioctl", req);
		return fail(ENOTTY);
	}
	pthread_mutex_lock(&lock);
	for (i = 0;; i++) {
		if (r[i].cmd >= CMD_SET_REG_WRITE && r[i].cmd < CMD_POLL_HW_FINISH)
			sends = 1;
		ret = service_req(s, &r[i]);
		if (ret || (r[i].flag & WB_FLAG_LAST_MSG) || !(r[i].flag & WB_FLAG_MULTI_MSG))
			break;
	}
	if (!ret && sends && s->job.n_writes && (r[i].flag & WB_FLAG_LAST_MSG))
		job_sent(&s->job);
	pthread_mutex_unlock(&lock);
	return ret;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	resolve();
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd < MAX_FDS && fd_kind[fd] == FD_SERVICE)
		return service_ioctl(fd, req, arg);
	if (fd >= 0 && fd < MAX_FDS && fd_kind[fd] == FD_HEAP) {
		if (req != WB_DMA_HEAP_IOCTL_ALLOC) {
			warn_unsupported("dma-heap ioctl", req);
			return fail(ENOTTY);
		}
		return heap_alloc(arg);
	}
	if (_IOC_TYPE(req) == 'b') {
		int id;

		pthread_mutex_lock(&lock);
		id = buffer_id(fd);
		pthread_mutex_unlock(&lock);
		if (id >= 0)
			return 0;	/* dma-buf cache sync: memfds are coherent */
	}
	return real_ioctl(fd, req, arg);
}

/* -------------------------------------------------------------- syslog */

void openlog(const char *ident, int option, int facility)
{
	(void)ident;
	(void)option;
	(void)facility;
}

void closelog(void)
{
}

void vsyslog(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n;

	(void)prio;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	fprintf(stderr, "%s%s", line, n && line[n - 1] == '\n' ? "" : "\n");
}

void syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(prio, fmt, ap);
}

void __syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}
