// SPDX-License-Identifier: MIT
#include "dataplane.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <time.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "announce.h"
#include "hook_owner.h"
#include "if_sysctl.h"
#include "lb_abi.h"
#include "lb_ct_size.h"
#include "lb_log.h"
#include "lb.skel.h"
#include "neigh.h"
#include "owner.h"
#include "trace.h"
#include "xdp_tx.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	enum lb_log_level lvl = level == LIBBPF_WARN ? LB_LOG_WARN : LB_LOG_DEBUG;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	/* Netlink's own words for an expected miss (our tc filter not there yet): noise. */
	if (strstr(line, "Kernel error message"))
		lvl = LB_LOG_DEBUG;
	if (!lb_log_enabled(lvl))
		return 0;
	lb_log(lvl, "libbpf: %s", strncmp(line, "libbpf: ", 8) ? line : line + 8);
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Does the folder @dir hold anything? (False when it cannot be read: mount() will say.) */
static bool dir_has_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;

	while (d && !any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return any;
}

/*
 * Mount a BPF filesystem at @dir unless one is there already; only on an empty folder,
 * since a mount would hide what a mistyped --bpffs names.
 */
static int ensure_bpffs(const char *dir, char *err, size_t errlen)
{
	struct statfs st;
	int ret;

	if (statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (dir_has_entries(dir))
		return lb_errf(err, errlen, -ENOTEMPTY,
			       "%s is no BPF filesystem and holds files: lbd mounts one only on an "
			       "empty folder (check --bpffs, or mount a bpffs there yourself)",
			       dir);
	ret = mkdir_p(dir, 0700);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot create %s: %s", dir, strerror(-ret));
	/* A folder just made inside a bpffs is on it: another mount would hide the pins. */
	if (statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", dir, "bpf", 0, "mode=0700"))
		return lb_errf(err, errlen, -errno, "cannot mount a BPF filesystem at %s: %s", dir,
			       strerror(errno));
	lb_info("mounted a BPF filesystem at %s", dir);
	return 0;
}

/* The command that removes the datapath pinned at @pin_dir (<bpffs>/lbd/<instance>). */
static const char *teardown_cmd(const char *pin_dir, char *buf, size_t len)
{
	const char *inst = strrchr(pin_dir, '/');
	int root = inst ? (int)(inst - pin_dir) - (int)strlen("/lbd") : -1;

	if (root <= 0 || strncmp(pin_dir + root, "/lbd/", 5))
		snprintf(buf, len, "lbd --teardown (same --bpffs and --instance)");
	else
		snprintf(buf, len, "lbd --bpffs %.*s --instance %s --teardown", root, pin_dir,
			 inst + 1);
	return buf;
}

/*
 * A previous lbd may have left a datapath pinned here (lossless restart). Its maps are only
 * reused when their layout matches ours; anything else is refused, not reinterpreted.
 */
static int check_pinned_meta(const char *pin_dir, uint32_t max_connections, bool *reused,
			     uint64_t *clock_ns, char *err, size_t errlen)
{
	char cmd[PATH_MAX + 64];
	char path[PATH_MAX + 16];
	struct lb_meta meta = {};
	__u32 key = 0;
	int fd, ret = 0;

	*reused = false;
	*clock_ns = 0;
	snprintf(path, sizeof(path), "%s/lb_meta", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_map_lookup_elem(fd, &key, &meta) == 0 && meta.abi_version != 0) {
		if (meta.abi_version != LB_ABI_VERSION)
			ret = lb_errf(
				err, errlen, -EPROTO,
				"the datapath pinned at %s has layout version %u, this lbd uses "
				"%u; remove it first with: %s",
				pin_dir, meta.abi_version, LB_ABI_VERSION,
				teardown_cmd(pin_dir, cmd, sizeof(cmd)));
		else if (meta.max_connections != max_connections)
			ret = lb_errf(err, errlen, -EEXIST,
				      "the datapath pinned at %s tracks max-connections %u, the "
				      "configuration asks for %u; keep %u or remove it first "
				      "(tracked connections are dropped) with: %s",
				      pin_dir, meta.max_connections, max_connections,
				      meta.max_connections,
				      teardown_cmd(pin_dir, cmd, sizeof(cmd)));
		else
			*reused = true;
		*clock_ns = meta.clock_ns;
	}
	close(fd);
	return ret;
}

int lb_dataplane_check_pinned(const struct lb_dp_opts *o, char *err, size_t errlen)
{
	char pin_dir[PATH_MAX];
	uint64_t clock_ns;
	bool reused;

	if (snprintf(pin_dir, sizeof(pin_dir), "%s/lbd/%s", o->bpffs, o->instance) >=
	    (int)sizeof(pin_dir))
		return lb_errf(err, errlen, -ENAMETOOLONG, "pin path too long");
	return check_pinned_meta(pin_dir, o->max_connections, &reused, &clock_ns, err, errlen);
}

/*
 * A previous lbd left interfaces attached (pinned XDP links, tc filters): take each one
 * over by swapping in this lbd's programs, atomically, so forwarding never pauses. The
 * configuration applied next detaches those it no longer names.
 */
static int adopt_links(struct lb_dataplane *dp, char *err, size_t errlen)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct dirent *de;
	DIR *d = opendir(dp->pin_dir);
	int ret = 0;

	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		bool tc = !strncmp(de->d_name, "tc_", 3);
		const char *ifname;

		if (!tc && strncmp(de->d_name, "xdp_", 4))
			continue;
		/* after the prefix (strchr() + 1 was NULL + 1 for names without '_') */
		ifname = de->d_name + (tc ? 3 : 4);
		if (!if_nametoindex(ifname)) {
			/* The interface is gone, and its XDP link or tc filters with it. */
			snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
			unlink(path);
			continue;
		}
		/* Same hook as before; the configuration applied next may move it. */
		ret = lb_dataplane_attach(dp, ifname, tc ? LB_INGRESS_TC : LB_INGRESS_XDP,
					  LB_XDP_AUTO, false, err, errlen);
		if (!ret)
			lb_info("%s: adopted the running datapath", ifname);
	}
	closedir(d);
	return ret;
}

