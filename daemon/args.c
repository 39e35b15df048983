// SPDX-License-Identifier: MIT
#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_addr.h"

enum {
	OPT_BPFFS = 0x100,
	OPT_INSTANCE,
	OPT_XDP_MODE,
	OPT_INGRESS,
	OPT_CHECK,
	OPT_TEARDOWN,
	OPT_TEARDOWN_ON_EXIT,
	OPT_FORCE,
	OPT_TAKEOVER,
	OPT_SOCKET,
	OPT_SOCKET_GROUP,
	OPT_VERSION,
	OPT_END, /* one past the last */
};

static const struct option long_opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"interface", required_argument, NULL, 'i'},
	{"port", required_argument, NULL, 'p'},
	{"target", required_argument, NULL, 't'},
	{"protocol", required_argument, NULL, 'P'},
	{"hash", required_argument, NULL, 'H'},
	{"forwarding", required_argument, NULL, 'm'},
	{"selection", required_argument, NULL, 'S'},
	{"stats", no_argument, NULL, 's'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"bpffs", required_argument, NULL, OPT_BPFFS},
	{"instance", required_argument, NULL, OPT_INSTANCE},
	{"xdp-mode", required_argument, NULL, OPT_XDP_MODE},
	{"ingress", required_argument, NULL, OPT_INGRESS},
	{"check", optional_argument, NULL, OPT_CHECK},
	{"teardown", no_argument, NULL, OPT_TEARDOWN},
	{"teardown-on-exit", no_argument, NULL, OPT_TEARDOWN_ON_EXIT},
	{"force", no_argument, NULL, OPT_FORCE},
	{"takeover", no_argument, NULL, OPT_TAKEOVER},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

void lbd_args_usage(FILE *out)
{
	fprintf(out,
		"Usage: lbd -c FILE [options]\n"
		"       lbd -i IFACE [-i IFACE ...] [-p PORT] [-t IP:PORT[@WEIGHT] ...] [options]\n"
		"\n"
		"eBPF layer-4 load balancer: XDP rewrites new connections to backends, TC egress\n"
		"rewrites their replies.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE       configuration file (JSON)\n"
		"  -i, --interface IFACE   interface to listen on (repeatable; flag mode)\n"
		"  -p, --port PORT         listen port (default: 80; flag mode)\n"
		"  -t, --target TARGET     backend as ip:port or ip:port@weight, an IPv6 one\n"
		"                          [ipv6]:port@weight (repeatable, up to 256: 2-8\n"
		"                          weights sum to 100, more are relative shares, all\n"
		"                          given or none; default: 127.0.0.1:8080; flag mode)\n"
		"  -P, --protocol PROTO    tcp, udp or both (default: tcp; flag mode)\n"
		"  -H, --hash HASH         5-tuple (default) or source-address[/PREFIX]: every\n"
		"                          connection of a client (of a /PREFIX of clients) to\n"
		"                          one target (flag mode)\n"
		"  -m, --forwarding MODE   nat (default), full-nat (the backends see an LB\n"
		"                          address) or dsr (backends on this L2 segment answer\n"
		"                          the clients themselves; target port = -p) (flag mode)\n"
		"  -S, --selection SEL     maglev (default: the consistent hash) or\n"
		"                          least-connections (fewest live flows per weight)\n"
		"                          (flag mode)\n"
		"  -s, --stats             enable statistics (logs counters every 10 s when they\n"
		"                          changed)\n"
		"  -v, --verbose           debug logging (includes libbpf and verifier output)\n"
		"      --xdp-mode MODE     auto, native or generic (default: auto, or the\n"
		"                          configuration's settings.xdp-mode)\n"
		"      --ingress HOOK      where requests are balanced: auto (TC on veth, native\n"
		"                          XDP elsewhere), xdp or tc (default: the\n"
		"                          configuration's settings.ingress, else auto)\n"
		"      --bpffs DIR         BPF filesystem to pin under; mounted if needed\n"
		"                          (default: " LBD_DEFAULT_BPFFS ")\n"
		"      --instance NAME     pins go to BPFFS/lbd/NAME (default: " LBD_DEFAULT_INSTANCE
		")\n"
		"      --socket PATH       control socket (default: /run/lbd/lbd.sock, or\n"
		"                          /run/lbd/INSTANCE.sock for other instances)\n"
		"      --socket-group NAME group that may use the control socket (default: lbd\n"
		"                          if that group exists, else root)\n"
		"      --check             validate the configuration, check it against this\n"
		"                          system (interfaces, addresses, routes) and exit:\n"
		"                          1 on errors, 0 with warnings only\n"
		"      --check=file        validate the configuration alone (for another host)\n"
		"      --teardown          remove the datapath pinned by this instance and exit\n"
		"                          (refused while an lbd runs it; --force removes it\n"
		"                          from under that lbd, which then exits)\n"
		"      --teardown-on-exit  remove the datapath when stopping (default: keep it\n"
		"                          forwarding, for a lossless restart)\n"
		"      --takeover          take over from the lbd running this instance: its\n"
		"                          listening sockets, SNI connections and datapath pass\n"
		"                          to this one, then it exits (an upgrade without a\n"
		"                          refused or reset connection); starts afresh when\n"
		"                          none runs\n"
		"      --version           print the version and exit\n"
		"  -h, --help              show this help\n"
		"\n"
		"Examples:\n"
		"  lbd -c /etc/lbd/lb.json\n"
		"  lbd -i eth0 -p 80 -t 10.0.0.1:8080\n"
		"  lbd -i eth0 -i eth1 -p 443 -t 10.0.0.2:8443@70 -t 10.0.0.3:8443@30 --stats\n"
		"  lbd -i eth0 -p 443 -t 10.0.0.2:8443@50 -t 10.0.0.3:8443@50 -H source-address/24\n");
}

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * -H: "5-tuple" or "source-address", optionally "/PREFIX" (0-128; the validator checks it
 * against the clients' family) for source-address.
 */
static int hash_flag(const char *arg, struct lb_proxy_cfg *p, char *err, size_t errlen)
{
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);
	unsigned long v;
	char *end;

	if (len == strlen("5-tuple") && !strncmp(arg, "5-tuple", len))
		p->hash = LB_HASH_5TUPLE;
	else if (len == strlen("source-address") && !strncmp(arg, "source-address", len))
		p->hash = LB_HASH_SOURCE;
	else
		return usage_err(err, errlen,
				 "-H %s: the hash must be 5-tuple or source-address[/PREFIX]", arg);
	if (!slash)
		return 0;
	if (p->hash != LB_HASH_SOURCE)
		return usage_err(err, errlen, "-H %s: a prefix only goes with source-address", arg);
	errno = 0;
	v = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || v > 128 || slash[1] == '-' || slash[1] == '+')
		return usage_err(err, errlen, "-H %s: the prefix must be a number of bits, 0-128",
				 arg);
	p->has_hash_prefix = true;
	p->hash_prefix = (uint8_t)v;
	return 0;
}

