/*
 * emulated_printer — an Epson TM-T20II (04b8:0e28) receipt printer on an emulated USB
 * bus, for testing a host that drives it through libusb (usbfs), with umockdev.
 *
 * What it emulates, and from which public documents (not from posagent's driver):
 *  - USB 2.0 spec ch. 9: device, configuration, interface, endpoint and string
 *    descriptors; standard requests GET_DESCRIPTOR, GET_STATUS, GET_CONFIGURATION,
 *    CLEAR_FEATURE(ENDPOINT_HALT); a halted bulk endpoint answers STALL (-EPIPE) until
 *    the host clears it.
 *  - USB Printer Class 1.1: one interface, class 7 subclass 1 protocol 2
 *    (bidirectional), bulk OUT 0x02 and bulk IN 0x81 (64-byte packets, full speed);
 *    class requests GET_DEVICE_ID (IEEE 1284 ID, 2-byte big-endian length first),
 *    GET_PORT_STATUS and SOFT_RESET.
 *  - Linux usbfs (linux/usbdevice_fs.h): SUBMITURB, REAPURB(NDELAY), DISCARDURB,
 *    CLAIM/RELEASEINTERFACE, GETDRIVER, IOCTL(DISCONNECT/CONNECT), DISCONNECT_CLAIM,
 *    CONNECTINFO, CONNINFO_EX, GET_CAPABILITIES, GET_SPEED, SETCONFIGURATION,
 *    SETINTERFACE, CLEAR_HALT, RESETEP, RESET, CONTROL, BULK. The kernel's usblp driver
 *    is bound to the interface at plug-in: claiming it without detaching is EBUSY.
 *    After an unplug, pending URBs end with -ESHUTDOWN and every ioctl is ENODEV.
 *  - Epson ESC/POS: real-time status DLE EOT n (10 04 n, n = 1..4) answered with one
 *    byte on bulk IN (fixed bits 1 and 4 set, 0 and 7 clear; n=1 bit 3 offline; n=2
 *    bit 2 cover open, bit 5 paper-end stop; n=4 bits 2-3 near end, bits 5-6 paper end),
 *    processed wherever it appears in the stream as a real printer does; GS I n
 *    (printer ID: 1, 2, 3, 65-69) and GS r 1 (paper sensor) at command boundaries.
 *  - The sysfs tree libusb enumerates (bus 1 root hub, the printer at 1-1, its
 *    interface 1-1:1.0) and netlink uevents for plug and unplug; each plug-in gets a new
 *    device number (/dev/bus/usb/001/002, then 003, ...), as the kernel does.
 *
 * Every byte accepted on bulk OUT is appended to the output file (--out FILE).
 *
 * Faults, one command a line on stdin (each answered "ok <command>" on stdout):
 *   paper out | paper near-end | paper ok     roll paper sensor
 *   cover open | cover closed
 *   status garbage | status silent | status normal   answer to DLE EOT
 *   stall                     halt bulk OUT (STALL) until the host's CLEAR_HALT
 *   unplug | plug             device removed / attached again (new device number)
 *   state                     prints one "state ..." line
 *   quit                      (also on end of stdin, SIGTERM or SIGINT)
 * Events are printed as "event ..." lines (claimed, released, usblp-detached, ...).
 *
 * The printer itself (descriptors, control requests, ESC/POS) is in tm_t20ii.c.
 *
 * By hand:
 *   cc -o emulated_printer emulated_printer.c tm_t20ii.c $(pkg-config --cflags --libs umockdev-1.0)
 *   cc -shared -fPIC -o netlink_kernel_shim.so netlink_kernel_shim.c -ldl
 *   ./emulated_printer --out /tmp/printed.bin        # prints UMOCKDEV_DIR=/tmp/umockdev.XXXXXX
 *   LD_PRELOAD=./netlink_kernel_shim.so:libumockdev-preload.so.0 UMOCKDEV_DIR=/tmp/umockdev.XXXXXX \
 *     posagent devices --profile printer-on-usb.toml --firmware
 * (the shim only matters for libusb to hear plug and unplug; see netlink_kernel_shim.c).
 * The host process talks to this one through the testbed's sockets
 * ($UMOCKDEV_DIR/ioctl/dev/bus/usb/001/00N for ioctls, $UMOCKDEV_DIR/eventN for uevents).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glob.h>
#include <linux/usbdevice_fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <umockdev.h>

#include "tm_t20ii.h"

#define SYS_HUB "/devices/pci0000:00/0000:00:14.0/usb1"
#define SYS_DEV SYS_HUB "/1-1"
#ifndef USBDEVFS_GET_SPEED
#define USBDEVFS_GET_SPEED _IO('U', 31)
#endif
#define USB_SPEED_FULL 2


typedef struct {
    UMockdevIoctlClient *client;
    UMockdevIoctlData *urb;  /* struct usbdevfs_urb, resolved; its buffer a child */
    gulong addr;             /* the URB's address in the client */
} Urb;