int lb_dataplane_open(const struct lb_dp_opts *o, struct lb_dataplane **out, char *err,
		      size_t errlen)
{
	struct lb_meta meta = {.abi_version = LB_ABI_VERSION};
	struct lb_dataplane *dp;
	__u32 key = 0;
	int ret;

	libbpf_set_print(libbpf_print);
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	dp->lock_fd = -1;
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		ret = lb_errf(err, errlen, -EINVAL, "cannot count the possible CPUs");
		goto err_free;
	}
	ret = ensure_bpffs(o->bpffs, err, errlen);
	if (ret)
		goto err_free;
	if (snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s/lbd/%s", o->bpffs, o->instance) >=
	    (int)sizeof(dp->pin_dir)) {
		ret = lb_errf(err, errlen, -ENAMETOOLONG, "pin path too long");
		goto err_free;
	}
	ret = mkdir_p(dp->pin_dir, 0700);
	if (ret) {
		lb_errf(err, errlen, ret, "cannot create %s: %s", dp->pin_dir, strerror(-ret));
		goto err_free;
	}
	/* Before any pinned object is read: another lbd may own them. */
	ret = lb_owner_lock(dp->pin_dir, o->lock_wait_ms, "cannot start",
			    "stop it first, or give this lbd its own --instance and --socket", err,
			    errlen);
	if (ret < 0)
		goto err_free;
	dp->lock_fd = ret;
	ret = check_pinned_meta(dp->pin_dir, o->max_connections, &dp->reused, &dp->gap_from, err,
				errlen);
	if (ret)
		goto err_free;

	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dp->pin_dir);
	dp->skel = lb_bpf__open_opts(&oo);
	if (!dp->skel) {
		ret = lb_errf(err, errlen, -errno, "cannot open the BPF object: %s",
			      strerror(errno));
		goto err_free;
	}
	/* Two entries per flow (one per direction), plus the LRU's per-CPU batches. */
	bpf_map__set_max_entries(dp->skel->maps.lb_ct,
				 lb_ct_entries(o->max_connections, dp->ncpus));
	bpf_map__set_max_entries(dp->skel->maps.lb_syn,
				 lb_ct_entries(lb_syn_flows(o->max_connections), dp->ncpus));
	ret = lb_bpf__load(dp->skel);
	if (ret) {
		lb_errf(err, errlen, ret,
			"cannot load the BPF programs: %s (run with -v for the verifier log)",
			strerror(-ret));
		goto err_destroy;
	}
	meta.max_connections = o->max_connections;
	dp->meta = meta;
	lb_dataplane_tick(dp);
	dp->gap_to = dp->gap_from ? dp->meta.clock_ns : 0;
	if (dp->gap_from)
		lb_debug("the datapath's clock stood still for %llu ms before this lbd",
			 (unsigned long long)((dp->gap_to - dp->gap_from) / 1000000));
	ret = bpf_map_update_elem(bpf_map__fd(dp->skel->maps.lb_meta), &key, &dp->meta, BPF_ANY);
	if (ret) {
		lb_errf(err, errlen, -errno, "cannot write lb_meta: %s", strerror(errno));
		goto err_unpin;
	}
	ret = lb_owner_publish(bpf_map__fd(dp->skel->maps.lb_owner), o->socket);
	if (ret) {
		lb_errf(err, errlen, ret, "cannot write lb_owner: %s", strerror(-ret));
		goto err_unpin;
	}
	/*
	 * The new programs start with full-nat off: an adopted conntrack may hold full-nat
	 * flows of the previous lbd whose replies need it, whether or not this configuration
	 * still has a full-nat proxy (they finish where they started).
	 */
	if (o->fullnat || (dp->reused && o->holds_fullnat && o->holds_fullnat(dp)))
		lb_dataplane_set_fullnat(dp, o->snat_port_min, o->snat_port_max);
	if (dp->reused) {
		ret = adopt_links(dp, err, errlen);
		if (ret) {
			lb_dataplane_free(dp);
			return ret;
		}
	}
	lb_info("datapath %s at %s", dp->reused ? "adopted" : "loaded and pinned", dp->pin_dir);
	*out = dp;
	return 0;

err_unpin:
	if (!dp->reused)
		bpf_object__unpin_maps(dp->skel->obj, NULL);
