/*
 * vdpu381-sim: a register-level stand-in for the Rockchip RK3588 video
 * decoder (vdpu381) for the vp9-workbench "simboard".
 *
 * It decodes nothing. It keeps the three register windows the mainline
 * rkvdec driver maps ("link", "function", "cache"; offsets relative to each
 * window), records every MMIO access in order, and on a decode start
 * (DEC_E: bit 0 of function + 0x028) takes a snapshot of all function
 * registers. After a configurable delay it sets the interrupt status word
 * (STA_INT, function + 0x380) and raises its interrupt line; the line drops
 * when the driver writes 0 to STA_INT. Each job (DEC_E up to the status
 * write-back, up to the next DEC_E, or up to a write of true to the QOM
 * property "flush") becomes one JSON line in the capture
 * file given by the "capture" property, with the SHA-256 of the input
 * buffers the address registers point at (the bytes too on request); the
 * bytes of every input buffer are kept once per content in the folder
 * <capture>.bytes (<sha256>.bin), for the host to keep those whose hash
 * differs from what it expected.
 *
 * Faults are chosen through the file given by the "control" property, read
 * again at every DEC_E when it has changed. Its lines:
 *   <job> <mode>        job = 1-based count of DEC_E since the file changed,
 *   * <mode>            or '*' for every other job;
 *   buffers full        also write the input buffers' bytes (base64);
 *   late-irq-ms <n>     delay of the late-irq mode (default 3000);
 *   long-delay-ms <n>   delay of the long-delay mode (default 1000).
 * Modes: ready (default), bus-error, error, timeout, buf-empty,
 * colmv-ref-error, softreset-ready, raw-without-ready (BIT(1) without
 * BIT(2)), no-irq, late-irq (ready, after late-irq-ms: past the driver's
 * watchdog), double-irq (ready, raised again 100 us after the first
 * acknowledgement), long-delay (ready, after long-delay-ms), irq-storm
 * (ready, then the interrupt never clears: STA_INT keeps dec_rdy and the
 * line stays high whatever the driver writes, until the device is reset,
 * i.e. a stuck level interrupt).
 *
 * Decoding model: when the chardev property "model" is set (a socket to
 * the model process, harness/simboard-model/server/), each job whose mode
 * is "ready" is sent to it at DEC_E (struct vdpu381_model_job: the function
 * block as the driver left it) and the device waits, in the main loop, for
 * its answer (struct vdpu381_model_answer); STA_INT then takes the answer's
 * word and the interrupt is raised, not before irq-delay-us after DEC_E.
 * The model reads and writes guest RAM itself (memory-backend-file,
 * share=on). A job a fault rule gives another mode is not sent: the fault's
 * answer stands and guest memory is left as it is. A model that
 * disconnected, or did not answer within model-timeout-ms (host time),
 * gives STA_INT = irq | irq_raw | error with the reason in the record. Each
 * record then has a "model" object (state, sta_int, why, host_us); without
 * a model there is none.
 *
 * Register facts: Linux drivers/media/platform/rockchip/rkvdec/
 * rkvdec-vdpu381-regs.h (VDPU381_REG_DEC_E = 0x028, VDPU381_REG_STA_INT =
 * 0x380) and Rockchip MPP's vdpu34x_com.h (reg224 bit map: 0 irq, 1 irq_raw,
 * 2 dec_rdy, 3 bus_err, 4 error, 5 timeout, 6 buf_empty, 7 colmv_ref_err,
 * 8 cabu_end, 9 softreset_rdy).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/sysbus.h"
#include "hw/irq.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "chardev/char-fe.h"
#include "system/address-spaces.h"
#include "qom/object.h"

#define TYPE_VDPU381_SIM "vdpu381-sim"
OBJECT_DECLARE_SIMPLE_TYPE(Vdpu381SimState, VDPU381_SIM)

/* One MMIO window holds the three register blocks at fixed offsets. */
#define VDPU381_LINK_BASE       0x000
#define VDPU381_LINK_SIZE       0x100
#define VDPU381_FUNC_BASE       0x100
#define VDPU381_FUNC_SIZE       0x500
#define VDPU381_CACHE_BASE      0x600
#define VDPU381_CACHE_SIZE      0x100
#define VDPU381_WINDOW_SIZE     0x800

/* Offsets inside the function block. */
#define VDPU381_REG_DEC_E       0x028
#define VDPU381_REG_STA_INT     0x380

/* STA_INT bits (MPP vdpu34x_com.h, reg224). */
#define STA_IRQ                 (1u << 0)
#define STA_IRQ_RAW             (1u << 1)
#define STA_DEC_RDY             (1u << 2)
#define STA_BUS_ERR             (1u << 3)
#define STA_ERROR               (1u << 4)
#define STA_TIMEOUT             (1u << 5)
#define STA_BUF_EMPTY           (1u << 6)
#define STA_COLMV_REF_ERR       (1u << 7)
#define STA_SOFTRESET_RDY       (1u << 9)
#define STA_READY               (STA_IRQ | STA_IRQ_RAW | STA_DEC_RDY)

/*
 * What the model answers to one job. The status words follow MPP's
 * vdpu34x_com.h reg224 bit map; the timing modes answer "ready".
 */