/* Everything below is shared by the main thread (commands) and umockdev's worker
   thread (ioctls) and guarded by `lock`. */
static GMutex lock;
static UMockdevTestbed *testbed;
static int generation;                 /* bumped at each plug-in */
static int devnum = 1;
static gboolean plugged;
static enum { DRV_NONE, DRV_USBLP, DRV_USBFS } driver;
static UMockdevIoctlClient *claimer;
static GList *pending_in, *done;       /* Urb*: waiting for data; reapable */

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* Fetches the client's memory a pointer inside `d` points to; `d`'s copy then points
   at the local copy, which is written back when the ioctl completes. */
static gboolean resolve_child(UMockdevIoctlData *d, gsize offset, gsize len)
{
    UMockdevIoctlData *child = umockdev_ioctl_data_resolve(d, offset, len, NULL);
    if (!child)
        return FALSE;
    g_object_unref(child);
    return TRUE;
}

static struct usbdevfs_urb *urb_of(Urb *u) { return (struct usbdevfs_urb *)u->urb->data; }

static void urb_free(Urb *u)
{
    g_object_unref(u->urb);
    g_object_unref(u->client);
    g_free(u);
}

static void finish(Urb *u, int status, int actual)
{
    urb_of(u)->status = status;
    urb_of(u)->actual_length = actual;
    done = g_list_append(done, u);
}

/* Hands queued bulk IN bytes to waiting IN URBs. */
static void feed_in(void)
{
    while (pending_in && in_fifo->len) {
        Urb *u = pending_in->data;
        struct usbdevfs_urb *urb = urb_of(u);
        guint n = MIN((guint)urb->buffer_length, in_fifo->len);
        pending_in = g_list_delete_link(pending_in, pending_in);
        memcpy(urb->buffer, in_fifo->data, n);
        g_byte_array_remove_range(in_fifo, 0, n);
        finish(u, 0, (int)n);
    }
}


/* Whether the client may use interface 0 now (usbfs claims it implicitly). */
static int check_interface(UMockdevIoctlClient *client)
{
    if (driver == DRV_USBLP)
        return EBUSY;
    if (driver == DRV_USBFS && claimer != client)
        return EBUSY;
    if (driver == DRV_NONE) {
        driver = DRV_USBFS;
        claimer = g_object_ref(client);
        say("event claimed");
    }
    return 0;
}

static void release(void)
{
    g_clear_object(&claimer);
    driver = DRV_NONE;
    say("event released");
}

