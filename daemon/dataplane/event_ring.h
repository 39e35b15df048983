/* SPDX-License-Identifier: MIT */
/*
 * event_ring.h - the datapath's connection events (the lb_events BPF ring buffer), read on the
 * libuv loop: the ring's epoll descriptor is polled like any socket and drained whenever
 * it is readable, so lbd never blocks on it and the programs never wait for lbd (a full
 * ring drops events and counts LB_G_EVENTS_LOST).
 */
#ifndef LBD_EVENT_RING_H
#define LBD_EVENT_RING_H

#include <stdint.h>
#include <uv.h>

#include "lb_abi.h"

struct lb_event_ring;

/* Called once per event, in ring order. */
typedef void (*lb_event_fn)(void *arg, const struct lb_event *ev);

/* Start reading the ring buffer @ring_fd. NULL with a sentence in @err on failure. */
struct lb_event_ring *lb_event_ring_start(uv_loop_t *loop, int ring_fd, lb_event_fn fn, void *arg,
					  char *err, size_t errlen);

/* Read whatever is in the ring now (also done by the loop on its own). */
void lb_event_ring_drain(struct lb_event_ring *e);

/* Events read so far. */
uint64_t lb_event_ring_read(const struct lb_event_ring *e);

/* Stop reading and free; NULL is a no-op. */
void lb_event_ring_stop(struct lb_event_ring *e);

#endif /* LBD_EVENT_RING_H */
