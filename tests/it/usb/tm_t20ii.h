/*
 * tm_t20ii.h — the printer behind emulated_printer.c's USB interface: its descriptors,
 * its answers on the control endpoint, and what it does with bytes on bulk OUT (see
 * tm_t20ii.c). Shared state is guarded by the caller (emulated_printer.c's lock).
 */
#pragma once
#include <glib.h>

#define EP_OUT 0x02
#define EP_IN 0x81
#define SERIAL "X5E3001234"
#define DEVICE_ID "MFG:EPSON;CMD:ESCPOS;MDL:TM-T20II;CLS:PRINTER;DES:TM-T20II;"

enum { STATUS_NORMAL, STATUS_GARBAGE, STATUS_SILENT };

extern const guint8 tm_descriptors[];  /* device, then configuration 1 (bus order) */
extern const gsize tm_descriptors_len;
extern gboolean paper_out, near_end, cover_open;
extern gboolean out_halted;            /* the bulk OUT endpoint's Halt feature */
extern int status_mode;                /* how DLE EOT is answered */
extern GByteArray *in_fifo;            /* bytes the printer has to send on bulk IN */
extern int out_fd;                     /* the output file: every byte taken on bulk OUT */
extern guint64 bytes_out;

/* Bytes taken on bulk OUT: written to out_fd, real-time and ID commands answered into in_fifo. */
void tm_receive(const guint8 *data, gsize len);
/* A control transfer (8-byte setup, then its data): the IN length, or -errno (-EPIPE = STALL). */
long tm_control(const guint8 *setup, guint8 *data);