static int submit(UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
    struct usbdevfs_urb *urb;
    int err;
    if (!d)
        return EFAULT;
    urb = (struct usbdevfs_urb *)d->data;
    if (urb->buffer_length < 0)
        return EINVAL;
    if (urb->buffer_length > 0 &&
        !resolve_child(d, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), (gsize)urb->buffer_length))
        return EFAULT;
    Urb *u = g_new0(Urb, 1);
    u->client = g_object_ref(client);
    u->urb = g_object_ref(d);
    u->addr = d->client_addr;
    if (urb->type == USBDEVFS_URB_TYPE_CONTROL && urb->endpoint == 0) {
        if (urb->buffer_length < 8) { urb_free(u); return EINVAL; }
        long r = tm_control(urb->buffer, (guint8 *)urb->buffer + 8);
        finish(u, r < 0 ? (int)r : 0, r < 0 ? 0 : (int)r);
        return 0;
    }
    if (urb->type != USBDEVFS_URB_TYPE_BULK || (urb->endpoint != EP_OUT && urb->endpoint != EP_IN)) {
        urb_free(u);
        return ENOENT;
    }
    if ((err = check_interface(client))) {
        urb_free(u);
        return err;
    }
    if (urb->endpoint == EP_OUT) {
        if (out_halted) {
            finish(u, -EPIPE, 0);
        } else {
            tm_receive(urb->buffer, (gsize)urb->buffer_length);
            feed_in();
            finish(u, 0, urb->buffer_length);
        }
    } else {
        pending_in = g_list_append(pending_in, u);
        feed_in();
    }
    return 0;
}

static gboolean complete_later(gpointer data)
{
    UMockdevIoctlClient *client = data;
    umockdev_ioctl_client_complete(client, -1, EAGAIN);
    g_object_unref(client);
    return G_SOURCE_REMOVE;
}

static gboolean reap(UMockdevIoctlClient *client, UMockdevIoctlData *arg, gboolean live, gboolean nodelay)
{
    for (GList *l = done; l; l = l->next) {
        Urb *u = l->data;
        if (u->client != client)
            continue;
        done = g_list_delete_link(done, l);
        g_autoptr(UMockdevIoctlData) ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
        umockdev_ioctl_data_set_ptr(ptr, 0, u->urb);
        umockdev_ioctl_client_complete(client, 0, 0);
        urb_free(u);
        return TRUE;
    }
    if (!live) {
        umockdev_ioctl_client_complete(client, -1, ENODEV);
    } else {
        /* Nothing to reap. The node is a plain file that always polls ready, so the
           host spins on REAPURBNDELAY: answer EAGAIN a little later (so does a
           blocking REAPURB, which the host then retries). */
        (void)nodelay;
        GSource *s = g_timeout_source_new(2);
        g_source_set_callback(s, complete_later, g_object_ref(client), NULL);
        g_source_attach(s, g_main_context_get_thread_default());
        g_source_unref(s);
    }
    return TRUE;
}

static int discard(UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    gulong addr = *(gulong *)arg->data;
    for (GList *l = pending_in; l; l = l->next) {
        Urb *u = l->data;
        if (u->client == client && u->addr == addr) {
            pending_in = g_list_delete_link(pending_in, l);
            finish(u, -ECONNRESET, 0);
            return 0;
        }
    }
    return EINVAL;
}

static int driver_ioctl(UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ioctl), NULL);
    struct usbdevfs_ioctl *c = d ? (struct usbdevfs_ioctl *)d->data : NULL;
    if (!c) return -EFAULT;
    if (c->ifno != 0) return -EINVAL;
    if (c->ioctl_code == (int)USBDEVFS_DISCONNECT) {
        if (driver != DRV_USBLP) return -ENODATA;
        driver = DRV_NONE;
        say("event usblp-detached");
        return 0;
    }
    if (c->ioctl_code == (int)USBDEVFS_CONNECT) {
        if (driver == DRV_USBFS) return -EBUSY;
        if (driver == DRV_USBLP) return -EBUSY;
        driver = DRV_USBLP;
        say("event usblp-attached");
        return 1;
    }
    (void)client;
    return -ENOTTY;
}