typedef enum Vdpu381Mode {
    MODE_READY,
    MODE_BUS_ERROR,
    MODE_ERROR,
    MODE_TIMEOUT,
    MODE_BUF_EMPTY,
    MODE_COLMV_REF_ERROR,
    MODE_SOFTRESET_READY,
    MODE_RAW_WITHOUT_READY,
    MODE_NO_IRQ,
    MODE_LATE_IRQ,
    MODE_DOUBLE_IRQ,
    MODE_LONG_DELAY,
    MODE_IRQ_STORM,
    MODE_COUNT,
} Vdpu381Mode;

static const struct {
    const char *name;
    uint32_t status;
} vdpu381_modes[MODE_COUNT] = {
    [MODE_READY] = { "ready", STA_READY },
    [MODE_BUS_ERROR] = { "bus-error", STA_IRQ | STA_IRQ_RAW | STA_BUS_ERR },
    [MODE_ERROR] = { "error", STA_IRQ | STA_IRQ_RAW | STA_ERROR },
    [MODE_TIMEOUT] = { "timeout", STA_IRQ | STA_IRQ_RAW | STA_TIMEOUT },
    [MODE_BUF_EMPTY] = { "buf-empty", STA_IRQ | STA_IRQ_RAW | STA_BUF_EMPTY },
    [MODE_COLMV_REF_ERROR] = { "colmv-ref-error",
                               STA_IRQ | STA_IRQ_RAW | STA_COLMV_REF_ERR },
    [MODE_SOFTRESET_READY] = { "softreset-ready",
                               STA_IRQ | STA_IRQ_RAW | STA_SOFTRESET_RDY },
    [MODE_RAW_WITHOUT_READY] = { "raw-without-ready", STA_IRQ | STA_IRQ_RAW },
    [MODE_NO_IRQ] = { "no-irq", 0 },
    [MODE_LATE_IRQ] = { "late-irq", STA_READY },
    [MODE_DOUBLE_IRQ] = { "double-irq", STA_READY },
    [MODE_LONG_DELAY] = { "long-delay", STA_READY },
    [MODE_IRQ_STORM] = { "irq-storm", STA_READY },
};

/*
 * The model socket protocol. Must match
 * harness/simboard-model/include/vdpu381_model.h (a unit test of the
 * harness compares the constants): device -> model 8 + 8 + 0x500 bytes,
 * model -> device 24 bytes then why_len (< 256) bytes of reason text; all
 * little-endian.
 */
#define VDPU381_MODEL_MAGIC     0x31385056u     /* "VP81" */
#define VDPU381_MODEL_VERSION   1u
#define VDPU381_MODEL_NREGS     320
#define VDPU381_MODEL_JOB_SIZE  (16 + 4 * VDPU381_MODEL_NREGS)
#define VDPU381_MODEL_ANS_SIZE  24
#define VDPU381_MODEL_WHY_MAX   256

/* What the model did with the open job (its record's "model" object). */
typedef enum Vdpu381ModelState {
    MODEL_NONE,         /* no model attached: no "model" object */
    MODEL_SKIPPED,      /* a fault rule named the job */
    MODEL_PENDING,      /* sent, no answer yet */
    MODEL_ANSWERED,
    MODEL_FAILED,       /* disconnected, timed out or bad answer */
} Vdpu381ModelState;

static const char *const vdpu381_model_states[] = {
    [MODEL_NONE] = "none",
    [MODEL_SKIPPED] = "skipped",
    [MODEL_PENDING] = "pending",
    [MODEL_ANSWERED] = "answered",
    [MODEL_FAILED] = "failed",
};

#define VDPU381_MAX_RULES       64

typedef struct Vdpu381Rule {
    int64_t job;        /* 1-based, relative to the control file; -1 = '*' */
    Vdpu381Mode mode;
} Vdpu381Rule;

/*
 * Input buffers hashed at DEC_E: register index (function block) and size
 * in bytes. The stream's size is its length register (reg016, rkvdec
 * rkvdec-vdpu381-regs.h reg016_stream_len); the others are the sizes
 * Rockchip MPP allocates for VP9 on vdpu34x (hal_vp9d_vdpu34x.c: probability
 * tables 4864 bytes, counts 13208 bytes, segment-id maps 73728 bytes).
 * Address registers: rkvdec-vdpu381-regs.h (reg128 rlc_base) and MPP
 * vdpu34x_vp9d.h (reg160 delta probs, reg162 last probs, reg167 counts,
 * reg168/169 segment ids).
 */
#define VDPU381_REG_STREAM_LEN  16
#define VDPU381_MAX_BUFFER      (8 * 1024 * 1024)

static const struct {
    const char *name;
    uint16_t reg;
    uint32_t size;      /* 0: from VDPU381_REG_STREAM_LEN */
} vdpu381_buffers[] = {
    { "stream", 128, 0 },
    { "delta_prob", 160, 4864 },
    { "last_prob", 162, 4864 },
    { "count", 167, 13208 },
    { "segid_last", 168, 73728 },
    { "segid_cur", 169, 73728 },
};

/* Bound on the accesses kept per job (a job writes ~200 registers). */
#define VDPU381_MAX_ACCESSES    4096

typedef struct Vdpu381Access {
    int64_t t_ns;       /* QEMU_CLOCK_VIRTUAL */
    uint32_t value;
    uint16_t offset;    /* within the window */
    bool write;
} Vdpu381Access;

struct Vdpu381SimState {
    SysBusDevice parent_obj;

