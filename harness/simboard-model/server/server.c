// SPDX-License-Identifier: GPL-2.0-only
/*
 * vdpu381-model-server: the host process that decodes the simboard's
 * vdpu381 jobs.
 *
 * It listens on a UNIX stream socket for the QEMU device
 * (harness/simboard-qemu/hw/misc/vdpu381_sim.c, property "model"), maps
 * the guest's RAM (the file of QEMU's memory-backend-file, share=on) and
 * loops: read a struct vdpu381_model_job, run vdpu381_model_run() (the
 * model core, or the stub), write a struct vdpu381_model_answer and its
 * reason text. Protocol and model interface:
 * harness/simboard-model/include/vdpu381_model.h.
 *
 * One connection at a time; when QEMU goes away (power cycle) the server
 * waits for the next one and maps the RAM file again at its first job.
 *
 * usage: vdpu381-model-server --socket PATH --ram FILE [--ram-gpa ADDR]
 *                             [--fill N] [--die-after N]
 *   --ram-gpa   guest-physical address of the RAM file's first byte
 *               (default 0x40000000, QEMU virt's RAM base)
 *   --fill N    test mode: do not run the model; fill the output picture
 *               (NV12 at reg130, sizes from reg018-reg020) with byte N
 *               and answer ready
 *   --die-after N  test mode: exit when job N arrives, without answering
 *
 * Each job is one line on stderr: job number, STA_INT, microseconds, reason;
 * before it, one line per disagreement the model noted for that job
 * (vdpu381_model_set_log()): "job N: model: ...".
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vdpu381_model.h"
#include "fill.h"

#define ANSWER_WHY_MAX 255

/* The protocol is little-endian; so are the hosts the simboard runs on. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "vdpu381-model-server assumes a little-endian host");

struct server {
	const char *socket_path;
	const char *ram_path;
	uint64_t ram_gpa;
	int fill;		/* -1: run the model */
	uint64_t die_after;	/* 0: never */
	struct vdpu381_guest_ram ram;
	struct vdpu381_model *model;
};

static void logf_(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "[%lld.%03ld] ", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + ts.tv_nsec / 1000;
}

/* Reads exactly len bytes; 0 on success, 1 at a clean end, -1 on error. */
static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n == 0)
			return got ? -1 : 1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static void unmap_ram(struct server *s)
{
	if (s->ram.host)
		munmap(s->ram.host, s->ram.size);
	s->ram.host = NULL;
	s->ram.size = 0;
}

/* Maps the guest RAM file (QEMU created it before the guest ran). */
static int map_ram(struct server *s)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(s->ram_path, O_RDWR);
	if (fd < 0) {
		logf_("cannot open the guest RAM file %s: %s", s->ram_path,
		      strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		logf_("guest RAM file %s: empty or unreadable", s->ram_path);
		close(fd);
		return -1;
	}
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		logf_("cannot map %s: %s", s->ram_path, strerror(errno));
		return -1;
	}
	s->ram.host = p;
	s->ram.size = st.st_size;
	s->ram.gpa = s->ram_gpa;
	logf_("guest RAM mapped: %s, %" PRIu64 " MiB at guest-physical 0x%"
	      PRIx64, s->ram_path, s->ram.size >> 20, s->ram.gpa);
	return 0;
}

/*
 * Runs the model on one job, its disagreement notes collected in memory
 * and logged with the job number (a note is one line).
 */