static long handle(UMockdevIoctlClient *client, gulong request, UMockdevIoctlData *arg, gboolean live)
{
    if (!live)
        return -ENODEV;
    switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
        *(guint32 *)d->data = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
                              USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        return 0;
    }
    case USBDEVFS_GET_SPEED:
        return USB_SPEED_FULL;
    case USBDEVFS_CONNECTINFO: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_connectinfo), NULL);
        ((struct usbdevfs_connectinfo *)d->data)->devnum = (unsigned)devnum;
        ((struct usbdevfs_connectinfo *)d->data)->slow = 0;
        return 0;
    }
    case USBDEVFS_SUBMITURB:
        return -submit(client, arg);
    case USBDEVFS_DISCARDURB:
        return -discard(client, arg);
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
        if (*(unsigned int *)d->data != 0) return -EINVAL;
        if (request == USBDEVFS_CLAIMINTERFACE) return -check_interface(client);
        if (driver != DRV_USBFS || claimer != client) return -EINVAL;
        release();
        return 0;
    }
    case USBDEVFS_DISCONNECT_CLAIM: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_disconnect_claim), NULL);
        struct usbdevfs_disconnect_claim *dc = (struct usbdevfs_disconnect_claim *)d->data;
        const char *name = driver == DRV_USBLP ? "usblp" : "usbfs";
        if (dc->interface != 0) return -EINVAL;
        if (driver == DRV_USBLP) {
            gboolean same = strncmp(dc->driver, name, sizeof dc->driver) == 0;
            if ((dc->flags & USBDEVFS_DISCONNECT_CLAIM_IF_DRIVER) && !same) return -EBUSY;
            if ((dc->flags & USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER) && same) return -EBUSY;
            driver = DRV_NONE;
            say("event usblp-detached");
        }
        return -check_interface(client);
    }
    case USBDEVFS_GETDRIVER: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_getdriver), NULL);
        struct usbdevfs_getdriver *g = (struct usbdevfs_getdriver *)d->data;
        if (g->interface != 0) return -EINVAL;
        if (driver == DRV_NONE) return -ENODATA;
        g_strlcpy(g->driver, driver == DRV_USBLP ? "usblp" : "usbfs", sizeof g->driver);
        return 0;
    }
    case USBDEVFS_IOCTL:
        return driver_ioctl(client, arg);
    case USBDEVFS_SETCONFIGURATION: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(int), NULL);
        int config = *(int *)d->data;
        if (config != 1 && config != -1 && config != 0) return -EINVAL;
        if (driver == DRV_USBFS && claimer != client) return -EBUSY;
        out_halted = FALSE; /* so does SetConfiguration */
        return 0;
    }
    case USBDEVFS_SETINTERFACE: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_setinterface), NULL);
        struct usbdevfs_setinterface *si = (struct usbdevfs_setinterface *)d->data;
        int err;
        if (si->interface != 0 || si->altsetting != 0) return -EINVAL;
        if ((err = check_interface(client))) return -err;
        out_halted = FALSE; /* SetInterface resets the Halt feature (USB 2.0, 9.4.5) */
        say("event set-interface");
        return 0;
    }
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
        unsigned int ep = *(unsigned int *)d->data;
        if (ep != EP_OUT && ep != EP_IN) return -ENOENT;
        if (ep == EP_OUT && request == USBDEVFS_CLEAR_HALT) {
            out_halted = FALSE;
            say("event clear-halt 0x02");
        }
        return 0;
    }
    case USBDEVFS_RESET:
        out_halted = FALSE;
        g_byte_array_set_size(in_fifo, 0);
        say("event reset");
        return 0;
    case USBDEVFS_CONTROL: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ctrltransfer), NULL);
        struct usbdevfs_ctrltransfer *t = (struct usbdevfs_ctrltransfer *)d->data;
        guint8 setup[8] = {t->bRequestType, t->bRequest, t->wValue, t->wValue >> 8,
                           t->wIndex, t->wIndex >> 8, t->wLength, t->wLength >> 8};
        if (t->wLength && !resolve_child(d, G_STRUCT_OFFSET(struct usbdevfs_ctrltransfer, data), t->wLength))
            return -EFAULT;
        return tm_control(setup, t->data);
    }
    case USBDEVFS_BULK: {
        g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_bulktransfer), NULL);
        struct usbdevfs_bulktransfer *t = (struct usbdevfs_bulktransfer *)d->data;
        int err;
        if (t->ep != EP_OUT && t->ep != EP_IN) return -ENOENT;
        if ((err = check_interface(client))) return -err;
        if (t->len && !resolve_child(d, G_STRUCT_OFFSET(struct usbdevfs_bulktransfer, data), t->len))
            return -EFAULT;
        if (t->ep == EP_OUT) {
            if (out_halted) return -EPIPE;
            tm_receive(t->data, t->len);
            return t->len;
        }
        guint n = MIN(t->len, in_fifo->len);
        if (!n) return -ETIMEDOUT;
        memcpy(t->data, in_fifo->data, n);
        g_byte_array_remove_range(in_fifo, 0, n);
        return n;
    }
    default:
        if (_IOC_TYPE(request) == 'U' && _IOC_NR(request) == 32) { /* CONNINFO_EX(len) */
            struct usbdevfs_conninfo_ex ci = {.size = sizeof ci, .busnum = 1, .devnum = (unsigned)devnum,
                                              .speed = USB_SPEED_FULL, .num_ports = 1, .ports = {1}};
            gsize n = MIN(_IOC_SIZE(request), sizeof ci);
            g_autoptr(UMockdevIoctlData) d = umockdev_ioctl_data_resolve(arg, 0, n, NULL);
            memcpy(d->data, &ci, n);
            return 0;
        }
        g_printerr("emulated_printer: unsupported ioctl 0x%lx\n", request);
        return -ENOTTY;
    }
}

