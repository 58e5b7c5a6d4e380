/*
 * tm_t20ii.c — an Epson TM-T20II as seen through its USB interface, for
 * emulated_printer.c: descriptors (USB 2.0 ch. 9), standard and printer-class control
 * requests (USB Printer Class 1.1: GET_DEVICE_ID, GET_PORT_STATUS, SOFT_RESET), and the
 * ESC/POS stream: DLE EOT n real-time status (Epson's bit meanings), GS I n printer ID,
 * GS r status; commands are skipped by the lengths Epson documents.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tm_t20ii.h"

const guint8 tm_descriptors[] = {
    /* device: USB 2.0, class per interface, EP0 64 bytes, 04b8:0e28 rev 1.00,
       strings 1-3, one configuration */
    18, 1, 0x00, 0x02, 0, 0, 0, 64, 0xb8, 0x04, 0x28, 0x0e, 0x00, 0x01, 1, 2, 3, 1,
    /* configuration 1: 32 bytes, one interface, self-powered */
    9, 2, 32, 0, 1, 1, 0, 0xc0, 0,
    /* interface 0: printer class, subclass 1, bidirectional, two endpoints */
    9, 4, 0, 0, 2, 7, 1, 2, 0,
    /* bulk IN 0x81 and bulk OUT 0x02, 64 bytes */
    7, 5, EP_IN, 2, 64, 0, 0,
    7, 5, EP_OUT, 2, 64, 0, 0,
};
static const char *strings[] = {NULL, "EPSON", "TM-T20II", SERIAL};
const gsize tm_descriptors_len = sizeof tm_descriptors;

gboolean paper_out, near_end, cover_open, out_halted;
int status_mode;
GByteArray *in_fifo;
int out_fd = -1;
guint64 bytes_out;

static guint8 cmd_buf[16];             /* ESC/POS parser: the command being read */
static guint cmd_len;
static guint64 skip_bytes;
static gboolean until_nul;             /* GS k m d1..dk NUL */
static guint8 rt_prev[2];              /* the last two bytes, for DLE EOT */

static guint8 status_byte(guint8 n)
{
    guint8 b = 0x12;
    gboolean offline = paper_out || cover_open;
    if (status_mode == STATUS_GARBAGE)
        return 0xa5; /* bits 0 and 7 set, bits 1 and 4 clear: not a status byte */
    switch (n) {
    case 1: if (offline) b |= 0x08; break;
    case 2: if (cover_open) b |= 0x04; if (paper_out) b |= 0x20; break;
    case 3: break;
    case 4: if (near_end || paper_out) b |= 0x0c; if (paper_out) b |= 0x60; break;
    }
    return b;
}

static void send_in(const void *data, guint len)
{
    g_byte_array_append(in_fifo, data, len);
}

/* GS I n: Epson's "transmit printer ID"; n >= 65 answered as '_' text NUL. */
static void printer_id(guint8 n)
{
    const char *text = NULL;
    guint8 b;
    switch (n) {
    case 1: case 49: b = 0x20; send_in(&b, 1); return;  /* model ID */
    case 2: case 50: b = 0x02; send_in(&b, 1); return;  /* type ID: autocutter */
    case 3: case 51: b = 0x10; send_in(&b, 1); return;  /* ROM version ID */
    case 65: text = "1.00 ESC/POS"; break;
    case 66: text = "EPSON"; break;
    case 67: text = "TM-T20II"; break;
    case 68: text = SERIAL; break;
    case 69: text = "PC858 PC852 WPC1252"; break;
    default: return;
    }
    send_in("_", 1);
    send_in(text, strlen(text) + 1);
}

/* Length of the parameters after `cmd_buf[0..cmd_len]`, or -1 while more of the
   command is needed to know; answers GS I and GS r. */
static long command_rest(void)
{
    guint8 a = cmd_buf[0], b = cmd_len > 1 ? cmd_buf[1] : 0;
    if (cmd_len < 2)
        return -1;
    if (a == 0x10) /* DLE EOT / DLE ENQ / DLE DC4 n ...: real-time, handled apart */
        return b == 0x14 ? 3 : 1;
    if (a == 0x1b) {
        switch (b) {
        case '@': case '2': case '<': return 0;
        case 'p': return 3;
        case '*':
            if (cmd_len < 5) return -1;
            return (cmd_buf[2] >= 32 ? 3 : 1) * (cmd_buf[3] | cmd_buf[4] << 8) + 3;
        case '$': case '\\': return 2;
        default: return 1; /* ESC t n, ESC a n, ESC E n, ESC d n, ESC ! n, ESC - n, ... */
        }
    }
    if (a == 0x1d) {
        switch (b) {
        case 'V':
            if (cmd_len < 3) return -1;
            return (cmd_buf[2] >= 65) ? 2 : 1;
        case '(':
            if (cmd_len < 5) return -1;
            return 3 + (cmd_buf[3] | cmd_buf[4] << 8);
        case 'v':
            if (cmd_len < 8) return -1;
            return 6 + (long)(cmd_buf[4] | cmd_buf[5] << 8) * (cmd_buf[6] | cmd_buf[7] << 8);
        case 'I':
            if (cmd_len < 3) return -1;
            printer_id(cmd_buf[2]);
            return 1;
        case 'r':
            if (cmd_len < 3) return -1;
            if (cmd_buf[2] == 1 || cmd_buf[2] == 49) {
                guint8 s = (near_end || paper_out ? 0x03 : 0) | (paper_out ? 0x0c : 0);
                send_in(&s, 1);
            } else {
                guint8 s = 0;
                send_in(&s, 1);
            }
            return 1;
        case 'L': case 'W': case '$': return 2;
        case 'k':
            if (cmd_len < 3) return -1;
            if (cmd_buf[2] >= 65) {
                if (cmd_len < 4) return -1;
                return 2 + cmd_buf[3];
            }
            return -2; /* NUL-terminated data */
        default: return 1; /* GS ! n, GS a n, GS B n, GS H n, GS h n, GS w n, ... */
        }
    }
    if (a == 0x1c) /* FS: FS . / FS & take none, others assumed one */
        return (b == '.' || b == '&') ? 0 : 1;
    return 0;
}