err_destroy:
	lb_bpf__destroy(dp->skel);
err_free:
	if (dp->lock_fd >= 0)
		close(dp->lock_fd);
	free(dp);
	return ret;
}

bool lb_dataplane_present(const struct lb_dataplane *dp)
{
	return dp->lock_fd < 0 || lb_owner_present(dp->lock_fd);
}

static struct lb_dp_iface *find_iface(const struct lb_dataplane *dp, const char *ifname)
{
	size_t i;

	for (i = 0; i < dp->n_ifaces; i++)
		if (!strcmp(dp->ifaces[i].name, ifname))
			return &dp->ifaces[i];
	return NULL;
}

bool lb_dataplane_attached(const struct lb_dataplane *dp, const char *ifname)
{
	return find_iface(dp, ifname) != NULL;
}

/* The map whose extra pins mark the sysctl values lbd found (if_sysctl.h). */
static int sysctl_mark_fd(const struct lb_dataplane *dp)
{
	return bpf_map__fd(dp->skel->maps.lb_meta);
}

/*
 * A backend on 127.0.0.0/8 receives packets that arrived on @ifname with a loopback
 * destination; the kernel drops those as martians unless route_localnet is set on it.
 */
static int set_route_localnet(struct lb_dataplane *dp, struct lb_dp_iface *ifc)
{
	int was = lb_if_sysctl_raise(dp->pin_dir, sysctl_mark_fd(dp), ifc->name,
				     LB_SYSCTL_ROUTE_LOCALNET);

	if (was < -1)
		return was;
	ifc->saved_route_localnet = was;
	return 0;
}

static void restore_route_localnet(struct lb_dataplane *dp, struct lb_dp_iface *ifc)
{
	lb_if_sysctl_restore(dp->pin_dir, ifc->name, LB_SYSCTL_ROUTE_LOCALNET);
	ifc->saved_route_localnet = -1;
}

/*
 * A full-nat request leaves the hook with the LB's own address as its source, a full-nat
 * reply with the listener's: the kernel drops packets that arrive with a local source
 * address as martians unless accept_local is set on the interface they came in on.
 */
static void set_accept_local(struct lb_dataplane *dp, struct lb_dp_iface *ifc, bool on)
{
	int was;

	if (!on) {
		lb_if_sysctl_restore(dp->pin_dir, ifc->name, LB_SYSCTL_ACCEPT_LOCAL);
		ifc->saved_accept_local = -1;
		return;
	}
	if (ifc->saved_accept_local >= 0)
		return;
	was = lb_if_sysctl_raise(dp->pin_dir, sysctl_mark_fd(dp), ifc->name,
				 LB_SYSCTL_ACCEPT_LOCAL);
	if (was < -1)
		lb_warn("%s: cannot set accept_local: full-nat packets through it will be dropped",
			ifc->name);
	else
		ifc->saved_accept_local = was;
}

void lb_dataplane_set_accept_local(struct lb_dataplane *dp, const char *ifname, bool on)
{
	struct lb_dp_iface *ifc = find_iface(dp, ifname);

	if (ifc)
		set_accept_local(dp, ifc, on);
}

static void xdp_link_path(const struct lb_dataplane *dp, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/xdp_%s", dp->pin_dir, ifname);
}

static __u32 xdp_mode_flags(enum lb_xdp_mode mode)
{
	switch (mode) {
	case LB_XDP_NATIVE:
		return XDP_FLAGS_DRV_MODE;
	case LB_XDP_GENERIC:
		return XDP_FLAGS_SKB_MODE;
	default:
		return 0; /* the kernel picks native when the driver has it, generic otherwise */
	}
}

/*
 * The sentence for a hook of @ifname that lbd leaves alone: @whose (lb_hook_whose()'s
 * answer) says another instance (@other) serves it, or that the program there could
 * not be read. @hook names it ("tc egress filter").
 */
static int refuse_hook(const char *pin_dir, const char *ifname, const char *hook, int whose,
		       const char *other, char *err, size_t errlen)
{
	char dir[PATH_MAX], cmd[PATH_MAX + 64];

	if (whose == LB_HOOK_OTHER) {
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)(strrchr(pin_dir, '/') - pin_dir),
			 pin_dir, other);
		return lb_errf(err, errlen, -EBUSY,
			       "%s is served by another lbd instance, %s (its %s, datapath pinned "
			       "in %s): remove %s from this configuration or from that "
			       "instance's, or stop that lbd and remove its datapath first (%s)",
			       ifname, other, hook, dir, ifname,
			       teardown_cmd(dir, cmd, sizeof(cmd)));
	}
	return lb_errf(err, errlen, whose,
		       "%s: cannot tell which lbd instance runs the %s there: %s%s", ifname, hook,
		       strerror(-whose),
		       whose == -EPERM ? " (reading a program by its id takes CAP_SYS_ADMIN)" : "");
}

/*
 * The XDP slot of @ifc is taken (@e). The kernel never lets a link replace another
 * program, so another instance's is safe already; say whose it is.
 */