    MemoryRegion iomem;
    qemu_irq irq;
    QEMUTimer *done_timer;
    QEMUTimer *late_timer;
    QEMUTimer *again_timer;

    uint32_t link[VDPU381_LINK_SIZE / 4];
    uint32_t func[VDPU381_FUNC_SIZE / 4];
    uint32_t cache[VDPU381_CACHE_SIZE / 4];

    /* The job being recorded (job_open) and its snapshot at DEC_E. */
    bool job_open;
    uint64_t job;
    uint32_t snap[VDPU381_FUNC_SIZE / 4];
    int64_t t_start_ns;
    /* Host time the model spent on the open job's capture (snapshot, hashes, record), ns. */
    int64_t host_ns;
    int64_t t_irq_ns;
    int64_t t_ack_ns;
    uint32_t status_set;
    Vdpu381Access *acc;
    uint32_t n_acc;
    uint32_t dropped;
    /* Index in acc of the open job's DEC_E write. */
    uint32_t dec_e_idx;
    bool irq_level;

    int capture_fd;

    /* Fault control (see the file comment). */
    Vdpu381Rule rules[VDPU381_MAX_RULES];
    uint32_t n_rules;
    bool full_buffers;
    uint32_t late_irq_ms;
    uint32_t long_delay_ms;
    bool control_seen;
    struct stat control_st;
    int64_t rel_job;
    /* The open job's mode, interrupts raised, and whether it waits for a second one. */
    Vdpu381Mode mode;
    uint32_t irqs;
    bool again_pending;
    bool storm;         /* irq-storm answered: the interrupt never clears */
    /* Job whose late interrupt is still to come (0: none), and stray interrupts seen in the open job. */
    uint64_t late_job;
    uint32_t stray_irqs;
    GString *buffers;

    /* Decoding model (see the file comment). */
    CharFrontend model;
    bool model_up;              /* the socket is open */
    uint64_t model_job;         /* job whose answer is awaited, 0: none */
    int64_t model_sent_ns;      /* QEMU_CLOCK_REALTIME */
    QEMUTimer *model_timer;     /* QEMU_CLOCK_REALTIME bound on the answer */
    uint8_t model_rx[VDPU381_MODEL_ANS_SIZE + VDPU381_MODEL_WHY_MAX];
    uint32_t model_rx_len;
    uint64_t model_lost_job;    /* job at which the socket closed */
    /* The open job's outcome. */
    Vdpu381ModelState job_model;
    uint32_t job_model_sta;
    int64_t job_model_us;
    char job_model_why[VDPU381_MODEL_WHY_MAX];

    /* <capture>.bytes: input buffers' bytes by SHA-256 (see vdpu381_spool). */
    char *spool;

    /* Properties. */
    char *capture;
    char *control;
    uint32_t irq_delay_us;
    uint32_t done_status;
    uint32_t model_timeout_ms;
};

static const char *vdpu381_block(uint16_t off, uint16_t *rel)
{
    if (off < VDPU381_FUNC_BASE) {
        *rel = off - VDPU381_LINK_BASE;
        return "link";
    }
    if (off < VDPU381_CACHE_BASE) {
        *rel = off - VDPU381_FUNC_BASE;
        return "function";
    }
    *rel = off - VDPU381_CACHE_BASE;
    return "cache";
}

static uint32_t *vdpu381_reg(Vdpu381SimState *s, hwaddr off)
{
    if (off >= VDPU381_CACHE_BASE &&
        off < VDPU381_CACHE_BASE + VDPU381_CACHE_SIZE) {
        return &s->cache[(off - VDPU381_CACHE_BASE) / 4];
    }
    if (off >= VDPU381_FUNC_BASE &&
        off < VDPU381_FUNC_BASE + VDPU381_FUNC_SIZE) {
        return &s->func[(off - VDPU381_FUNC_BASE) / 4];
    }
    if (off < VDPU381_LINK_BASE + VDPU381_LINK_SIZE) {
        return &s->link[(off - VDPU381_LINK_BASE) / 4];
    }
    return NULL;
}

static void vdpu381_log_access(Vdpu381SimState *s, hwaddr off, uint32_t v,
                               bool write)
{
    /*
     * The log runs from the end of the previous job to the end of this
     * one, so it holds the register setup before DEC_E as well.
     */
    if (s->n_acc >= VDPU381_MAX_ACCESSES) {
        s->dropped++;
        return;
    }
    s->acc[s->n_acc].t_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->acc[s->n_acc].value = v;
    s->acc[s->n_acc].offset = off;
    s->acc[s->n_acc].write = write;
    s->n_acc++;
}

static void vdpu381_set_irq(Vdpu381SimState *s, bool level)
{
    s->irq_level = level;
    qemu_set_irq(s->irq, level);
}


static bool vdpu381_parse_mode(const char *name, Vdpu381Mode *mode)
{
    int i;

    for (i = 0; i < MODE_COUNT; i++) {
        if (!strcmp(name, vdpu381_modes[i].name)) {
            *mode = i;
            return true;
        }
    }
    return false;
}

/*
 * Reads the control file again when it changed since the last DEC_E (or
 * appeared, or went away); job numbers then count from 1 again. A line it
 * cannot read is reported with its number and ignored.
 */