static gboolean on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer gen)
{
    gulong request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    (void)handler;
    g_mutex_lock(&lock);
    gboolean live = plugged && GPOINTER_TO_INT(gen) == generation;
    if (request == USBDEVFS_REAPURB || request == USBDEVFS_REAPURBNDELAY) {
        reap(client, arg, live, request == USBDEVFS_REAPURBNDELAY);
    } else {
        long r = handle(client, request, arg, live);
        umockdev_ioctl_client_complete(client, r < 0 ? -1 : r, r < 0 ? (int)-r : 0);
    }
    g_mutex_unlock(&lock);
    return TRUE;
}

static void drop_client_urbs(GList **list, UMockdevIoctlClient *client)
{
    for (GList *l = *list, *next; l; l = next) {
        next = l->next;
        if (((Urb *)l->data)->client == client) {
            urb_free(l->data);
            *list = g_list_delete_link(*list, l);
        }
    }
}

/* The host closed its file: the kernel releases what the file had claimed. */
static void on_vanished(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer gen)
{
    (void)handler, (void)gen;
    g_mutex_lock(&lock);
    drop_client_urbs(&pending_in, client);
    drop_client_urbs(&done, client);
    if (claimer == client)
        release();
    g_mutex_unlock(&lock);
}

/* A kernel uevent (lib/kobject_uevent.c's format: "action@devpath", then KEY=value,
   NUL-separated) to every netlink listener of the testbed ($UMOCKDEV_DIR/eventN). */
static void kernel_uevent(const char *action, const char *devpath, const char *props)
{
    static unsigned seqnum = 1000;
    char msg[1024], pattern[PATH_MAX];
    int n = snprintf(msg, sizeof msg, "%s@%s%cACTION=%s%cDEVPATH=%s%c%s%cSEQNUM=%u", action, devpath, 0, action, 0,
                     devpath, 0, props, 0, seqnum++);
    for (char *p = msg; p < msg + n; p++)
        if (*p == '\n') *p = 0;
    glob_t gl;
    g_autofree char *root = umockdev_testbed_get_root_dir(testbed);
    /* Every Linux machine has /sys/class/tty (serial port enumeration reads it). */
    g_autofree char *tty = g_build_filename(root, "sys", "class", "tty", NULL);
    g_mkdir_with_parents(tty, 0755);
    snprintf(pattern, sizeof pattern, "%s/event[0-9]*", root);
    if (glob(pattern, 0, NULL, &gl) != 0)
        return;
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        g_strlcpy(addr.sun_path, gl.gl_pathv[i], sizeof addr.sun_path);
        if (fd >= 0 && sendto(fd, msg, (size_t)n + 1, 0, (struct sockaddr *)&addr, sizeof addr) < 0)
            g_printerr("emulated_printer: uevent to %s: %s\n", gl.gl_pathv[i], g_strerror(errno));
        if (fd >= 0) close(fd);
    }
    globfree(&gl);
}

