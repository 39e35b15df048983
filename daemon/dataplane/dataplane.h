/* SPDX-License-Identifier: MIT */
/*
 * dataplane.h - the BPF side of lbd: bpffs, loading and pinning the programs and maps
 * under a per-instance folder, attaching them to interfaces, and removing all of it.
 *
 * Pin layout under <bpffs>/lbd/<instance>/:
 *   lb_listen lb_routes lb_groups lb_ct lb_syn lb_pstats lb_tstats lb_gstats  datapath maps
 *   lb_lconn                                      live flows per target (least-connections)
 *   lb_meta lb_pnames lb_tnames                                         lbd's own state
 *   xdp_<ifname>      XDP link of an interface whose requests run at XDP
 *   tc_<ifname>       lb_tc_ingress, pinned as the mark of an interface whose requests run
 *                     at TC ingress (tc filters cannot be pinned themselves)
 * The tc filters live in the interface's clsact qdisc (handle LB_TC_HANDLE, priority
 * LB_TC_PRIO: egress always, ingress in TC mode) and hold their own program references.
 */
#ifndef LBD_DATAPLANE_H
#define LBD_DATAPLANE_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb_abi.h"
#include "lb_config.h"
#include "owner.h"

/* Our clsact egress filter's identity: "LB" in ASCII; other users' filters are left alone. */
#define LB_TC_HANDLE 0x4c42
#define LB_TC_PRIO   0x4c42

struct lb_bpf;

/* Where an interface's request direction runs. */
enum lb_dp_hook { LB_HOOK_XDP = 0, LB_HOOK_TC };

struct lb_dp_iface {
	char name[IF_NAMESIZE];
	unsigned int ifindex;
	int xdp_link_fd;      /* LB_HOOK_XDP: the link (also pinned) */
	bool tc_ingress;      /* LB_HOOK_TC: our ingress filter is attached */
	bool xdp_native;      /* LB_HOOK_XDP in the driver's native mode */
	bool veth;	      /* its driver is veth */
	enum lb_dp_hook hook; /* valid when hook_set */
	bool hook_set;
	enum lb_ingress ingress; /* what the configuration asked for */
	/* value before lbd (this one or an earlier one) raised it, -1 when not lbd's */
	int saved_route_localnet;
	int saved_accept_local; /* the same for accept_local (full-nat) */
};

struct lb_dataplane {
	struct lb_bpf *skel;
	char pin_dir[PATH_MAX];
	int lock_fd; /* the pin folder, flocked: this lbd owns the instance (owner.h) */
	bool reused; /* maps were adopted from a previous lbd's pins */
	/*
	 * When adopted: the datapath's clock stood still from gap_from (the previous lbd's
	 * last tick) to gap_to (this lbd's first): a stamp in between is a packet of that
	 * time, not one of gap_from. 0: no gap.
	 */
	uint64_t gap_from, gap_to;
	struct lb_meta meta; /* what lb_meta says (the clock with it: each tick writes it) */
	size_t n_ifaces;
	struct lb_dp_iface *ifaces;
	int ncpus;
	struct lb_tracer *tracer; /* the trace instance (trace.h), loaded on first use */
};

struct lb_dp_opts {
	const char *bpffs;    /* BPF filesystem mount point; mounted when it is not one */
	const char *instance; /* pins go to <bpffs>/lbd/<instance> */
	const char *socket;   /* this lbd's control socket, for whoever finds the lock taken */
	uint32_t max_connections;
	int lock_wait_ms; /* wait this long for the instance's holder to let go (a hand-over) */
	/*
	 * The configuration has a full-nat proxy: its replies are translated from the first
	 * packet the new programs see (an adopted datapath's flows among them), with source
	 * ports snat_port_min..snat_port_max.
	 */
	bool fullnat;
	uint32_t snat_port_min, snat_port_max;
	/*
	 * Without @fullnat, asked of an adopted datapath before its new programs are attached:
	 * whether its conntrack holds full-nat flows (of the previous lbd), whose replies need
	 * full-nat on as well (NULL: never asked). A callback: the scan is the sweeper's.
	 */
	bool (*holds_fullnat)(const struct lb_dataplane *dp);
};

/*
 * Mount bpffs if needed, take the instance (owner.h: -EBUSY when another lbd holds it),
 * load the programs and create (or reuse) the pinned maps. Returns 0 or -errno with a
 * sentence in @err.
 */
int lb_dataplane_open(const struct lb_dp_opts *o, struct lb_dataplane **out, char *err,
		      size_t errlen);

/*
 * Would lb_dataplane_open() refuse the datapath pinned for @o's instance (another layout
 * version, another max-connections)? Reads its lb_meta and nothing else: no mount, no
 * lock, nothing written, so the lbd running it is not disturbed (lbd --takeover asks
 * before the hand-over). 0 also when nothing is pinned, else -errno with a sentence in @err.
 */
int lb_dataplane_check_pinned(const struct lb_dp_opts *o, char *err, size_t errlen);

/*
 * Attach TC egress (SNAT) then the request direction (DNAT) to @ifname, at XDP or TC
 * ingress as @ingress says (auto: TC on veth, native XDP elsewhere when the driver has it,
 * else TC); @mode is the XDP mode. @localnet allows 127.0.0.0/8 backends on this interface
 * (sets its route_localnet, restored on detach).
 */
int lb_dataplane_attach(struct lb_dataplane *dp, const char *ifname, enum lb_ingress ingress,
			enum lb_xdp_mode mode, bool localnet, char *err, size_t errlen);

/* Move the request direction of attached @ifname to the hook @ingress asks for. */
int lb_dataplane_set_ingress(struct lb_dataplane *dp, const char *ifname, enum lb_ingress ingress,
			     enum lb_xdp_mode mode, char *err, size_t errlen);