static void vdpu381_reload_control(Vdpu381SimState *s)
{
    struct stat st;
    bool present;
    gchar *text = NULL;
    gchar **lines;
    int i;

    if (!s->control || !s->control[0]) {
        return;
    }
    present = stat(s->control, &st) == 0;
    if (present == s->control_seen &&
        (!present || (st.st_ino == s->control_st.st_ino &&
                      st.st_size == s->control_st.st_size &&
                      st.st_mtim.tv_sec == s->control_st.st_mtim.tv_sec &&
                      st.st_mtim.tv_nsec == s->control_st.st_mtim.tv_nsec))) {
        return;
    }
    s->control_seen = present;
    if (present) {
        s->control_st = st;
    }
    s->n_rules = 0;
    s->full_buffers = false;
    s->late_irq_ms = 3000;
    s->long_delay_ms = 1000;
    s->rel_job = 0;
    if (!present || !g_file_get_contents(s->control, &text, NULL, NULL)) {
        return;
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        gchar **w;
        Vdpu381Mode mode;
        char *end;
        unsigned long long n;

        g_strstrip(lines[i]);
        if (!lines[i][0] || lines[i][0] == '#') {
            continue;
        }
        w = g_strsplit_set(lines[i], " \t", 3);
        if (!w[0] || !w[1] || w[2]) {
            goto bad;
        }
        if (!strcmp(w[0], "buffers") && !strcmp(w[1], "full")) {
            s->full_buffers = true;
        } else if (!strcmp(w[0], "late-irq-ms") ||
                   !strcmp(w[0], "long-delay-ms")) {
            n = strtoull(w[1], &end, 10);
            if (*end || !w[1][0] || n > 600000) {
                goto bad;
            }
            if (w[0][1] == 'a') {
                s->late_irq_ms = n;
            } else {
                s->long_delay_ms = n;
            }
        } else if (vdpu381_parse_mode(w[1], &mode) &&
                   s->n_rules < VDPU381_MAX_RULES) {
            if (!strcmp(w[0], "*")) {
                s->rules[s->n_rules].job = -1;
            } else {
                n = strtoull(w[0], &end, 10);
                if (*end || !w[0][0] || n == 0) {
                    goto bad;
                }
                s->rules[s->n_rules].job = n;
            }
            s->rules[s->n_rules++].mode = mode;
        } else {
            goto bad;
        }
        g_strfreev(w);
        continue;
bad:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "vdpu381-sim: %s:%d: cannot read \"%s\" (ignored)\n",
                      s->control, i + 1, lines[i]);
        g_strfreev(w);
    }
    g_strfreev(lines);
    g_free(text);
}

/* The mode of relative job n: its own rule, else the '*' rule, else ready. */
static Vdpu381Mode vdpu381_mode_for(Vdpu381SimState *s, int64_t n)
{
    Vdpu381Mode any = MODE_READY;
    uint32_t i;

    for (i = 0; i < s->n_rules; i++) {
        if (s->rules[i].job == n) {
            return s->rules[i].mode;
        }
        if (s->rules[i].job < 0) {
            any = s->rules[i].mode;
        }
    }
    return any;
}

/*
 * Hashes (and, with "buffers full", copies) the input buffers the address
 * registers point at, as they are in guest memory at DEC_E. Without an
 * IOMMU the addresses are guest-physical.
 */
/*
 * Keeps the bytes of an input buffer in the spool folder, once per content
 * (<capture>.bytes/<sha256>.bin, written to a temporary name and renamed by
 * g_file_set_contents), so the host can keep the bytes of a buffer whose
 * hash turns out to differ from MPP's without every record carrying them
 * (the registers check copies those and empties the folder before each
 * vector).
 */
static void vdpu381_spool(Vdpu381SimState *s, const char *sum,
                          const uint8_t *data, uint32_t len)
{
    g_autofree gchar *path = NULL;

    if (!s->spool) {
        return;
    }
    path = g_strdup_printf("%s/%s.bin", s->spool, sum);
    if (access(path, F_OK) == 0) {
        return;
    }
    if (!g_file_set_contents(path, (const gchar *)data, len, NULL)) {
        qemu_log_mask(LOG_UNIMP, "vdpu381-sim: spool write of %s failed\n",
                      path);
    }
}

static void vdpu381_capture_buffers(Vdpu381SimState *s)
{
    size_t i;

    g_string_truncate(s->buffers, 0);
    for (i = 0; i < ARRAY_SIZE(vdpu381_buffers); i++) {
        uint32_t addr = s->func[vdpu381_buffers[i].reg];
        uint32_t len = vdpu381_buffers[i].size;
        g_autofree uint8_t *data = NULL;
        g_autofree gchar *sum = NULL;
        MemTxResult r;

        if (!len) {
            len = MIN(s->func[VDPU381_REG_STREAM_LEN], VDPU381_MAX_BUFFER);
        }
        g_string_append_printf(s->buffers, "%s\"%s\":{\"reg\":%u,"
                               "\"addr\":%u,\"len\":%u",
                               i ? "," : "", vdpu381_buffers[i].name,
                               vdpu381_buffers[i].reg, addr, len);
        if (!addr || !len) {
            g_string_append(s->buffers, "}");
            continue;
        }
        data = g_malloc(len);
        r = address_space_read(&address_space_memory, addr,
                               MEMTXATTRS_UNSPECIFIED, data, len);
        if (r != MEMTX_OK) {
            g_string_append(s->buffers, ",\"error\":\"unreadable\"}");
            continue;
        }
        sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
        g_string_append_printf(s->buffers, ",\"sha256\":\"%s\"", sum);
        vdpu381_spool(s, sum, data, len);
        if (s->full_buffers) {
            g_autofree gchar *b64 = g_base64_encode(data, len);

            g_string_append_printf(s->buffers, ",\"base64\":\"%s\"", b64);
        }
        g_string_append(s->buffers, "}");
    }
}