static int xdp_taken(struct lb_dataplane *dp, struct lb_dp_iface *ifc, int e, char *err,
		     size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char other[NAME_MAX + 1] = "";
	int whose = LB_HOOK_FOREIGN;

	if (bpf_xdp_query(ifc->ifindex, 0, &q) == 0 && q.prog_id)
		whose = lb_hook_whose(q.prog_id, dp->pin_dir, other, sizeof(other));
	if (whose == LB_HOOK_OTHER)
		return refuse_hook(dp->pin_dir, ifc->name, "XDP program", whose, other, err,
				   errlen);
	return lb_errf(err, errlen, e,
		       "%s: another XDP program is attached; detach it first "
		       "(ip link set dev %s xdp off)",
		       ifc->name, ifc->name);
}

/*
 * Attach XDP through a pinned link: the link outlives lbd while pinned, and a link that a
 * previous lbd pinned for this interface is taken over by swapping in our program.
 */
static int attach_xdp(struct lb_dataplane *dp, struct lb_dp_iface *ifc, enum lb_xdp_mode mode,
		      char *err, size_t errlen)
{
	int prog_fd = bpf_program__fd(dp->skel->progs.lb_xdp_ingress);
	char path[PATH_MAX + 32];
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = xdp_mode_flags(mode));
	int fd;

	xdp_link_path(dp, ifc->name, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_link_update(fd, prog_fd, NULL)) {
			int e = -errno;

			close(fd);
			return lb_errf(err, errlen, e, "%s: cannot update the pinned XDP link: %s",
				       ifc->name, strerror(-e));
		}
	} else {
		fd = bpf_link_create(prog_fd, ifc->ifindex, BPF_XDP, &lo);
		if (fd < 0) {
			int e = -errno;

			if (e == -EBUSY || e == -EEXIST)
				return xdp_taken(dp, ifc, e, err, errlen);
			return lb_errf(err, errlen, e, "%s: cannot attach XDP in %s mode: %s",
				       ifc->name, lb_xdp_mode_name(mode), strerror(-e));
		}
		if (bpf_obj_pin(fd, path)) {
			int e = -errno;

			close(fd);
			return lb_errf(err, errlen, e, "cannot pin %s: %s", path, strerror(-e));
		}
	}
	if (ifc->xdp_link_fd >= 0)
		close(ifc->xdp_link_fd); /* the same link, opened again from its pin */
	ifc->xdp_link_fd = fd;
	ifc->xdp_native = false;
	if (bpf_xdp_query(ifc->ifindex, 0, &q) == 0) {
		ifc->xdp_native = q.attach_mode == XDP_ATTACHED_DRV;
		lb_info("%s: XDP attached in %s mode", ifc->name,
			q.attach_mode == XDP_ATTACHED_DRV   ? "native"
			: q.attach_mode == XDP_ATTACHED_SKB ? "generic"
							    : "offload/multi");
	}
	return 0;
}

static void detach_xdp(struct lb_dataplane *dp, struct lb_dp_iface *ifc)
{
	char path[PATH_MAX + 32];

	xdp_link_path(dp, ifc->name, path, sizeof(path));
	/* A link a previous lbd pinned, when this one never opened it. */
	if (ifc->xdp_link_fd < 0)
		ifc->xdp_link_fd = bpf_obj_get(path);
	if (ifc->xdp_link_fd < 0)
		return;
	unlink(path);
	/* With the pin gone, closing the last fd releases the link and detaches XDP. */
	bpf_link_detach(ifc->xdp_link_fd);
	close(ifc->xdp_link_fd);
	ifc->xdp_link_fd = -1;
	ifc->xdp_native = false;
}

static const char *tc_dir(enum bpf_tc_attach_point at)
{
	return at == BPF_TC_INGRESS ? "ingress" : "egress";
}

/*
 * Our own clsact filter at @at running @prog. clsact is created when missing and never
 * removed (other users may share it); a filter at our handle/priority is replaced only if
 * it runs this instance's programs (a previous lbd of it left them), or an lbd's whose
 * datapath is no longer pinned anywhere (nobody else can serve or remove it). Another
 * instance's filter is refused: every instance uses the same handle and priority.
 */
static int attach_tc(const char *pin_dir, struct lb_dp_iface *ifc, enum bpf_tc_attach_point at,
		     struct bpf_program *prog, char *err, size_t errlen)
{
	char other[NAME_MAX + 1] = "", what[32];
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = at);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = LB_TC_HANDLE, .priority = LB_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = LB_TC_HANDLE, .priority = LB_TC_PRIO,
		    .prog_fd = bpf_program__fd(prog));
	int ret, whose;

	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST)
		return lb_errf(err, errlen, ret, "%s: cannot create the clsact qdisc: %s",
			       ifc->name, strerror(-ret));
	if (bpf_tc_query(&hook, &q) == 0) {
		whose = lb_hook_whose(q.prog_id, pin_dir, other, sizeof(other));
		snprintf(what, sizeof(what), "tc %s filter", tc_dir(at));
		if (whose == LB_HOOK_FOREIGN)
			return lb_errf(err, errlen, -EEXIST,
				       "%s: a foreign tc %s filter uses handle 0x%x priority "
				       "0x%x; lbd will not replace it",
				       ifc->name, tc_dir(at), LB_TC_HANDLE, LB_TC_PRIO);
		if (whose != LB_HOOK_OURS && whose != LB_HOOK_ORPHAN)
			return refuse_hook(pin_dir, ifc->name, what, whose, other, err, errlen);
		if (whose == LB_HOOK_ORPHAN)
			lb_info("%s: replacing the %s of an lbd whose datapath is no longer pinned",
				ifc->name, what);
		to.flags = BPF_TC_F_REPLACE;
	}
	ret = bpf_tc_attach(&hook, &to);
	if (ret)
		return lb_errf(err, errlen, ret, "%s: cannot attach the tc %s filter: %s",
			       ifc->name, tc_dir(at), strerror(-ret));
	return 0;
}