const char *lb_dataplane_hook_name(enum lb_dp_hook h);

/*
 * Advance the datapath's clock (lb_now_ns) to now, and record it in lb_meta for the next
 * lbd: lbd calls it every LB_CLOCK_TICK_MS.
 */
void lb_dataplane_tick(struct lb_dataplane *dp);

/* accept_local on @ifname (full-nat traffic comes in there) or back to what it was. */
void lb_dataplane_set_accept_local(struct lb_dataplane *dp, const char *ifname, bool on);

/*
 * Allow (or stop allowing) 127.0.0.0/8 backends behind @ifname: sets route_localnet, or
 * restores the value lbd found. Ignored for interfaces that are not attached.
 */
void lb_dataplane_set_localnet(struct lb_dataplane *dp, const char *ifname, bool on);

/* Detach from @ifname: XDP first (no new DNAT), then TC. Returns 0 or -ENOENT. */
int lb_dataplane_detach(struct lb_dataplane *dp, const char *ifname);

/*
 * The device of attached @ifname is gone (deleted, or deleted and created again under the
 * same name: another ifindex), and the kernel removed its XDP link and tc filters with it:
 * release what lbd still holds for it (the link, its pins) and forget it, touching nothing
 * of a namesake (its filters, its sysctls). Returns 0 or -ENOENT.
 */
int lb_dataplane_forget(struct lb_dataplane *dp, const char *ifname);

/* True when @ifname is attached. */
bool lb_dataplane_attached(const struct lb_dataplane *dp, const char *ifname);

/* Detach every interface and remove every pin and the instance folder. */
void lb_dataplane_teardown(struct lb_dataplane *dp);

/* The node's state kept with the datapath (owner.h): maintenance, announce table. */
int lb_dataplane_node_get(const struct lb_dataplane *dp, struct lb_node_state *out);
int lb_dataplane_node_set(struct lb_dataplane *dp, const struct lb_node_state *s);

/*
 * Remove what an lbd instance left pinned (after a crash, or a stop that kept the datapath):
 * its tc filters, XDP links, maps and folder. Refused (-EBUSY) while an lbd holds the
 * instance, unless @force. Returns 0 or -errno with a sentence in @err.
 */
int lb_dataplane_remove_pinned(const char *bpffs, const char *instance, bool force, char *err,
			       size_t errlen);

/* False once the instance's pin folder was removed under this lbd (teardown --force). */
bool lb_dataplane_present(const struct lb_dataplane *dp);

/* Release memory and file descriptors (pins and attachments stay); NULL is a no-op. */
void lb_dataplane_free(struct lb_dataplane *dp);

/* File descriptors of the maps, for the map writers. */
int lb_dataplane_fd_listen(const struct lb_dataplane *dp);
int lb_dataplane_fd_routes(const struct lb_dataplane *dp);
int lb_dataplane_fd_groups(const struct lb_dataplane *dp);
int lb_dataplane_fd_maglev(const struct lb_dataplane *dp);
int lb_dataplane_fd_gsets(const struct lb_dataplane *dp);
int lb_dataplane_fd_ct(const struct lb_dataplane *dp);
int lb_dataplane_fd_syn(const struct lb_dataplane *dp);	 /* flows not confirmed by their client */
int lb_dataplane_fd_snat(const struct lb_dataplane *dp); /* full-nat sources by target id */
int lb_dataplane_fd_pstats(const struct lb_dataplane *dp);
int lb_dataplane_fd_tstats(const struct lb_dataplane *dp);
int lb_dataplane_fd_lconn(const struct lb_dataplane *dp); /* live flows by target id */
int lb_dataplane_fd_gstats(const struct lb_dataplane *dp);
int lb_dataplane_fd_pnames(const struct lb_dataplane *dp);
int lb_dataplane_fd_tnames(const struct lb_dataplane *dp);
int lb_dataplane_fd_events(const struct lb_dataplane *dp); /* the lb_events ring buffer */

/*
 * The trace instance of this datapath (trace.h), loaded at the first call and kept.
 * *loaded_ns: how long this call spent loading it (0: it was loaded before). Returns 0 or
 * -errno with a sentence in @err.
 */
struct lb_tracer;
int lb_dataplane_tracer(struct lb_dataplane *dp, struct lb_tracer **out, uint64_t *loaded_ns,
			char *err, size_t errlen);

/* Turn the datapath's connection events (lb_events) on or off; takes effect at once. */
void lb_dataplane_set_events(struct lb_dataplane *dp, bool on);
bool lb_dataplane_events(const struct lb_dataplane *dp);

/*
 * Turn the full-nat reply path on (lb_fullnat_on), with new flows' source ports taken from
 * @port_min..@port_max (host order).
 */
void lb_dataplane_set_fullnat(struct lb_dataplane *dp, uint32_t port_min, uint32_t port_max);
/*
 * The fast path (settings.fast-path, bpf/lb_fast.h) on or off: rewritten packets leave from
 * the hook after a FIB lookup; takes effect at once.
 */
void lb_dataplane_set_fast_path(struct lb_dataplane *dp, bool on);
bool lb_dataplane_fast_path(const struct lb_dataplane *dp);

/*
 * Bring lb_fast_tx, the interfaces the fast path may XDP_REDIRECT to, up to date
 * (xdp_tx.h): after attaching or moving hooks, and when links or their xdp-features change.
 * Empty while the fast path is off.
 */
void lb_dataplane_sync_fast_tx(struct lb_dataplane *dp);

/* The range full-nat uses now, into @port_min..@port_max; false while full-nat is off. */
bool lb_dataplane_fullnat_range(const struct lb_dataplane *dp, uint32_t *port_min,
				uint32_t *port_max);

#endif /* LBD_DATAPLANE_H */