/* Appends `str` to `j` as a JSON string (quotes included). */
static void vdpu381_json_string(GString *j, const char *str)
{
    const unsigned char *p;

    g_string_append_c(j, '"');
    for (p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            g_string_append_printf(j, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            g_string_append_printf(j, "\\u%04x", *p);
        } else {
            g_string_append_c(j, *p);
        }
    }
    g_string_append_c(j, '"');
}

/* The open job's "model" object (nothing when no model is attached). */
static void vdpu381_model_record(Vdpu381SimState *s, GString *j)
{
    if (s->job_model == MODEL_NONE) {
        return;
    }
    g_string_append_printf(j, ",\"model\":{\"state\":\"%s\"",
                           vdpu381_model_states[s->job_model]);
    if (s->job_model == MODEL_ANSWERED || s->job_model == MODEL_FAILED) {
        g_string_append_printf(j, ",\"sta_int\":%u,\"host_us\":%" PRId64,
                               s->job_model_sta, s->job_model_us);
    }
    if (s->job_model_why[0]) {
        g_string_append(j, ",\"why\":");
        vdpu381_json_string(j, s->job_model_why);
    }
    g_string_append_c(j, '}');
}

/* Drops the first `upto` accesses of the log, keeping the rest in order. */
static void vdpu381_consume_log(Vdpu381SimState *s, uint32_t upto)
{
    memmove(s->acc, s->acc + upto, (s->n_acc - upto) * sizeof(*s->acc));
    s->n_acc -= upto;
    s->dropped = 0;
}

/*
 * Writes one JSON line for the open job with the first `upto` accesses of
 * the log; later ones stay for the next job.
 */
static void vdpu381_flush_job_upto(Vdpu381SimState *s, const char *end,
                                   uint32_t upto)
{
    GString *j;
    uint32_t i;
    ssize_t n;
    int64_t h0;

    if (!s->job_open) {
        return;
    }
    s->job_open = false;
    if (s->capture_fd < 0) {
        vdpu381_consume_log(s, upto);
        return;
    }
    h0 = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    j = g_string_sized_new(16384);
    g_string_append_printf(j, "{\"format\":1,\"job\":%" PRIu64
                           ",\"end\":\"%s\",\"t_start_ns\":%" PRId64
                           ",\"t_irq_ns\":%" PRId64 ",\"t_ack_ns\":%" PRId64
                           ",\"status_set\":%u,\"irq_delay_us\":%u"
                           ",\"fault\":\"%s\",\"irqs\":%u,\"stray_irqs\":%u",
                           s->job, end, s->t_start_ns, s->t_irq_ns,
                           s->t_ack_ns, s->status_set, s->irq_delay_us,
                           vdpu381_modes[s->mode].name, s->irqs,
                           s->stray_irqs);
    vdpu381_model_record(s, j);
    g_string_append_printf(j, ",\"buffers\":{%s}", s->buffers->str);
    g_string_append(j, ",\"function\":\"");
    for (i = 0; i < ARRAY_SIZE(s->snap); i++) {
        g_string_append_printf(j, "%08x", s->snap[i]);
    }
    g_string_append_printf(j, "\",\"dropped\":%u,\"accesses\":[", s->dropped);
    for (i = 0; i < upto; i++) {
        uint16_t rel;
        const char *blk = vdpu381_block(s->acc[i].offset, &rel);

        g_string_append_printf(j, "%s[\"%c\",\"%s\",%u,%u,%" PRId64 "]",
                               i ? "," : "", s->acc[i].write ? 'w' : 'r',
                               blk, rel, s->acc[i].value, s->acc[i].t_ns);
    }
    /* The record's own cost up to here, not the write() below. */
    s->host_ns += qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - h0;
    g_string_append_printf(j, "],\"host_us\":%" PRId64 "}\n",
                           s->host_ns / 1000);
    /* One write per record: a reader never sees half a line. */
    n = write(s->capture_fd, j->str, j->len);
    if (n != (ssize_t)j->len) {
        qemu_log_mask(LOG_UNIMP, "vdpu381-sim: capture write failed\n");
    }
    g_string_free(j, true);
    vdpu381_consume_log(s, upto);
}

/* Writes one JSON line for the open job with the whole access log. */
static void vdpu381_flush_job(Vdpu381SimState *s, const char *end)
{
    vdpu381_flush_job_upto(s, end, s->n_acc);
}

/* Sets STA_INT to `status` and raises the line (not for a zero status). */
static void vdpu381_answer(Vdpu381SimState *s, uint32_t status)
{
    s->func[VDPU381_REG_STA_INT / 4] = status;
    if (!status) {
        return;
    }
    s->status_set = status;
    s->t_irq_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->irqs++;
    vdpu381_set_irq(s, true);
}

static void vdpu381_done(void *opaque)
{
    Vdpu381SimState *s = opaque;
    uint32_t status = s->done_status;

    if (s->mode != MODE_READY) {
        status = vdpu381_modes[s->mode].status;
    } else if (s->job_model == MODEL_ANSWERED ||
               s->job_model == MODEL_FAILED) {
        status = s->job_model_sta;
    }
    if (s->mode == MODE_IRQ_STORM) {
        s->storm = true;
    }
    vdpu381_answer(s, status);
}