/*
 * Remove the filter at @at if it runs the programs of the instance pinned at @pin_dir;
 * anything else there (another instance's, a foreign one) is left alone.
 */
static void detach_tc(const char *pin_dir, unsigned int ifindex, enum bpf_tc_attach_point at)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
	LIBBPF_OPTS(bpf_tc_opts, q, .handle = LB_TC_HANDLE, .priority = LB_TC_PRIO);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = LB_TC_HANDLE, .priority = LB_TC_PRIO);
	char other[NAME_MAX + 1] = "", ifname[IF_NAMESIZE] = "?";
	int whose;

	if (bpf_tc_query(&hook, &q))
		return;
	whose = lb_hook_whose(q.prog_id, pin_dir, other, sizeof(other));
	if (whose == LB_HOOK_OURS) {
		bpf_tc_detach(&hook, &o);
		return;
	}
	if_indextoname(ifindex, ifname);
	if (whose == LB_HOOK_OTHER)
		lb_info("%s: left the tc %s filter of lbd instance %s in place", ifname, tc_dir(at),
			other);
	else if (whose < 0)
		lb_warn("%s: left the tc %s filter in place: cannot tell which lbd instance runs it: "
			"%s",
			ifname, tc_dir(at), strerror(-whose));
}

static void tc_marker_path(const struct lb_dataplane *dp, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/tc_%s", dp->pin_dir, ifname);
}

/*
 * The request direction at TC ingress. tc filters cannot be pinned like XDP links, so the
 * program is pinned as tc_<ifname>: the mark by which a restarted lbd (or --teardown)
 * finds the interfaces that run it.
 */
static int attach_tc_ingress(struct lb_dataplane *dp, struct lb_dp_iface *ifc, char *err,
			     size_t errlen)
{
	char path[PATH_MAX + 32];
	int ret;

	ret = attach_tc(dp->pin_dir, ifc, BPF_TC_INGRESS, dp->skel->progs.lb_tc_ingress, err,
			errlen);
	if (ret)
		return ret;
	tc_marker_path(dp, ifc->name, path, sizeof(path));
	unlink(path);
	if (bpf_obj_pin(bpf_program__fd(dp->skel->progs.lb_tc_ingress), path)) {
		ret = -errno;
		detach_tc(dp->pin_dir, ifc->ifindex, BPF_TC_INGRESS);
		return lb_errf(err, errlen, ret, "cannot pin %s: %s", path, strerror(-ret));
	}
	ifc->tc_ingress = true;
	return 0;
}

static void detach_tc_ingress(struct lb_dataplane *dp, struct lb_dp_iface *ifc)
{
	char path[PATH_MAX + 32];

	detach_tc(dp->pin_dir, ifc->ifindex, BPF_TC_INGRESS);
	tc_marker_path(dp, ifc->name, path, sizeof(path));
	unlink(path);
	ifc->tc_ingress = false;
}

/* The kernel driver of @ifname ("veth", "mlx5_core", ...), or "" when it cannot tell. */
static void driver_of(const char *ifname, char *out, size_t len)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	out[0] = '\0';
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(out, len, "%s", info.driver);
	close(fd);
}

const char *lb_dataplane_hook_name(enum lb_dp_hook h)
{
	return h == LB_HOOK_TC ? "tc" : "xdp";
}

/*
 * Put the request direction of @ifc on the hook @ingress asks for: XDP (in @mode), TC
 * ingress, or for auto TC on veth (native XDP there turns off the peer's segmentation
 * offload) and native XDP elsewhere, TC when the driver has no native XDP. The new hook is
 * attached before the old one goes: for a moment both may run, and a packet the first
 * rewrote matches nothing in the second, which passes it on.
 */
static int set_ingress(struct lb_dataplane *dp, struct lb_dp_iface *ifc, enum lb_ingress ingress,
		       enum lb_xdp_mode mode, char *err, size_t errlen)
{
	enum lb_dp_hook want = LB_HOOK_XDP;
	char driver[32];
	int ret;