/* One byte on bulk OUT, as the printer's receive buffer takes it. */
static void printer_byte(guint8 c)
{
    /* Real-time commands are executed when received, even inside another command. */
    if (rt_prev[0] == 0x10 && rt_prev[1] == 0x04 && c >= 1 && c <= 4) {
        if (status_mode != STATUS_SILENT) {
            guint8 s = status_byte(c);
            send_in(&s, 1);
        }
        rt_prev[0] = rt_prev[1] = 0;
    } else {
        rt_prev[0] = rt_prev[1];
        rt_prev[1] = c;
    }

    if (skip_bytes) {
        skip_bytes--;
        return;
    }
    if (until_nul) {
        until_nul = c != 0;
        return;
    }
    if (cmd_len == 0) {
        if (c == 0x10 || c == 0x1b || c == 0x1d || c == 0x1c)
            cmd_buf[cmd_len++] = c;
        return; /* printable text, LF, ... */
    }
    cmd_buf[cmd_len++] = c;
    long rest = command_rest();
    if (rest == -2) {
        until_nul = TRUE;
        cmd_len = 0;
    } else if (rest >= 0) {
        long have = (long)cmd_len - 2;
        skip_bytes = rest > have ? (guint64)(rest - have) : 0;
        cmd_len = 0;
    } else if (cmd_len == sizeof cmd_buf) {
        cmd_len = 0; /* cannot happen with the lengths above */
    }
}

void tm_receive(const guint8 *data, gsize len)
{
    if (out_fd >= 0 && len && write(out_fd, data, len) != (ssize_t)len)
        g_printerr("emulated_printer: writing the output file: %s\n", g_strerror(errno));
    bytes_out += len;
    for (gsize i = 0; i < len; i++)
        printer_byte(data[i]);
}

static gsize string_descriptor(guint8 index, guint8 *out, gsize max)
{
    guint8 d[64];
    gsize n = 2;
    if (index == 0) {
        d[2] = 0x09, d[3] = 0x04, n = 4; /* English (US) */
    } else if (index < G_N_ELEMENTS(strings)) {
        for (const char *s = strings[index]; *s && n + 2 <= sizeof d; s++)
            d[n++] = (guint8)*s, d[n++] = 0;
    } else {
        return (gsize)-1;
    }
    d[0] = (guint8)n, d[1] = 3;
    n = MIN(n, max);
    memcpy(out, d, n);
    return n;
}

/* A control transfer on EP0: returns the IN length, or -errno (-EPIPE = STALL). */
long tm_control(const guint8 *setup, guint8 *data)
{
    guint8 type = setup[0], req = setup[1];
    guint16 value = setup[2] | setup[3] << 8, index = setup[4] | setup[5] << 8;
    guint16 length = setup[6] | setup[7] << 8;
    if (type == 0x80 && req == 6) { /* GET_DESCRIPTOR */
        guint8 kind = value >> 8;
        if (kind == 1) {
            gsize n = MIN(length, 18);
            memcpy(data, tm_descriptors, n);
            return (long)n;
        }
        if (kind == 2 && (value & 0xff) == 0) {
            gsize n = MIN(length, tm_descriptors_len - 18);
            memcpy(data, tm_descriptors + 18, n);
            return (long)n;
        }
        if (kind == 3) {
            gsize n = string_descriptor(value & 0xff, data, length);
            return n == (gsize)-1 ? -EPIPE : (long)n;
        }
        return -EPIPE;
    }
    if ((type == 0x80 || type == 0x81 || type == 0x82) && req == 0 && length >= 2) {
        data[0] = type == 0x80 ? 0x01 : (type == 0x82 && index == EP_OUT && out_halted);
        data[1] = 0;
        return 2; /* GET_STATUS: self-powered; endpoint halt */
    }
    if (type == 0x80 && req == 8 && length >= 1)
        return data[0] = 1, 1; /* GET_CONFIGURATION */
    if (type == 0x02 && req == 1 && value == 0) { /* CLEAR_FEATURE(ENDPOINT_HALT) */
        if (index == EP_OUT) out_halted = FALSE;
        return 0;
    }
    if (type == 0x00 && req == 9) return out_halted = FALSE, 0; /* SET_CONFIGURATION */
    if (type == 0x01 && req == 11) return index == 0 && value == 0 ? 0 : -EPIPE;
    if (type == 0xa1 && req == 0 && (index >> 8) == 0) { /* GET_DEVICE_ID */
        gsize n = strlen(DEVICE_ID) + 2;
        guint8 id[128];
        id[0] = (guint8)(n >> 8), id[1] = (guint8)n;
        memcpy(id + 2, DEVICE_ID, n - 2);
        n = MIN(n, length);
        memcpy(data, id, n);
        return (long)n;
    }
    if (type == 0xa1 && req == 1 && length >= 1) { /* GET_PORT_STATUS */
        gboolean error = paper_out || cover_open;
        data[0] = (paper_out ? 0x20 : 0) | (error ? 0 : 0x10) | (error ? 0 : 0x08);
        return 1;
    }
    if (type == 0x21 && req == 2) { /* SOFT_RESET */
        g_byte_array_set_size(in_fifo, 0);
        out_halted = FALSE;
        return 0;
    }
    return -EPIPE;
}