/* A late-irq job's interrupt: after the driver's watchdog, maybe during the next job. */
static void vdpu381_late(void *opaque)
{
    Vdpu381SimState *s = opaque;

    if (s->job_open && s->job != s->late_job) {
        s->stray_irqs++;
    }
    s->late_job = 0;
    vdpu381_answer(s, STA_READY);
}

/* The double-irq mode's second interrupt. */
static void vdpu381_again(void *opaque)
{
    Vdpu381SimState *s = opaque;

    vdpu381_answer(s, STA_READY);
}

/*
 * The model's outcome for the open job `job`: the STA_INT word to answer
 * with, raised irq-delay-us after DEC_E at the earliest.
 */
static void vdpu381_model_finish(Vdpu381SimState *s, uint64_t job,
                                 Vdpu381ModelState st, uint32_t sta,
                                 const char *why)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t earliest = s->t_start_ns + (int64_t)s->irq_delay_us * 1000;

    if (s->model_job == job) {
        s->model_job = 0;
        timer_del(s->model_timer);
        s->job_model_us = (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) -
                           s->model_sent_ns) / 1000;
    }
    if (!s->job_open || s->job != job || s->job_model != MODEL_PENDING) {
        return;         /* the job ended before the answer (watchdog, reset) */
    }
    s->job_model = st;
    s->job_model_sta = sta;
    g_strlcpy(s->job_model_why, why, sizeof(s->job_model_why));
    if (st == MODEL_FAILED) {
        qemu_log_mask(LOG_GUEST_ERROR, "vdpu381-sim: job %" PRIu64
                      ": model: %s\n", job, why);
    }
    timer_mod(s->done_timer, MAX(now, earliest));
}

static void vdpu381_model_fail(Vdpu381SimState *s, uint64_t job,
                               const char *why)
{
    vdpu381_model_finish(s, job, MODEL_FAILED,
                         STA_IRQ | STA_IRQ_RAW | STA_ERROR, why);
}

/* Sends the open job to the model; the answer comes in the main loop. */
static void vdpu381_model_send(Vdpu381SimState *s)
{
    uint8_t buf[VDPU381_MODEL_JOB_SIZE];
    uint32_t i;

    s->job_model = MODEL_PENDING;
    s->model_sent_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    if (!s->model_up) {
        g_autofree char *why = g_strdup_printf(
            "model disconnected (socket closed at job %" PRIu64 ")",
            s->model_lost_job);

        s->model_job = s->job;
        vdpu381_model_fail(s, s->job, why);
        return;
    }
    stl_le_p(buf, VDPU381_MODEL_MAGIC);
    stl_le_p(buf + 4, VDPU381_MODEL_VERSION);
    stq_le_p(buf + 8, s->job);
    for (i = 0; i < VDPU381_MODEL_NREGS; i++) {
        stl_le_p(buf + 16 + 4 * i, s->snap[i]);
    }
    s->model_job = s->job;
    if (qemu_chr_fe_write_all(&s->model, buf, sizeof(buf)) != sizeof(buf)) {
        vdpu381_model_fail(s, s->job, "cannot send the job to the model");
        return;
    }
    timer_mod(s->model_timer,
              s->model_sent_ns + (int64_t)s->model_timeout_ms * 1000000);
}

static void vdpu381_model_timeout(void *opaque)
{
    Vdpu381SimState *s = opaque;
    g_autofree char *why = g_strdup_printf(
        "model did not answer within %u ms", s->model_timeout_ms);

    if (s->model_job) {
        vdpu381_model_fail(s, s->model_job, why);
    }
}

static int vdpu381_model_can_read(void *opaque)
{
    Vdpu381SimState *s = opaque;

    return sizeof(s->model_rx) - s->model_rx_len;
}

/* Answers in the receive buffer, each as soon as it is whole. */
static void vdpu381_model_read(void *opaque, const uint8_t *buf, int size)
{
    Vdpu381SimState *s = opaque;

    size = MIN(size, (int)(sizeof(s->model_rx) - s->model_rx_len));
    memcpy(s->model_rx + s->model_rx_len, buf, size);
    s->model_rx_len += size;
    while (s->model_rx_len >= VDPU381_MODEL_ANS_SIZE) {
        uint8_t *a = s->model_rx;
        uint64_t job = ldq_le_p(a + 8);
        uint32_t sta = ldl_le_p(a + 16);
        uint32_t why_len = ldl_le_p(a + 20);
        uint32_t whole = VDPU381_MODEL_ANS_SIZE + why_len;
        char why[VDPU381_MODEL_WHY_MAX];

        if (ldl_le_p(a) != VDPU381_MODEL_MAGIC ||
            ldl_le_p(a + 4) != VDPU381_MODEL_VERSION ||
            why_len >= VDPU381_MODEL_WHY_MAX) {
            /* Out of step with the model: drop the connection. */
            s->model_rx_len = 0;
            s->model_up = false;
            s->model_lost_job = s->job;
            if (s->model_job) {
                vdpu381_model_fail(s, s->model_job, "bad answer from the "
                                   "model (magic, version or why_len); "
                                   "disconnected");
            }
            qemu_chr_fe_disconnect(&s->model);
            return;
        }
        if (s->model_rx_len < whole) {
            return;
        }
        memcpy(why, a + VDPU381_MODEL_ANS_SIZE, why_len);
        why[why_len] = 0;
        s->model_rx_len -= whole;
        memmove(s->model_rx, s->model_rx + whole, s->model_rx_len);
        if (job != s->model_job) {
            /* The answer to a job that already ended (timed out). */
            qemu_log_mask(LOG_GUEST_ERROR, "vdpu381-sim: late model answer "
                          "for job %" PRIu64 " ignored\n", job);
            continue;
        }
        vdpu381_model_finish(s, job, MODEL_ANSWERED, sta, why);
    }
}