/* Build the one-proxy configuration the seed's -i/-p/-t flags (and -P, -H) describe. */
static int flags_config(struct lb_config *cfg, char **ifaces, size_t n_ifaces, uint16_t port,
			uint8_t protocols, char **targets, size_t n_targets, const char *hash,
			const char *fwd, const char *sel, char *err, size_t errlen)
{
	struct lb_proxy_cfg *p = calloc(1, sizeof(*p));
	const char *first_weighted = NULL, *first_unweighted = NULL;
	char msg[LB_ERR_MAX];
	unsigned int sum = 0;
	size_t i, weighted = 0;

	if (!p)
		return usage_err(err, errlen, "out of memory");
	cfg->proxies = p;
	cfg->n_proxies = 1;
	snprintf(p->name, sizeof(p->name), "default");
	p->port = port;
	p->protocols = protocols;
	if (hash && hash_flag(hash, p, err, errlen))
		return -EINVAL;
	if (fwd && lb_forwarding_from_name(fwd, &p->forwarding))
		return usage_err(err, errlen,
				 "-m %s: the forwarding mode must be nat, full-nat or dsr", fwd);
	if (sel && lb_selection_from_name(sel, &p->selection))
		return usage_err(err, errlen,
				 "-S %s: the selection must be maglev or least-connections", sel);
	for (i = 0; i < n_ifaces; i++) {
		if (strlen(ifaces[i]) >= IF_NAMESIZE || !ifaces[i][0])
			return usage_err(err, errlen, "-i %s: not a valid interface name",
					 ifaces[i]);
		snprintf(p->ifaces[i], IF_NAMESIZE, "%s", ifaces[i]);
	}
	p->n_ifaces = n_ifaces;
	if (lb_group_cfg_alloc(&p->default_group, n_targets))
		return usage_err(err, errlen, "out of memory");
	for (i = 0; i < n_targets; i++) {
		struct lb_target_cfg *t = &p->default_group.t[i];
		int has_weight = 0;

		if (lb_parse_target(targets[i], t, &has_weight, msg, sizeof(msg)))
			return usage_err(err, errlen, "-t %s: %s", targets[i], msg);
		if (n_targets > 1 && !has_weight && !lb_group_relative(n_targets))
			return usage_err(err, errlen,
					 "-t %s: with several targets every one needs a weight "
					 "(ip:port@weight, weights summing to 100)",
					 targets[i]);
		t->hc = cfg->settings.health_check_defaults;
		sum += t->weight;
		weighted += has_weight;
		if (has_weight && !first_weighted)
			first_weighted = targets[i];
		if (!has_weight && !first_unweighted)
			first_unweighted = targets[i];
	}
	if (lb_group_relative(n_targets)) {
		/* More than 8 targets: relative shares, every one weighted or none. */
		if (weighted && weighted < n_targets)
			return usage_err(err, errlen,
					 "-t %s: no weight, but -t %s has one: with more than %d "
					 "targets weights are relative shares; give every target a "
					 "weight, or none for equal shares",
					 first_unweighted, first_weighted, LB_PCT_GROUP_MAX);
		if (weighted && sum == 0)
			return usage_err(
				err, errlen,
				"-t: every weight is 0; at least one of the %zu targets needs "
				"a weight above 0 (with more than %d targets weights are "
				"relative shares)",
				n_targets, LB_PCT_GROUP_MAX);
		for (i = 0; !weighted && i < n_targets; i++)
			p->default_group.t[i].weight = 1;
	} else if (sum != 100) {
		return usage_err(err, errlen, "-t: weights sum to %u, must be 100", sum);
	}
	/* Said with the flag rather than as the configuration path the validator names. */
	if (p->has_hash_prefix && p->hash_prefix > 32 && lb_proxy_families(p) != LB_FAMILY_V6)
		return usage_err(err, errlen,
				 "-H %s: longer than an IPv4 address (0-32): the clients of "
				 "IPv4 targets are IPv4",
				 hash);
	if (lb_config_validate(cfg, msg, sizeof(msg)))
		return usage_err(err, errlen, "%s", msg);
	return 0;
}

