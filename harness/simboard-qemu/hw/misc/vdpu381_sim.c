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
 * write-back, or up to the next DEC_E) becomes one JSON line in the capture
 * file given by the "capture" property.
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

    uint32_t link[VDPU381_LINK_SIZE / 4];
    uint32_t func[VDPU381_FUNC_SIZE / 4];
    uint32_t cache[VDPU381_CACHE_SIZE / 4];

    /* The job being recorded (job_open) and its snapshot at DEC_E. */
    bool job_open;
    uint64_t job;
    uint32_t snap[VDPU381_FUNC_SIZE / 4];
    int64_t t_start_ns;
    int64_t t_irq_ns;
    int64_t t_ack_ns;
    uint32_t status_set;
    Vdpu381Access *acc;
    uint32_t n_acc;
    uint32_t dropped;
    bool irq_level;

    int capture_fd;

    /* Properties. */
    char *capture;
    uint32_t irq_delay_us;
    uint32_t done_status;
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

/* Writes one JSON line for the open job and starts a fresh access log. */
static void vdpu381_flush_job(Vdpu381SimState *s, const char *end)
{
    GString *j;
    uint32_t i;
    ssize_t n;

    if (!s->job_open) {
        return;
    }
    s->job_open = false;
    if (s->capture_fd < 0) {
        s->n_acc = 0;
        s->dropped = 0;
        return;
    }
    j = g_string_sized_new(16384);
    g_string_append_printf(j, "{\"format\":1,\"job\":%" PRIu64
                           ",\"end\":\"%s\",\"t_start_ns\":%" PRId64
                           ",\"t_irq_ns\":%" PRId64 ",\"t_ack_ns\":%" PRId64
                           ",\"status_set\":%u,\"irq_delay_us\":%u",
                           s->job, end, s->t_start_ns, s->t_irq_ns,
                           s->t_ack_ns, s->status_set, s->irq_delay_us);
    g_string_append(j, ",\"function\":\"");
    for (i = 0; i < ARRAY_SIZE(s->snap); i++) {
        g_string_append_printf(j, "%08x", s->snap[i]);
    }
    g_string_append_printf(j, "\",\"dropped\":%u,\"accesses\":[", s->dropped);
    for (i = 0; i < s->n_acc; i++) {
        uint16_t rel;
        const char *blk = vdpu381_block(s->acc[i].offset, &rel);

        g_string_append_printf(j, "%s[\"%c\",\"%s\",%u,%u,%" PRId64 "]",
                               i ? "," : "", s->acc[i].write ? 'w' : 'r',
                               blk, rel, s->acc[i].value, s->acc[i].t_ns);
    }
    g_string_append(j, "]}\n");
    /* One write per record: a reader never sees half a line. */
    n = write(s->capture_fd, j->str, j->len);
    if (n != (ssize_t)j->len) {
        qemu_log_mask(LOG_UNIMP, "vdpu381-sim: capture write failed\n");
    }
    g_string_free(j, true);
    s->n_acc = 0;
    s->dropped = 0;
}

static void vdpu381_done(void *opaque)
{
    Vdpu381SimState *s = opaque;

    s->func[VDPU381_REG_STA_INT / 4] = s->done_status;
    s->status_set = s->done_status;
    s->t_irq_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    vdpu381_set_irq(s, s->done_status != 0);
}

static void vdpu381_start(Vdpu381SimState *s)
{
    /* A DEC_E while a job is open ends that job (e.g. after a watchdog). */
    vdpu381_flush_job(s, "next-dec-e");
    s->job++;
    s->job_open = true;
    memcpy(s->snap, s->func, sizeof(s->snap));
    s->t_start_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    s->t_irq_ns = -1;
    s->t_ack_ns = -1;
    s->status_set = 0;
    timer_mod(s->done_timer, s->t_start_ns + (int64_t)s->irq_delay_us * 1000);
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
        if (s->irq_level && !(v & (STA_IRQ | STA_IRQ_RAW))) {
            vdpu381_set_irq(s, false);
        }
        if (v == 0 && s->job_open && s->t_irq_ns >= 0) {
            s->t_ack_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
            vdpu381_flush_job(s, "ack");
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
    }
    s->acc = g_new0(Vdpu381Access, VDPU381_MAX_ACCESSES);
    memory_region_init_io(&s->iomem, OBJECT(s), &vdpu381_ops, s,
                          TYPE_VDPU381_SIM, VDPU381_WINDOW_SIZE);
    sysbus_init_mmio(sbd, &s->iomem);
    sysbus_init_irq(sbd, &s->irq);
    s->done_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, vdpu381_done, s);
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
    g_free(s->acc);
}

static const Property vdpu381_props[] = {
    DEFINE_PROP_STRING("capture", Vdpu381SimState, capture),
    DEFINE_PROP_UINT32("irq-delay-us", Vdpu381SimState, irq_delay_us, 200),
    DEFINE_PROP_UINT32("done-status", Vdpu381SimState, done_status,
                       STA_IRQ | STA_IRQ_RAW | STA_DEC_RDY),
};

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
    .class_init = vdpu381_class_init,
};

static void vdpu381_register_types(void)
{
    type_register_static(&vdpu381_info);
}

type_init(vdpu381_register_types)