static void vdpu381_model_event(void *opaque, QEMUChrEvent event)
{
    Vdpu381SimState *s = opaque;

    if (event == CHR_EVENT_OPENED) {
        s->model_up = true;
        s->model_rx_len = 0;
    } else if (event == CHR_EVENT_CLOSED && s->model_up) {
        s->model_up = false;
        s->model_lost_job = s->job;
        if (s->model_job) {
            vdpu381_model_fail(s, s->model_job,
                               "model disconnected before answering");
        }
    }
}

static void vdpu381_start(Vdpu381SimState *s)
{
    int64_t delay_ns;

    /*
     * A DEC_E while a job is open ends that job (e.g. after a watchdog).
     * It keeps its accesses up to its own DEC_E and the status or legacy
     * interrupt-register (0x004, the watchdog's write) accesses right
     * after it; the rest is the new job's setup.
     */
    if (s->job_open) {
        uint32_t i = s->dec_e_idx + 1;

        while (i + 1 < s->n_acc &&
               (s->acc[i].offset == VDPU381_FUNC_BASE + VDPU381_REG_STA_INT ||
                s->acc[i].offset == VDPU381_FUNC_BASE + 0x004)) {
            i++;
        }
        vdpu381_flush_job_upto(s, "next-dec-e", MIN(i, s->n_acc - 1));
    }
    timer_del(s->again_timer);
    s->again_pending = false;
    vdpu381_reload_control(s);
    s->rel_job++;
    s->mode = vdpu381_mode_for(s, s->rel_job);
    s->job++;
    s->job_open = true;
    s->dec_e_idx = s->n_acc ? s->n_acc - 1 : 0;
    s->irqs = 0;
    s->stray_irqs = 0;
    s->host_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    memcpy(s->snap, s->func, sizeof(s->snap));
    vdpu381_capture_buffers(s);
    s->host_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - s->host_ns;
    s->t_start_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->t_irq_ns = -1;
    s->t_ack_ns = -1;
    s->status_set = 0;
    s->job_model = MODEL_NONE;
    s->job_model_sta = 0;
    s->job_model_us = 0;
    s->job_model_why[0] = 0;
    if (qemu_chr_fe_backend_connected(&s->model)) {
        if (s->mode == MODE_READY) {
            timer_del(s->done_timer);
            vdpu381_model_send(s);
            return;
        }
        s->job_model = MODEL_SKIPPED;
        g_strlcpy(s->job_model_why, vdpu381_modes[s->mode].name,
                  sizeof(s->job_model_why));
    }
    switch (s->mode) {
    case MODE_NO_IRQ:
        timer_del(s->done_timer);
        return;
    case MODE_LATE_IRQ:
        /* Its own timer: a later DEC_E must not cancel it. */
        timer_del(s->done_timer);
        s->late_job = s->job;
        timer_mod(s->late_timer,
                  s->t_start_ns + (int64_t)s->late_irq_ms * 1000000);
        return;
    case MODE_LONG_DELAY:
        delay_ns = (int64_t)s->long_delay_ms * 1000000;
        break;
    default:
        delay_ns = (int64_t)s->irq_delay_us * 1000;
        break;
    }
    s->again_pending = s->mode == MODE_DOUBLE_IRQ;
    timer_mod(s->done_timer, s->t_start_ns + delay_ns);
}

static uint64_t vdpu381_read(void *opaque, hwaddr off, unsigned size)
{
    Vdpu381SimState *s = opaque;
    uint32_t *r = vdpu381_reg(s, off & ~3);
    uint32_t v = r ? *r : 0;

    vdpu381_log_access(s, off & ~3, v, false);
    return v;
}

static void vdpu381_write(void *opaque, hwaddr off, uint64_t val,
                          unsigned size)
{
    Vdpu381SimState *s = opaque;
    uint32_t *r = vdpu381_reg(s, off & ~3);
    uint32_t v = val;

    vdpu381_log_access(s, off & ~3, v, true);
    if (!r) {
        return;
    }
    *r = v;
    if (off == VDPU381_FUNC_BASE + VDPU381_REG_DEC_E && (v & 1)) {
        vdpu381_start(s);
    } else if (off == VDPU381_FUNC_BASE + VDPU381_REG_STA_INT) {
        if (s->storm) {
            /* irq-storm: the source never clears */
            *r = STA_READY;
        } else if (s->irq_level && !(v & (STA_IRQ | STA_IRQ_RAW))) {
            vdpu381_set_irq(s, false);
        }
        if (v == 0 && s->job_open && s->t_irq_ns >= 0) {
            s->t_ack_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
            if (s->again_pending) {
                /* double-irq: raise once more; the job ends at that ack. */
                s->again_pending = false;
                timer_mod(s->again_timer, s->t_ack_ns + 100000);
            } else {
                vdpu381_flush_job(s, "ack");
            }
        }
    }
}