static void device_uevents(const char *action)
{
    g_autofree char *dev = g_strdup_printf(
        "SUBSYSTEM=usb\nMAJOR=189\nMINOR=%d\nDEVNAME=bus/usb/001/%03d\nDEVTYPE=usb_device\nDRIVER=usb\n"
        "PRODUCT=4b8/e28/100\nTYPE=0/0/0\nBUSNUM=001\nDEVNUM=%03d", devnum - 1, devnum, devnum);
    const char *intf = "SUBSYSTEM=usb\nDEVTYPE=usb_interface\nPRODUCT=4b8/e28/100\nTYPE=0/0/0\nINTERFACE=7/1/2";
    if (!strcmp(action, "add")) {
        kernel_uevent(action, SYS_DEV, dev);
        kernel_uevent(action, SYS_DEV "/1-1:1.0", intf);
    } else {
        kernel_uevent(action, SYS_DEV "/1-1:1.0", intf);
        kernel_uevent(action, SYS_DEV, dev);
    }
}

static void plug_in(void)
{
    g_autofree char *hex = g_malloc0(tm_descriptors_len * 2 + 1);
    g_autofree char *node = NULL, *text = NULL;
    GError *error = NULL;
    for (gsize i = 0; i < tm_descriptors_len; i++)
        sprintf(hex + 2 * i, "%02x", tm_descriptors[i]);
    devnum++;
    generation++;
    node = g_strdup_printf("/dev/bus/usb/001/%03d", devnum);
    UMockdevIoctlBase *handler = umockdev_ioctl_base_new();
    g_signal_connect_after(handler, "handle-ioctl", G_CALLBACK(on_ioctl), GINT_TO_POINTER(generation));
    g_signal_connect(handler, "client-vanished", G_CALLBACK(on_vanished), GINT_TO_POINTER(generation));
    if (!umockdev_testbed_attach_ioctl(testbed, node, handler, &error))
        g_error("attach_ioctl %s: %s", node, error->message);
    driver = DRV_USBLP; /* the kernel binds usblp to a new printer */
    out_halted = FALSE;
    g_byte_array_set_size(in_fifo, 0);
    text = g_strdup_printf(
        "P: " SYS_DEV "\nN: bus/usb/001/%03d\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
        "E: BUSNUM=001\nE: DEVNUM=%03d\nE: DEVNAME=/dev/bus/usb/001/%03d\nE: MAJOR=189\nE: MINOR=%d\n"
        "E: PRODUCT=4b8/e28/100\nE: TYPE=0/0/0\nA: busnum=1\nA: devnum=%d\nA: speed=12\n"
        "A: bConfigurationValue=1\nA: bNumConfigurations=1\nA: bNumInterfaces= 1\nA: idVendor=04b8\n"
        "A: idProduct=0e28\nA: bcdDevice=0100\nA: version= 2.00\nA: manufacturer=EPSON\n"
        "A: product=TM-T20II\nA: serial=" SERIAL "\nA: devpath=1\nA: maxchild=0\nH: descriptors=%s\n\n"
        "P: " SYS_DEV "/1-1:1.0\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\nE: DRIVER=usblp\n"
        "E: PRODUCT=4b8/e28/100\nE: INTERFACE=7/1/2\nA: bInterfaceNumber=00\nA: bAlternateSetting= 0\n"
        "A: bInterfaceClass=07\nA: bInterfaceSubClass=01\nA: bInterfaceProtocol=02\nA: bNumEndpoints=02\n",
        devnum, devnum, devnum, devnum - 1, devnum, hex);
    if (!umockdev_testbed_add_from_string(testbed, text, &error))
        g_error("add_from_string: %s", error->message);
    device_uevents("add");
    plugged = TRUE;
    say("event plugged %s", node);
}

static void unplug(void)
{
    if (!plugged) return;
    plugged = FALSE;
    for (GList *l = pending_in; l; l = l->next)
        finish(l->data, -ESHUTDOWN, 0);
    g_list_free(pending_in);
    pending_in = NULL;
    g_clear_object(&claimer);
    driver = DRV_NONE;
    device_uevents("remove");
    umockdev_testbed_remove_device(testbed, "/sys" SYS_DEV "/1-1:1.0"); /* children first */
    umockdev_testbed_remove_device(testbed, "/sys" SYS_DEV);
    say("event unplugged");
}