/*
 * An option that takes one value given again: refused rather than the last one winning
 * silently (-i and -t add one each; flags without a value may repeat). 0 or -EINVAL.
 */
static int once(int c, bool *seen, char *err, size_t errlen)
{
	const struct option *o;

	if (c == 'i' || c == 't' || c < 0 || c >= OPT_END)
		return 0;
	for (o = long_opts; o->name && o->val != c; o++)
		;
	if (!o->name || o->has_arg == no_argument)
		return 0;
	if (!seen[c]) {
		seen[c] = true;
		return 0;
	}
	if (c < 0x100)
		return usage_err(err, errlen, "-%c/--%s given twice; give it once", c, o->name);
	return usage_err(err, errlen, "--%s given twice; give it once", o->name);
}

int lbd_args_parse(int argc, char **argv, struct lbd_args *a, char *err, size_t errlen)
{
	bool seen[OPT_END] = {false};
	char *ifaces[LB_MAX_IFACES_PER_PROXY], *targets[LB_MAX_TARGETS_PER_GROUP];
	char *default_target = "127.0.0.1:8080";
	size_t n_ifaces = 0, n_targets = 0;
	const char *xdp_mode = NULL, *ingress = NULL, *hash = NULL, *fwd = NULL;
	const char *sel = NULL;
	bool stats = false, port_set = false, proto_set = false;
	uint8_t protocols = LB_L4_TCP;
	uint16_t port = 80;
	char msg[LB_ERR_MAX];
	int c, ret;

	memset(a, 0, sizeof(*a));
	a->bpffs = LBD_DEFAULT_BPFFS;
	a->instance = LBD_DEFAULT_INSTANCE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:i:p:t:P:H:m:S:svh", long_opts, NULL)) != -1) {
		if (once(c, seen, err, errlen))
			return -EINVAL;
		switch (c) {
		case 'c':
			a->config_path = optarg;
			break;
		case 'i':
			if (n_ifaces == LB_MAX_IFACES_PER_PROXY)
				return usage_err(err, errlen, "-i: at most %d interfaces",
						 LB_MAX_IFACES_PER_PROXY);
			ifaces[n_ifaces++] = optarg;
			break;
		case 'p':
			if (lb_parse_port(optarg, &port, msg, sizeof(msg)))
				return usage_err(err, errlen, "-p %s: %s", optarg, msg);
			port_set = true;
			break;
		case 't':
			if (n_targets == LB_MAX_TARGETS_PER_GROUP)
				return usage_err(err, errlen, "-t: at most %d targets",
						 LB_MAX_TARGETS_PER_GROUP);
			targets[n_targets++] = optarg;
			break;
		case 'P':
			if (!strcmp(optarg, "tcp"))
				protocols = LB_L4_TCP;
			else if (!strcmp(optarg, "udp"))
				protocols = LB_L4_UDP;
			else if (!strcmp(optarg, "both"))
				protocols = LB_L4_TCP | LB_L4_UDP;
			else
				return usage_err(err, errlen,
						 "-P %s: protocol must be tcp, udp or both",
						 optarg);
			proto_set = true;
			break;
		case 'H':
			hash = optarg;
			break;
		case 'm':
			fwd = optarg;
			break;
		case 'S':
			sel = optarg;
			break;
		case 's':
			stats = true;
			break;
		case 'v':
			a->verbose = true;
			break;
		case 'h':
			a->help = true;
			return 0;
		case OPT_BPFFS:
			a->bpffs = optarg;
			break;
		case OPT_INSTANCE:
			if (!optarg[0] || strchr(optarg, '/') || !strcmp(optarg, ".") ||
			    !strcmp(optarg, ".."))
				return usage_err(err, errlen,
						 "--instance %s: must be a plain name (no '/')",
						 optarg);
			a->instance = optarg;
			break;
		case OPT_XDP_MODE:
			xdp_mode = optarg;
			break;
		case OPT_INGRESS:
			ingress = optarg;
			break;
		case OPT_CHECK:
			if (optarg && strcmp(optarg, "file"))
				return usage_err(
					err, errlen,
					"--check=%s: the only value is \"file\" (the "
					"configuration alone, without this system's checks)",
					optarg);
			a->check_only = true;
			a->check_system = !optarg;
			break;
		case OPT_TEARDOWN:
			a->teardown = true;
			break;
		case OPT_TEARDOWN_ON_EXIT:
			a->teardown_on_exit = true;
			break;
		case OPT_TAKEOVER:
			a->takeover = true;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_SOCKET:
			if (optarg[0] != '/' || strlen(optarg) >= 108)
				return usage_err(
					err, errlen,
					"--socket %s: must be an absolute path shorter than "
					"108 bytes",
					optarg);
			a->socket_path = optarg;
			break;
		case OPT_SOCKET_GROUP:
			a->socket_group = optarg;
			break;
		case OPT_VERSION:
			a->version = true;
			return 0;
		case ':':
			return usage_err(err, errlen, "option %s needs a value", argv[optind - 1]);
		default:
			return usage_err(err, errlen, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_err(err, errlen, "unexpected argument \"%s\"", argv[optind]);
	if (a->force && !a->teardown)
		return usage_err(err, errlen, "--force goes with --teardown only");
	if (a->takeover && (a->teardown || a->check_only))
		return usage_err(err, errlen, "--takeover starts an lbd: not with %s",
				 a->teardown ? "--teardown" : "--check");
	if (a->teardown)
		return 0;
	if (a->config_path &&
	    (n_ifaces || n_targets || port_set || proto_set || hash || fwd || sel))
		return usage_err(err, errlen,
				 "use either -c FILE or the -i/-p/-t/-P/-H/-m/-S flags, not both");
	if (!a->config_path && !n_ifaces)
		return usage_err(
			err, errlen,
			"no configuration: give -c FILE, or -i IFACE [-p PORT] [-t TARGET]");

	if (a->config_path && a->config_path[0] != '/') {
		/* Status, logs and reloads name the file itself, whatever folder lbd ran in. */
		char cwd[sizeof(a->config_abs)];

		if (getcwd(cwd, sizeof(cwd)) &&
		    snprintf(a->config_abs, sizeof(a->config_abs), "%s/%s", cwd, a->config_path) <
			    (int)sizeof(a->config_abs))
			a->config_path = a->config_abs;
	}
	if (a->config_path) {
		ret = lb_config_parse_file(a->config_path, &a->cfg, err, errlen);
		if (ret)
			return ret;
	} else {
		a->cfg = lb_config_new();
		if (!a->cfg)
			return usage_err(err, errlen, "out of memory");
		if (!n_targets)
			targets[n_targets++] = default_target;
		ret = flags_config(a->cfg, ifaces, n_ifaces, port, protocols, targets, n_targets,
				   hash, fwd, sel, err, errlen);
		if (ret)
			return ret;
	}
	a->stats_flag = stats;
	a->xdp_mode_flag = xdp_mode != NULL;
	if (stats)
		a->cfg->settings.stats_enabled = true;
	if (xdp_mode && lb_xdp_mode_from_name(xdp_mode, &a->cfg->settings.xdp_mode))
		return usage_err(err, errlen, "--xdp-mode %s: must be auto, native or generic",
				 xdp_mode);
	a->ingress_flag = ingress != NULL;
	if (ingress && lb_ingress_from_name(ingress, &a->cfg->settings.ingress))
		return usage_err(err, errlen, "--ingress %s: must be auto, xdp or tc", ingress);
	return 0;
}

void lbd_args_release(struct lbd_args *a)
{
	lb_config_free(a->cfg);
	a->cfg = NULL;
}

void lbd_args_socket_path(const struct lbd_args *a, char *buf, size_t len)
{
	if (a->socket_path)
		snprintf(buf, len, "%s", a->socket_path);
	else if (!strcmp(a->instance, LBD_DEFAULT_INSTANCE))
		snprintf(buf, len, "/run/lbd/lbd.sock");
	else
		snprintf(buf, len, "/run/lbd/%s.sock", a->instance);
}