	driver_of(ifc->name, driver, sizeof(driver));
	ifc->veth = !strcmp(driver, "veth");
	if (ingress == LB_INGRESS_TC || (ingress == LB_INGRESS_AUTO && !strcmp(driver, "veth")))
		want = LB_HOOK_TC;
	if (ifc->hook_set && ifc->hook == want && ifc->ingress == ingress)
		return 0;
	ifc->ingress = ingress;
	if (want == LB_HOOK_XDP) {
		/* auto: native or nothing, TC being the better second choice than generic. */
		if (ingress == LB_INGRESS_AUTO && mode == LB_XDP_AUTO)
			mode = LB_XDP_NATIVE;
		ret = attach_xdp(dp, ifc, mode, err, errlen);
		if (ret && ingress == LB_INGRESS_AUTO) {
			lb_info("%s: no native XDP (%s); using tc ingress", ifc->name, err);
			want = LB_HOOK_TC;
		} else if (ret) {
			return ret;
		}
	}
	if (want == LB_HOOK_TC) {
		ret = attach_tc_ingress(dp, ifc, err, errlen);
		if (ret)
			return ret;
		detach_xdp(dp, ifc);
	} else {
		detach_tc_ingress(dp, ifc);
	}
	if (ifc->hook != want || !ifc->hook_set)
		lb_info("%s: requests at %s%s%s", ifc->name,
			want == LB_HOOK_TC ? "tc ingress" : "XDP", driver[0] ? ", driver " : "",
			driver);
	ifc->hook = want;
	ifc->hook_set = true;
	return 0;
}

int lb_dataplane_attach(struct lb_dataplane *dp, const char *ifname, enum lb_ingress ingress,
			enum lb_xdp_mode mode, bool localnet, char *err, size_t errlen)
{
	struct lb_dp_iface *grown, *ifc;
	unsigned int idx;
	int ret;

	if (find_iface(dp, ifname))
		return 0;
	idx = if_nametoindex(ifname);
	if (!idx)
		return lb_errf(err, errlen, -ENODEV, "interface %s does not exist", ifname);
	grown = realloc(dp->ifaces, (dp->n_ifaces + 1) * sizeof(*dp->ifaces));
	if (!grown)
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	dp->ifaces = grown;
	ifc = &dp->ifaces[dp->n_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", ifname);
	ifc->ifindex = idx;
	ifc->xdp_link_fd = -1;
	ifc->saved_route_localnet = -1;
	ifc->saved_accept_local = -1;
	ifc->hook_set = false;

	if (localnet && set_route_localnet(dp, ifc))
		lb_warn("%s: cannot set route_localnet; 127.0.0.0/8 backends will not be reached",
			ifname);
	/* Replies must be translated before the first request is: egress first. */
	ret = attach_tc(dp->pin_dir, ifc, BPF_TC_EGRESS, dp->skel->progs.lb_tc_egress, err, errlen);
	if (ret)
		goto err_restore;
	ret = set_ingress(dp, ifc, ingress, mode, err, errlen);
	if (ret)
		goto err_tc;
	dp->n_ifaces++;
	return 0;

err_tc:
	detach_tc(dp->pin_dir, ifc->ifindex, BPF_TC_EGRESS);
err_restore:
	restore_route_localnet(dp, ifc);
	return ret;
}

int lb_dataplane_set_ingress(struct lb_dataplane *dp, const char *ifname, enum lb_ingress ingress,
			     enum lb_xdp_mode mode, char *err, size_t errlen)
{
	struct lb_dp_iface *ifc = find_iface(dp, ifname);