static gboolean command(const char *line, GMainLoop *loop)
{
    if (!strcmp(line, "paper out")) paper_out = TRUE, near_end = FALSE;
    else if (!strcmp(line, "paper near-end")) paper_out = FALSE, near_end = TRUE;
    else if (!strcmp(line, "paper ok")) paper_out = FALSE, near_end = FALSE;
    else if (!strcmp(line, "cover open")) cover_open = TRUE;
    else if (!strcmp(line, "cover closed")) cover_open = FALSE;
    else if (!strcmp(line, "status garbage")) status_mode = STATUS_GARBAGE;
    else if (!strcmp(line, "status silent")) status_mode = STATUS_SILENT;
    else if (!strcmp(line, "status normal")) status_mode = STATUS_NORMAL;
    else if (!strcmp(line, "stall")) out_halted = TRUE;
    else if (!strcmp(line, "unplug")) unplug();
    else if (!strcmp(line, "plug")) { if (!plugged) plug_in(); }
    else if (!strcmp(line, "state"))
        say("state plugged=%d devnum=%d driver=%s halted=%d bytes_out=%" G_GUINT64_FORMAT " pending_in=%u",
            plugged, devnum, driver == DRV_USBLP ? "usblp" : driver == DRV_USBFS ? "usbfs" : "none",
            out_halted, bytes_out, g_list_length(pending_in));
    else if (!strcmp(line, "quit")) g_main_loop_quit(loop);
    else { say("error unknown command: %s", line); return TRUE; }
    say("ok %s", line);
    return TRUE;
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer loop)
{
    g_autofree char *line = NULL;
    gsize end;
    (void)cond;
    if (g_io_channel_read_line(ch, &line, NULL, &end, NULL) != G_IO_STATUS_NORMAL) {
        g_main_loop_quit(loop);
        return G_SOURCE_REMOVE;
    }
    line[end] = '\0';
    g_strstrip(line);
    if (*line) {
        g_mutex_lock(&lock);
        command(line, loop);
        g_mutex_unlock(&lock);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    static const char hub[] =
        "120100020900014000006b1d020006010302010109021900010100e0000904000001090000000705810304000c";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else { fprintf(stderr, "usage: %s [--out FILE]\n", argv[0]); return 2; }
    }
    if (out && (out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        perror(out);
        return 1;
    }
    in_fifo = g_byte_array_new();
    testbed = umockdev_testbed_new();
    g_autofree char *root = umockdev_testbed_get_root_dir(testbed);
    /* Every Linux machine has /sys/class/tty (serial port enumeration reads it). */
    g_autofree char *tty = g_build_filename(root, "sys", "class", "tty", NULL);
    g_mkdir_with_parents(tty, 0755);
    g_autofree char *hubtext = g_strdup_printf(
        "P: " SYS_HUB "\nN: bus/usb/001/001\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
        "E: BUSNUM=001\nE: DEVNUM=001\nE: DEVNAME=/dev/bus/usb/001/001\nE: PRODUCT=1d6b/2/600\n"
        "A: busnum=1\nA: devnum=1\nA: speed=480\nA: bConfigurationValue=1\nA: idVendor=1d6b\n"
        "A: idProduct=0002\nA: maxchild=1\nH: descriptors=%s\n", hub);
    if (!umockdev_testbed_add_from_string(testbed, hubtext, NULL))
        g_error("cannot add the root hub");
    g_mutex_lock(&lock);
    plug_in();
    g_mutex_unlock(&lock);
    say("UMOCKDEV_DIR=%s", root);

    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    GIOChannel *ch = g_io_channel_unix_new(0);
    g_io_add_watch(ch, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_main_loop_run(loop);
    g_mutex_lock(&lock);
    plugged = FALSE;
    g_mutex_unlock(&lock);
    g_object_unref(testbed); /* removes the testbed directory */
    return 0;
}