static const MemoryRegionOps vdpu381_ops = {
    .read = vdpu381_read,
    .write = vdpu381_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

static void vdpu381_reset(DeviceState *dev)
{
    Vdpu381SimState *s = VDPU381_SIM(dev);

    timer_del(s->done_timer);
    timer_del(s->late_timer);
    timer_del(s->again_timer);
    timer_del(s->model_timer);
    s->model_job = 0;
    s->late_job = 0;
    s->again_pending = false;
    s->storm = false;
    vdpu381_flush_job(s, "reset");
    memset(s->link, 0, sizeof(s->link));
    memset(s->func, 0, sizeof(s->func));
    memset(s->cache, 0, sizeof(s->cache));
    s->n_acc = 0;
    s->dropped = 0;
    vdpu381_set_irq(s, false);
}

static void vdpu381_realize(DeviceState *dev, Error **errp)
{
    Vdpu381SimState *s = VDPU381_SIM(dev);
    SysBusDevice *sbd = SYS_BUS_DEVICE(dev);

    s->capture_fd = -1;
    if (s->capture && s->capture[0]) {
        s->capture_fd = qemu_open_old(s->capture,
                                      O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (s->capture_fd < 0) {
            error_setg_errno(errp, errno, "vdpu381-sim: cannot open %s",
                             s->capture);
            return;
        }
        s->spool = g_strdup_printf("%s.bytes", s->capture);
        if (g_mkdir_with_parents(s->spool, 0755) < 0) {
            g_free(s->spool);
            s->spool = NULL;
        }
    }
    s->acc = g_new0(Vdpu381Access, VDPU381_MAX_ACCESSES);
    memory_region_init_io(&s->iomem, OBJECT(s), &vdpu381_ops, s,
                          TYPE_VDPU381_SIM, VDPU381_WINDOW_SIZE);
    sysbus_init_mmio(sbd, &s->iomem);
    sysbus_init_irq(sbd, &s->irq);
    s->done_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, vdpu381_done, s);
    s->late_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, vdpu381_late, s);
    s->again_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, vdpu381_again, s);
    s->model_timer = timer_new_ns(QEMU_CLOCK_REALTIME, vdpu381_model_timeout,
                                  s);
    if (qemu_chr_fe_backend_connected(&s->model)) {
        s->model_up = qemu_chr_fe_backend_open(&s->model);
        qemu_chr_fe_set_handlers(&s->model, vdpu381_model_can_read,
                                 vdpu381_model_read, vdpu381_model_event,
                                 NULL, s, NULL, true);
    }
    s->buffers = g_string_new("");
    s->late_irq_ms = 3000;
    s->long_delay_ms = 1000;
}

static void vdpu381_unrealize(DeviceState *dev)
{
    Vdpu381SimState *s = VDPU381_SIM(dev);

    vdpu381_flush_job(s, "exit");
    if (s->capture_fd >= 0) {
        close(s->capture_fd);
        s->capture_fd = -1;
    }
    timer_free(s->done_timer);
    timer_free(s->late_timer);
    timer_free(s->again_timer);
    timer_free(s->model_timer);
    qemu_chr_fe_deinit(&s->model, false);
    g_string_free(s->buffers, true);
    g_free(s->acc);
    g_free(s->spool);
    s->spool = NULL;
}

static const Property vdpu381_props[] = {
    DEFINE_PROP_STRING("capture", Vdpu381SimState, capture),
    DEFINE_PROP_STRING("control", Vdpu381SimState, control),
    DEFINE_PROP_UINT32("irq-delay-us", Vdpu381SimState, irq_delay_us, 200),
    DEFINE_PROP_UINT32("done-status", Vdpu381SimState, done_status,
                       STA_IRQ | STA_IRQ_RAW | STA_DEC_RDY),
    DEFINE_PROP_CHR("model", Vdpu381SimState, model),
    DEFINE_PROP_UINT32("model-timeout-ms", Vdpu381SimState, model_timeout_ms,
                       1000),
};

/*
 * QOM property "flush" (write-only, e.g. QMP qom-set ... flush true): ends
 * the open job now (end "flush"), so that a job no interrupt will close
 * (no-irq, or a decode stopped after a watchdog) is written before the
 * host reads the capture.
 */
static void vdpu381_set_flush(Object *obj, bool value, Error **errp)
{
    Vdpu381SimState *s = VDPU381_SIM(obj);

    if (value) {
        vdpu381_flush_job(s, "flush");
    }
}

static void vdpu381_init(Object *obj)
{
    object_property_add_bool(obj, "flush", NULL, vdpu381_set_flush);
}

static void vdpu381_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = vdpu381_realize;
    dc->unrealize = vdpu381_unrealize;
    device_class_set_legacy_reset(dc, vdpu381_reset);
    device_class_set_props(dc, vdpu381_props);
    dc->desc = "Rockchip vdpu381 register-level stand-in (vp9-workbench)";
    /* Created with -device on the virt machine's platform bus. */
    dc->user_creatable = true;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo vdpu381_info = {
    .name = TYPE_VDPU381_SIM,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(Vdpu381SimState),
    .instance_init = vdpu381_init,
    .class_init = vdpu381_class_init,
};

static void vdpu381_register_types(void)
{
    type_register_static(&vdpu381_info);
}

type_init(vdpu381_register_types)