	if (!ifc)
		return lb_errf(err, errlen, -ENOENT, "%s is not attached", ifname);
	return set_ingress(dp, ifc, ingress, mode, err, errlen);
}

void lb_dataplane_tick(struct lb_dataplane *dp)
{
	struct timespec ts;
	__u32 key = 0;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	__atomic_store_n(&dp->skel->bss->lb_now_ns, now, __ATOMIC_RELAXED);
	/* Where the clock stands, for the lbd after this one (before load: written then). */
	dp->meta.clock_ns = now;
	if (dp->meta.abi_version)
		bpf_map_update_elem(bpf_map__fd(dp->skel->maps.lb_meta), &key, &dp->meta, BPF_ANY);
}

void lb_dataplane_set_localnet(struct lb_dataplane *dp, const char *ifname, bool on)
{
	struct lb_dp_iface *ifc = find_iface(dp, ifname);

	if (!ifc)
		return;
	if (on && ifc->saved_route_localnet < 0)
		set_route_localnet(dp, ifc);
	else if (!on)
		restore_route_localnet(dp, ifc);
}

int lb_dataplane_detach(struct lb_dataplane *dp, const char *ifname)
{
	struct lb_dp_iface *ifc = find_iface(dp, ifname);

	if (!ifc)
		return -ENOENT;
	detach_xdp(dp, ifc);
	detach_tc_ingress(dp, ifc);
	detach_tc(dp->pin_dir, ifc->ifindex, BPF_TC_EGRESS);
	restore_route_localnet(dp, ifc);
	set_accept_local(dp, ifc, false);
	*ifc = dp->ifaces[--dp->n_ifaces];
	return 0;
}

int lb_dataplane_forget(struct lb_dataplane *dp, const char *ifname)
{
	struct lb_dp_iface *ifc = find_iface(dp, ifname);
	char path[PATH_MAX + 32];

	if (!ifc)
		return -ENOENT;
	/*
	 * The XDP link outlives its device, defunct, while pinned: released here, or the next
	 * attach to a namesake would update it and fail (ENOLINK). The tc filters went with
	 * the device's qdisc; only the mark is left.
	 */
	detach_xdp(dp, ifc);
	tc_marker_path(dp, ifc->name, path, sizeof(path));
	unlink(path);
	/*
	 * No restore_route_localnet() nor set_accept_local(false): the values were the gone
	 * device's, and a write now would change a namesake's. Their marks go.
	 */
	lb_if_sysctl_forget(dp->pin_dir, ifc->name, LB_SYSCTL_ROUTE_LOCALNET);
	lb_if_sysctl_forget(dp->pin_dir, ifc->name, LB_SYSCTL_ACCEPT_LOCAL);
	*ifc = dp->ifaces[--dp->n_ifaces];
	return 0;
}

/*
 * The datapath goes: so do the addresses it announced (announce.h), unless a running lbd
 * claims that table and protocol (another instance's: they are its routes now), and the
 * neighbour entries lbd made for its dsr targets (neigh.h).
 */
static void withdraw_all(const struct lb_node_state *ns)
{
	char err[LB_ERR_MAX];
	int ret = ns->announce_table
			  ? lb_announce_withdraw_unclaimed(ns->announce_table,
							   ns->announce_protocol, err, sizeof(err))
			  : 0;

	if (ret < 0)
		lb_warn("%s", err);
	else if (ret)
		lb_warn("routing table %u, protocol %u: another lbd running in this network "
			"namespace announces there; its routes stay (not withdrawn)",
			ns->announce_table, ns->announce_protocol);
	else if (ns->announce_table)
		lb_info("withdrew the announcements in routing table %u", ns->announce_table);
	ret = lb_neigh_remove_all();
	if (ret)
		lb_warn("cannot remove the neighbour entries lbd made for dsr targets (%s): "
			"`ip neigh show proto %d` lists them, `ip neigh del` removes one",
			strerror(-ret), LB_NEIGH_PROTOCOL);
}

int lb_dataplane_node_get(const struct lb_dataplane *dp, struct lb_node_state *out)
{
	return lb_owner_node_get(bpf_map__fd(dp->skel->maps.lb_owner), out);
}

int lb_dataplane_node_set(struct lb_dataplane *dp, const struct lb_node_state *s)
{
	return lb_owner_node_set(bpf_map__fd(dp->skel->maps.lb_owner), s);
}

void lb_dataplane_teardown(struct lb_dataplane *dp)
{
	struct lb_node_state ns;
	char parent[PATH_MAX];
	char *slash;

	if (!lb_dataplane_node_get(dp, &ns))
		withdraw_all(&ns);
	while (dp->n_ifaces)
		lb_dataplane_detach(dp, dp->ifaces[0].name);
	bpf_object__unpin_maps(dp->skel->obj, NULL);
	if (rmdir(dp->pin_dir) && errno != ENOENT)
		lb_warn("cannot remove %s: %s", dp->pin_dir, strerror(errno));
	/* Also <bpffs>/lbd when this was its last instance. */
	snprintf(parent, sizeof(parent), "%s", dp->pin_dir);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		rmdir(parent);
	}
	lb_info("datapath removed from %s", dp->pin_dir);
}

void lb_dataplane_free(struct lb_dataplane *dp)
{
	size_t i;

	if (!dp)
		return;
	for (i = 0; i < dp->n_ifaces; i++)
		if (dp->ifaces[i].xdp_link_fd >= 0)
			close(dp->ifaces[i].xdp_link_fd);
	free(dp->ifaces);
	lb_tracer_free(dp->tracer);
	lb_bpf__destroy(dp->skel);
	if (dp->lock_fd >= 0)
		close(dp->lock_fd); /* the instance is free for the next lbd */
	free(dp);
}

