/* SPDX-License-Identifier: MIT */
/*
 * event_ring.h - the datapath's connection events (the lb_events BPF ring buffer), read on the
 * libuv loop: the ring's epoll descriptor is polled like any socket and drained whenever
 * it is readable, so lbd never blocks on it and the programs never wait for lbd (a full
 * ring drops events and counts LB_G_EVENTS_LOST).
 */
#ifndef LBD_EVENTS_H
#define LBD_EVENTS_H

#include <stdint.h>
#include <uv.h>

#include "lb_abi.h"

struct lb_events;

/* Called once per event, in ring order. */
typedef void (*lb_event_fn)(void *arg, const struct lb_event *ev);

/* Start reading the ring buffer @ring_fd. NULL with a sentence in @err on failure. */
struct lb_events *lb_events_start(uv_loop_t *loop, int ring_fd, lb_event_fn fn, void *arg,
				  char *err, size_t errlen);

/* Read whatever is in the ring now (also done by the loop on its own). */
void lb_events_drain(struct lb_events *e);

/* Events read so far. */
uint64_t lb_events_read(const struct lb_events *e);

/* Stop reading and free; NULL is a no-op. */
void lb_events_stop(struct lb_events *e);

#endif /* LBD_EVENTS_H */
