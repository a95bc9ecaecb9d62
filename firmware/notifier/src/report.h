/*
 * What the notifier shows: its lines on the UART (checks, memory peaks, what the agent reports)
 * and the LEDs.
 */
#ifndef NOTIFIER_REPORT_H
#define NOTIFIER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "biff/agent.h"
#include "biff/status.h"
#include "provision.h"

/** printf to the UART. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Start measuring the stack (call first in main and before each check). */
void report_paint_stack(void);

/** What the lines and LEDs are about: the accounts, their status model, the TLS pool's size. */
void report_init(const prov *cfg, const biff_status_account *model, size_t tls_pool_size);

/** An account's name in the lines ("imap-0"); the buffer is static. */
const char *report_label(size_t i);

/** The agent's events, as lines ("NEW": what a buzzer or a push message would do). */
void report_event(void *ctx, const biff_agent_event *ev);

/** LED0: the mail LED (the daemon's patterns, biff/status.h); LED1: the network. */
void report_leds(uint32_t now, int net_up);

/** Between checks: say if the TLS pool holds more than after the previous check (a leak). */
void report_pool(void);

#endif