#define DP_FD(name)                                               \
	int lb_dataplane_fd_##name(const struct lb_dataplane *dp) \
	{                                                         \
		return bpf_map__fd(dp->skel->maps.lb_##name);     \
	}
DP_FD(listen)
DP_FD(routes)
DP_FD(groups)
DP_FD(maglev)
DP_FD(gsets)
DP_FD(ct)
DP_FD(syn)
DP_FD(snat)
DP_FD(pstats)
DP_FD(tstats)
DP_FD(lconn)
DP_FD(gstats)
DP_FD(pnames)
DP_FD(tnames)
DP_FD(events)

int lb_dataplane_tracer(struct lb_dataplane *dp, struct lb_tracer **out, uint64_t *loaded_ns,
			char *err, size_t errlen)
{
	int ret;

	*loaded_ns = 0;
	if (!dp->tracer) {
		ret = lb_tracer_open(dp->skel, &dp->tracer, err, errlen);
		if (ret)
			return ret;
		*loaded_ns = lb_tracer_load_ns(dp->tracer);
		lb_info("trace instance of the datapath loaded in %llu ms",
			(unsigned long long)(*loaded_ns / 1000000));
	}
	*out = dp->tracer;
	return 0;
}

void lb_dataplane_set_events(struct lb_dataplane *dp, bool on)
{
	/* .bss is memory-mapped: the programs see the store at their next packet. */
	__atomic_store_n(&dp->skel->bss->lb_events_on, on ? 1u : 0u, __ATOMIC_RELAXED);
}

bool lb_dataplane_fullnat_range(const struct lb_dataplane *dp, uint32_t *port_min,
				uint32_t *port_max)
{
	uint32_t n = __atomic_load_n(&dp->skel->bss->lb_snat_port_n, __ATOMIC_ACQUIRE);

	if (!__atomic_load_n(&dp->skel->bss->lb_fullnat_on, __ATOMIC_ACQUIRE) || !n)
		return false;
	*port_min = __atomic_load_n(&dp->skel->bss->lb_snat_port_min, __ATOMIC_RELAXED);
	*port_max = *port_min + n - 1;
	return true;
}

void lb_dataplane_set_fullnat(struct lb_dataplane *dp, uint32_t port_min, uint32_t port_max)
{
	/* The range first: a packet that sees lb_fullnat_on must see a range too. */
	__atomic_store_n(&dp->skel->bss->lb_snat_port_min, port_min, __ATOMIC_RELAXED);
	__atomic_store_n(&dp->skel->bss->lb_snat_port_n, port_max - port_min + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&dp->skel->bss->lb_fullnat_on, 1u, __ATOMIC_RELEASE);
}

void lb_dataplane_set_fast_path(struct lb_dataplane *dp, bool on)
{
	__atomic_store_n(&dp->skel->bss->lb_fast_on, on ? 1u : 0u, __ATOMIC_RELAXED);
}

bool lb_dataplane_fast_path(const struct lb_dataplane *dp)
{
	return __atomic_load_n(&dp->skel->bss->lb_fast_on, __ATOMIC_RELAXED) != 0;
}

void lb_dataplane_sync_fast_tx(struct lb_dataplane *dp)
{
	uint32_t native[LB_MAX_FAST_TX];
	size_t i, n = 0;
	bool known;
	int ret;

	/*
	 * Read only by the fast path: emptied while it is off, so that turning it on falls
	 * back (safe) until this fills it (lbd_attach_commit()), never uses an old set.
	 */
	if (!lb_dataplane_fast_path(dp)) {
		lb_xdp_tx_clear(bpf_map__fd(dp->skel->maps.lb_fast_tx));
		return;
	}
	for (i = 0; i < dp->n_ifaces && n < sizeof(native) / sizeof(native[0]); i++)
		if (dp->ifaces[i].hook_set && dp->ifaces[i].hook == LB_HOOK_XDP &&
		    dp->ifaces[i].xdp_native && !dp->ifaces[i].veth)
			native[n++] = dp->ifaces[i].ifindex;
	ret = lb_xdp_tx_sync(bpf_map__fd(dp->skel->maps.lb_fast_tx), native, n, &known);
	if (ret < 0)
		lb_warn("cannot update lb_fast_tx (interfaces that take XDP frames): %s; the fast "
			"path at XDP keeps the previous set",
			strerror(-ret));
	else
		lb_debug("lb_fast_tx: %d interfaces take XDP frames (%s)", ret,
			 known ? "the kernel's xdp-features"
			       : "no xdp-features: lbd's native XDP interfaces, not veth");
}

bool lb_dataplane_events(const struct lb_dataplane *dp)
{
	return __atomic_load_n(&dp->skel->bss->lb_events_on, __ATOMIC_RELAXED) != 0;
}

int lb_dataplane_remove_pinned(const char *bpffs, const char *instance, bool force, char *err,
			       size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct lb_node_state ns;
	struct dirent *de;
	int lock = -1;
	DIR *d;
	int removed = 0;

	if (snprintf(dir, sizeof(dir), "%s/lbd/%s", bpffs, instance) >= (int)sizeof(dir))
		return lb_errf(err, errlen, -ENAMETOOLONG, "pin path too long");
	d = opendir(dir);
	if (!d)
		return lb_errf(err, errlen, -errno, "nothing to remove at %s: %s", dir,
			       strerror(errno));
	if (!force) {
		lock = lb_owner_lock(
			dir, 0, "refusing to remove it",
			"stop that lbd first (its datapath stays running after a stop), "
			"or add --force to remove it from under it",
			err, errlen);
		if (lock < 0) {
			closedir(d);
			return lock;
		}
	}
	lb_owner_node_read(dir, &ns);
	withdraw_all(&ns);
	/*
	 * The filters first, while the maps that tell this instance's filters from another's
	 * are still pinned (lb_hook_whose()).
	 */
	while ((de = readdir(d))) {
		unsigned int ifindex;

		if (strncmp(de->d_name, "xdp_", 4) && strncmp(de->d_name, "tc_", 3))
			continue;
		/* The pin names an interface whose tc filters may be ours. */
		ifindex = if_nametoindex(strchr(de->d_name, '_') + 1);
		if (ifindex) {
			detach_tc(dir, ifindex, BPF_TC_INGRESS);
			detach_tc(dir, ifindex, BPF_TC_EGRESS);
		}
	}
	/* The sysctls lbd raised go back to what they were before (if_sysctl.h). */
	lb_if_sysctl_restore_all(dir);
	rewinddir(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			removed++;
		else
			lb_warn("cannot remove %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(dir)) {
		int e = errno;

		if (lock >= 0)
			close(lock);
		return lb_errf(err, errlen, -e, "cannot remove %s: %s", dir, strerror(e));
	}
	if (lock >= 0)
		close(lock);
	snprintf(path, sizeof(path), "%s/lbd", bpffs);
	rmdir(path);
	lb_info("removed %d pins from %s", removed, dir);
	return 0;
}