static uint32_t run_model(struct server *s, const struct vdpu381_model_job *job,
			  char *why, size_t why_len)
{
	char *notes = NULL, *line, *save = NULL;
	size_t notes_len = 0;
	FILE *f = open_memstream(&notes, &notes_len);
	uint32_t sta;

	vdpu381_model_set_log(s->model, f);
	sta = vdpu381_model_run(s->model, job->regs, &s->ram, why, why_len);
	vdpu381_model_set_log(s->model, NULL);
	if (f && !fclose(f) && notes) {
		for (line = strtok_r(notes, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			logf_("job %" PRIu64 ": model: %s", job->job, line);
	}
	free(notes);
	return sta;
}

/* Serves one connection until QEMU closes it. */
static void serve(struct server *s, int fd)
{
	struct vdpu381_model_job job;
	struct vdpu381_model_answer ans;
	char why[ANSWER_WHY_MAX + 1];

	for (;;) {
		uint64_t t0;
		uint32_t sta;
		int r = read_full(fd, &job, sizeof(job));

		if (r > 0) {
			logf_("QEMU closed the connection");
			return;
		}
		if (r < 0) {
			logf_("connection lost: %s", strerror(errno));
			return;
		}
		if (job.magic != VDPU381_MODEL_MAGIC ||
		    job.version != VDPU381_MODEL_VERSION) {
			logf_("bad job header (magic 0x%08x version %u): closing",
			      job.magic, job.version);
			return;
		}
		if (s->die_after && job.job >= s->die_after) {
			logf_("job %" PRIu64 ": --die-after %" PRIu64
			      ": exiting without an answer", job.job,
			      s->die_after);
			exit(3);
		}
		why[0] = 0;
		t0 = now_us();
		if (!s->ram.host && map_ram(s)) {
			sta = VDPU381_STA_IRQ | VDPU381_STA_IRQ_RAW |
			      VDPU381_STA_ERROR;
			snprintf(why, sizeof(why),
				 "model server cannot map the guest RAM");
		} else if (s->fill >= 0) {
			sta = vdpu381_fill_output(job.regs, &s->ram,
						  (uint8_t)s->fill, why,
						  sizeof(why));
		} else {
			sta = run_model(s, &job, why, sizeof(why));
		}
		why[sizeof(why) - 1] = 0;
		memset(&ans, 0, sizeof(ans));
		ans.magic = VDPU381_MODEL_MAGIC;
		ans.version = VDPU381_MODEL_VERSION;
		ans.job = job.job;
		ans.sta_int = sta;
		ans.why_len = strlen(why);
		logf_("job %" PRIu64 ": sta_int 0x%08x, %" PRIu64 " us%s%s",
		      job.job, sta, now_us() - t0, why[0] ? ": " : "", why);
		if (write_full(fd, &ans, sizeof(ans)) ||
		    write_full(fd, why, ans.why_len)) {
			logf_("cannot answer job %" PRIu64 ": %s", job.job,
			      strerror(errno));
			return;
		}
	}
}

static int listen_on(const char *path)
{
	struct sockaddr_un a;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		logf_("socket path %s is longer than %zu bytes: choose a shorter state directory",
		      path, sizeof(a.sun_path) - 1);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1) < 0) {
		logf_("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vdpu381-model-server --socket PATH --ram FILE [--ram-gpa ADDR]\n"
		"                            [--fill N] [--die-after N]\n");
}

static int parse_u64(const char *what, const char *v, uint64_t max,
		     uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || !*v || *end || n > max) {
		fprintf(stderr, "vdpu381-model-server: %s \"%s\": expected a number up to %" PRIu64 "\n",
			what, v, max);
		return -1;
	}
	*out = n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "ram", required_argument, NULL, 'r' },
		{ "ram-gpa", required_argument, NULL, 'g' },
		{ "fill", required_argument, NULL, 'f' },
		{ "die-after", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server s = { .ram_gpa = 0x40000000u, .fill = -1 };
	uint64_t v;
	int c, lfd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			s.socket_path = optarg;
			break;
		case 'r':
			s.ram_path = optarg;
			break;
		case 'g':
			if (parse_u64("--ram-gpa", optarg, UINT32_MAX, &s.ram_gpa))
				return 2;
			break;
		case 'f':
			if (parse_u64("--fill", optarg, 255, &v))
				return 2;
			s.fill = (int)v;
			break;
		case 'd':
			if (parse_u64("--die-after", optarg, UINT64_MAX, &s.die_after))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!s.socket_path || !s.ram_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	s.model = vdpu381_model_new();
	if (!s.model) {
		logf_("vdpu381_model_new() failed");
		return 1;
	}
	lfd = listen_on(s.socket_path);
	if (lfd < 0)
		return 1;
	logf_("listening on %s (%s)", s.socket_path,
	      s.fill >= 0 ? "fill test mode" : "model");
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			logf_("accept: %s", strerror(errno));
			return 1;
		}
		logf_("QEMU connected");
		serve(&s, fd);
		close(fd);
		unmap_ram(&s);
	}
}
