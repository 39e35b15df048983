// SPDX-License-Identifier: MIT
/*
 * Unit tests of lbctl's command-line mapping (ctl/cli_spec.h): every method of the protocol
 * has a consistent CLI spec, every documented example parses into params lbd's own schema
 * check accepts, and argv -> params gives exactly the expected JSON or a usage error that
 * says what is wrong.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_spec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char err[LB_CLI_ERR_MAX];

/* Split @line on blanks into a NULL-terminated argv; free with free_argv(). */
static char **split(const char *line, int *argc)
{
	char *copy = strdup(line), *tok, *save = NULL;
	char **argv = calloc(64, sizeof(char *));
	int n = 0;

	for (tok = strtok_r(copy, " ", &save); tok && n < 63; tok = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(tok);

		/* 'word' as a shell reads it: examples quote what the shell would glob. */
		if (len >= 2 && tok[0] == '\'' && tok[len - 1] == '\'')
			argv[n++] = strndup(tok + 1, len - 2);
		else
			argv[n++] = strdup(tok);
	}
	free(copy);
	*argc = n;
	return argv;
}

static void free_argv(char **argv)
{
	char **p;

	for (p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* Build the params of @method from @args (blank-separated). Returns the parser's result. */
static int build(const char *method, const char *args, json_t **params)
{
	const struct lb_method *m = lb_method_find(method);
	char **argv;
	int argc, r;

	ck_assert_msg(m, "no method %s", method);
	argv = split(args, &argc);
	r = lb_cli_build_params(m, argc, argv, params, NULL, NULL, err, sizeof(err));
	free_argv(argv);
	return r;
}

/* ---- the spec table against the method table ---- */

static const struct lb_param *schema_param(const struct lb_method *m, const char *path)
{
	const struct lb_param *p;
	size_t len = strcspn(path, ".");

	for (p = lb_method_params(m); p->name; p++)
		if (strlen(p->name) == len && !strncmp(p->name, path, len))
			return p;
	return NULL;
}

/* The schema type a CLI argument's JSON value has at the top level. */
static enum lb_ptype cli_ptype(const struct lb_cli_arg *a)
{
	if (strchr(a->path, '.'))
		return LB_PT_OBJECT;
	if (a->kind == LB_CLI_FLAG)
		return LB_PT_BOOL;
	if (a->kind == LB_CLI_POS_REST || a->kind == LB_CLI_OPT_REPEAT)
		return a->vtype == LB_CV_TARGET ? LB_PT_TARGETS : LB_PT_STRINGS;
	if (a->vtype == LB_CV_INT || a->vtype == LB_CV_PORT || a->vtype == LB_CV_DURATION)
		return LB_PT_INT;
	return LB_PT_STRING;
}

START_TEST(test_spec_matches_schema)
{
	const struct lb_method *m = &lb_methods[_i];
	const struct lb_cli_spec *spec = lb_cli_spec_of(m);
	const struct lb_cli_arg *a, *b;
	const struct lb_param *p;
	bool optional_pos = false, rest = false;
	size_t n = 0;

	ck_assert_msg(spec, "%s has no CLI spec", m->name);
	ck_assert_msg(spec->args && spec->examples && spec->examples[0], "%s: no examples",
		      m->name);
	for (a = spec->args; a->path; a++, n++) {
		p = schema_param(m, a->path);
		ck_assert_msg(p, "%s: argument %s is not a parameter of the schema", m->name,
			      a->path);
		ck_assert_msg(cli_ptype(a) == p->type,
			      "%s: argument %s gives %s, the schema wants %s", m->name, a->path,
			      lb_ptype_name(cli_ptype(a)), lb_ptype_name(p->type));
		ck_assert_msg(a->metavar || a->kind == LB_CLI_FLAG, "%s: %s has no metavar",
			      m->name, a->path);
		ck_assert_msg(*lb_cli_arg_help(m, a), "%s: %s has no help", m->name, a->path);
		ck_assert_msg(!a->option == (a->kind == LB_CLI_POS || a->kind == LB_CLI_POS_REST),
			      "%s: %s: options and only options have an option name", m->name,
			      a->path);
		if (a->vtype == LB_CV_CHOICE)
			ck_assert_msg(strchr(a->metavar, '|'), "%s: choices of %s", m->name,
				      a->path);
		if (!a->option) {
			ck_assert_msg(!rest, "%s: positional %s after the rest", m->name, a->path);
			ck_assert_msg(!(optional_pos && a->required),
				      "%s: required %s after an optional positional", m->name,
				      a->path);
			optional_pos |= !a->required;
			rest |= a->kind == LB_CLI_POS_REST;
		}
		for (b = spec->args; b < a; b++)
			ck_assert_msg(!a->option || !b->option || strcmp(a->option, b->option),
				      "%s: --%s twice", m->name, a->option);
	}
	ck_assert_msg(n < 32, "%s: too many arguments for the parser", m->name);

	/* Every required parameter can be given. */
	for (p = lb_method_params(m); p->name; p++) {
		if (!p->required)
			continue;
		for (a = spec->args; a->path; a++)
			if (schema_param(m, a->path) == p)
				break;
		ck_assert_msg(a->path || (spec->file_param && !strcmp(spec->file_param, p->name)),
			      "%s: required parameter %s has no command-line argument", m->name,
			      p->name);
	}
	if (spec->file_param) {
		p = schema_param(m, spec->file_param);
		ck_assert_msg(p && (p->type == LB_PT_OBJECT || p->type == LB_PT_OBJECTS) &&
				      spec->file_help,
			      "%s: --file", m->name);
	}
}
END_TEST

/* Every example parses, and lbd's schema check accepts what it gives. */
START_TEST(test_examples_parse)
{
	const struct lb_method *m = &lb_methods[_i];
	const char *const *ex;
	char field[64], why[256], line[256], joined[64];
	json_t *params;
	char **argv;
	int argc, first;

	for (ex = lb_cli_spec_of(m)->examples; *ex; ex++) {
		if (strstr(*ex, "--file"))
			continue;
		/* The command alone, without a shell redirection or pipe after it. */
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(*ex, ">|"), *ex);
		argv = split(line, &argc);
		ck_assert_str_eq(argv[0], "lbctl");
		for (first = 1; first < argc && argv[first][0] == '-'; first++)
			;
		/* "lbctl node drain" is node-drain (and so on): lbctl joins the two words. */
		if (first + 1 < argc && !strcmp(argv[first], "node")) {
			snprintf(joined, sizeof(joined), "node-%s", argv[first + 1]);
			free(argv[++first]);
			argv[first] = strdup(joined);
		}
		ck_assert_msg(first < argc && !strcmp(argv[first], m->name), "example of %s: %s",
			      m->name, *ex);
		ck_assert_msg(!lb_cli_build_params(m, argc - first - 1, argv + first + 1, &params,
						   NULL, NULL, err, sizeof(err)),
			      "example \"%s\" refused: %s", *ex, err);
		ck_assert_msg(!lb_params_check(m, params, field, sizeof(field), why, sizeof(why)),
			      "example \"%s\" gives params lbd refuses: %s", *ex, why);
		json_decref(params);
		free_argv(argv);
	}
}
END_TEST

/* ---- argv -> params ---- */

static const struct {
	const char *method, *args, *params;
} mapping[] = {
	{"status", "", "{}"},
	{"remove-proxy", "web", "{\"proxy\":\"web\"}"},
	{"remove-proxy", "-- -odd", "{\"proxy\":\"-odd\"}"},
	{"add-source-route", "web 192.168.1.0/24 10.0.0.3:8080",
	 "{\"proxy\":\"web\",\"source\":\"192.168.1.0/24\","
	 "\"targets\":[{\"ip\":\"10.0.0.3\",\"port\":8080}]}"},
	{"add-source-route", "web 10.10.0.0/16 10.0.0.4:8080@70 10.0.0.5:8080@30",
	 "{\"proxy\":\"web\",\"source\":\"10.10.0.0/16\",\"targets\":["
	 "{\"ip\":\"10.0.0.4\",\"port\":8080,\"weight\":70},"
	 "{\"ip\":\"10.0.0.5\",\"port\":8080,\"weight\":30}]}"},
	{"add-source-route", "web 192.168.1.7 10.0.0.3:8080@0",
	 "{\"proxy\":\"web\",\"source\":\"192.168.1.7\","
	 "\"targets\":[{\"ip\":\"10.0.0.3\",\"port\":8080,\"weight\":0}]}"},
	{"remove-source-route", "web 10.10.0.0/16",
	 "{\"proxy\":\"web\",\"source\":\"10.10.0.0/16\"}"},
	{"list-source-routes", "", "{}"},
	{"list-source-routes", "web", "{\"proxy\":\"web\"}"},
	{"add-sni-route", "https api.example.com 10.0.1.1:8443",
	 "{\"proxy\":\"https\",\"hostname\":\"api.example.com\","
	 "\"targets\":[{\"ip\":\"10.0.1.1\",\"port\":8443}]}"},
	{"add-sni-route", "https *.App.example.com 10.0.3.1:8443@70 10.0.3.2:8443@30",
	 "{\"proxy\":\"https\",\"hostname\":\"*.App.example.com\",\"targets\":["
	 "{\"ip\":\"10.0.3.1\",\"port\":8443,\"weight\":70},"
	 "{\"ip\":\"10.0.3.2\",\"port\":8443,\"weight\":30}]}"},
	{"remove-sni-route", "https API.example.com",
	 "{\"proxy\":\"https\",\"hostname\":\"API.example.com\"}"},
	{"list-sni-routes", "", "{}"},
	{"list-sni-routes", "https", "{\"proxy\":\"https\"}"},
	{"attach-interfaces", "eth1 eth2", "{\"interfaces\":[\"eth1\",\"eth2\"]}"},
	{"attach-interfaces", "eth1 --proxy web eth2",
	 "{\"interfaces\":[\"eth1\",\"eth2\"],\"proxy\":\"web\"}"},
	{"detach-interfaces", "--proxy=web eth2", "{\"interfaces\":[\"eth2\"],\"proxy\":\"web\"}"},
	{"set-weights", "web 10.0.0.1:8080@90 10.0.0.2:8080@10",
	 "{\"proxy\":\"web\",\"targets\":[{\"ip\":\"10.0.0.1\",\"port\":8080,\"weight\":90},"
	 "{\"ip\":\"10.0.0.2\",\"port\":8080,\"weight\":10}]}"},
	{"set-weights", "--source 10.10.0.0/16 web 10.0.0.4:8080@100",
	 "{\"proxy\":\"web\",\"source\":\"10.10.0.0/16\","
	 "\"targets\":[{\"ip\":\"10.0.0.4\",\"port\":8080,\"weight\":100}]}"},
	{"connections", "", "{}"},
	{"connections", "--proxy web --target 10.0.0.1:8080 --client 192.168.0.0/16 --limit 20",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"client\":\"192.168.0.0/16\","
	 "\"limit\":20}"},
	{"connections", "--limit=0", "{\"limit\":0}"},
	{"connection-count", "", "{}"},
	{"connection-count", "web", "{\"proxy\":\"web\"}"},
	{"connection-stats", "api", "{\"proxy\":\"api\"}"},
	{"add-proxy", "web --interface eth0 --port 80 10.0.0.1:8080",
	 "{\"proxy\":{\"name\":\"web\",\"listen\":{\"interfaces\":[\"eth0\"],\"port\":80},"
	 "\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":8080}]}}"},
	{"add-proxy",
	 "web 10.0.0.1:8080@70 --interface eth0 --interface=eth1 --port=8443 --protocol both "
	 "--address 10.0.0.10 10.0.0.2:8080@30",
	 "{\"proxy\":{\"name\":\"web\",\"listen\":{\"interfaces\":[\"eth0\",\"eth1\"],"
	 "\"port\":8443,\"protocol\":\"both\",\"address\":\"10.0.0.10\"},\"default-target\":["
	 "{\"ip\":\"10.0.0.1\",\"port\":8080,\"weight\":70},"
	 "{\"ip\":\"10.0.0.2\",\"port\":8080,\"weight\":30}]}}"},
	/* Health checks. */
	{"health", "", "{}"},
	{"health", "web", "{\"proxy\":\"web\"}"},
	{"health", "--follow", "{\"follow\":true}"},
	{"health", "--follow web", "{\"proxy\":\"web\",\"follow\":true}"},
	{"set-target-status", "web 10.0.0.2:8080 unhealthy",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\",\"status\":\"unhealthy\"}"},
	{"set-target-status", "web 10.0.0.2:8080 healthy",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\",\"status\":\"healthy\"}"},
	{"set-target-status", "web 10.0.0.2:8080 auto",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\",\"status\":\"auto\"}"},
	{"force-check", "web 10.0.0.2:8080", "{\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\"}"},
	{"enable-health-checks", "", "{}"},
	{"disable-health-checks", "", "{}"},
	/* Drains: --timeout after the command is the drain's, in milliseconds. */
	{"drain", "web 10.0.0.1:8080", "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\"}"},
	{"drain", "web 10.0.0.1:8080 --timeout 60s --wait",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"timeout-ms\":60000,\"wait\":true}"},
	{"drain", "--wait --timeout=500ms web 10.0.0.1:8080",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"timeout-ms\":500,\"wait\":true}"},
	{"drain", "web 10.0.0.1:8080 --timeout 90",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"timeout-ms\":90000}"},
	{"drain", "web 10.0.0.1:8080 --timeout 1.5m",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"timeout-ms\":90000}"},
	{"undrain", "web 10.0.0.1:8080", "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\"}"},
	{"drain-status", "", "{}"},
	{"drain-status", "web", "{\"proxy\":\"web\"}"},
	{"drain-status", "--target 10.0.0.1:8080 web",
	 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\"}"},
	{"drain-status", "--target=10.0.0.1:8080", "{\"target\":\"10.0.0.1:8080\"}"},
};

START_TEST(test_mapping)
{
	json_t *params, *want = json_loads(mapping[_i].params, 0, NULL);
	char *got;

	ck_assert_msg(want, "bad expectation %s", mapping[_i].params);
	ck_assert_msg(!build(mapping[_i].method, mapping[_i].args, &params), "%s %s refused: %s",
		      mapping[_i].method, mapping[_i].args, err);
	got = json_dumps(params, JSON_COMPACT);
	ck_assert_msg(json_equal(params, want), "%s %s gave %s, expected %s", mapping[_i].method,
		      mapping[_i].args, got, mapping[_i].params);
	free(got);
	json_decref(params);
	json_decref(want);
}
END_TEST

/* Key order follows the spec, whatever the order on the command line. */
START_TEST(test_mapping_order)
{
	json_t *params;
	char *got;

	ck_assert(!build("add-proxy", "--port 80 web --interface eth0 10.0.0.1:8080", &params));
	got = json_dumps(params, JSON_COMPACT);
	ck_assert_str_eq(got,
			 "{\"proxy\":{\"name\":\"web\",\"listen\":{\"interfaces\":[\"eth0\"],"
			 "\"port\":80},\"default-target\":[{\"ip\":\"10.0.0.1\",\"port\":8080}]}}");
	free(got);
	json_decref(params);
}
END_TEST

static const struct {
	const char *method, *args, *error;
} refused[] = {
	{"remove-proxy", "", "missing PROXY"},
	{"remove-proxy", "web api", "unexpected argument \"api\""},
	{"remove-proxy", "--frob web", "unknown option \"--frob\""},
	{"remove-proxy", "-x web", "unknown option \"-x\""},
	{"status", "extra", "unexpected argument \"extra\""},
	{"add-source-route", "web 10.10.0.0/16", "missing TARGET (at least one)"},
	{"add-source-route", "web 10.10.0.1/16 10.0.0.4:8080", "SOURCE: \"10.10.0.1/16\""},
	{"add-source-route", "web 10.10.0.0/16 10.0.0.4", "TARGET: \"10.0.0.4\" is not a target"},
	{"add-source-route", "web 10.10.0.0/16 10.0.0.4:0", "not a valid port"},
	{"add-source-route", "web 10.10.0.0/16 10.0.0.4:80@101", "weight \"101\""},
	{"add-source-route", "web 10.10.0.0/16 224.0.0.1:80", "multicast"},
	{"add-sni-route", "https api.example.com", "missing TARGET (at least one)"},
	{"add-sni-route", "https", "missing HOSTNAME"},
	{"add-sni-route", "https api.example.com 10.0.1.1", "TARGET: \"10.0.1.1\" is not a target"},
	{"add-sni-route", "https api.example.com 10.0.1.1:8443@101", "weight \"101\""},
	{"remove-sni-route", "https", "missing HOSTNAME"},
	{"remove-sni-route", "https api.example.com 10.0.1.1:8443",
	 "unexpected argument \"10.0.1.1:8443\""},
	{"list-sni-routes", "https api", "unexpected argument \"api\""},
	{"set-weights", "web 10.0.0.1:8080@50 --source", "--source needs a value (CIDR)"},
	{"set-weights", "web 10.0.0.1:8080@50 --source 1.2.3.4/8", "--source: \"1.2.3.4/8\""},
	{"set-weights", "web --source 10.0.0.0/8 --source 10.0.0.0/8 10.0.0.1:80",
	 "--source given twice"},
	{"connections", "--limit -1", "--limit: \"-1\" is not a number"},
	{"connections", "--limit 99999999999", "--limit: \"99999999999\" is not a number"},
	{"connections", "--target 10.0.0.1:80@5", "without @weight"},
	{"connections", "--client 10.0.0", "--client:"},
	{"attach-interfaces", "", "missing IFACE (at least one)"},
	{"attach-interfaces", "eth0/1", "IFACE: \"eth0/1\" is not an interface name"},
	{"attach-interfaces", "abcdefghijklmnop", "is not an interface name"},
	{"attach-interfaces", "--proxy= eth0", "--proxy: must not be empty"},
	{"add-proxy", "web --port 80 10.0.0.1:8080", "missing --interface IFACE"},
	{"add-proxy", "web --interface eth0 10.0.0.1:8080", "missing --port PORT"},
	{"add-proxy", "web --interface eth0 --port 80", "missing TARGET"},
	{"add-proxy", "web --interface eth0 --port 70000 10.0.0.1:80", "--port: "},
	{"add-proxy", "web --interface eth0 --port 80 --protocol sctp 10.0.0.1:80",
	 "--protocol: \"sctp\" is not one of tcp|udp|both"},
	{"add-proxy", "web --interface eth0 --port 80 --address 10.1 10.0.0.1:80", "--address: "},
	{"add-proxy", "--file", "--file needs a FILE"},
	{"add-proxy", "web --file x.json", "--file replaces every other argument"},
	{"add-proxy", "--file /nonexistent/p.json", "--file /nonexistent/p.json: "},
	{"remove-proxy", "--file x.json", "unknown option \"--file\""},
	{"add-source-routes", "web", "missing --file FILE (the routes)"},
	{"add-source-routes", "--file x.json", "missing PROXY"},
	{"add-source-routes", "web extra --file x.json", "unexpected argument \"extra\""},
	/* Health checks and drains. */
	{"health", "web api", "unexpected argument \"api\""},
	{"health", "--follow=yes", "--follow takes no value"},
	{"set-target-status", "web 10.0.0.2:8080", "missing STATUS (healthy|unhealthy|auto)"},
	{"set-target-status", "web 10.0.0.2:8080 down",
	 "STATUS: \"down\" is not one of healthy|unhealthy|auto"},
	{"set-target-status", "web 10.0.0.2 auto", "TARGET: \"10.0.0.2\" is not a target"},
	{"set-target-status", "web 10.0.0.2:8080@5 auto", "without @weight"},
	{"force-check", "web", "missing TARGET"},
	{"drain", "web", "missing TARGET"},
	{"drain", "web 10.0.0.1:8080 --timeout", "--timeout needs a value (DURATION)"},
	{"drain", "web 10.0.0.1:8080 --timeout 0", "--timeout: \"0\" is out of range (1ms to 24h)"},
	{"drain", "web 10.0.0.1:8080 --timeout 25h", "--timeout: \"25h\" is out of range"},
	{"drain", "web 10.0.0.1:8080 --timeout 5min", "--timeout: \"5min\" is not a duration"},
	{"drain", "web 10.0.0.1:8080 --timeout 1s --timeout 2s", "--timeout given twice"},
	{"drain", "web 10.0.0.1:8080 --wait=1", "--wait takes no value"},
	{"undrain", "web 10.0.0.1:8080 --wait", "unknown option \"--wait\""},
	{"drain-status", "--target 10.0.0.1", "--target: \"10.0.0.1\" is not a target"},
	{"enable-health-checks", "now", "unexpected argument \"now\""},
};

START_TEST(test_refused)
{
	json_t *params = NULL;

	ck_assert_msg(build(refused[_i].method, refused[_i].args, &params) == -EINVAL,
		      "%s %s accepted", refused[_i].method, refused[_i].args);
	ck_assert_msg(strstr(err, refused[_i].error), "%s %s: error \"%s\" lacks \"%s\"",
		      refused[_i].method, refused[_i].args, err, refused[_i].error);
	ck_assert(params == NULL);
}
END_TEST

static char *write_temp(const char *content)
{
	char *path = strdup("/tmp/lbctl-test-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

START_TEST(test_file)
{
	static const char proxy[] = "{\"name\":\"api\",\"listen\":{\"interfaces\":[\"eth0\"],"
				    "\"port\":8080},\"default-target\":{\"ip\":\"10.0.1.1\","
				    "\"port\":3000}}";
	char *path = write_temp(proxy), args[128];
	json_t *params, *want = json_pack("{s:o}", "proxy", json_loads(proxy, 0, NULL));

	snprintf(args, sizeof(args), "--file %s", path);
	ck_assert_msg(!build("add-proxy", args, &params), "refused: %s", err);
	ck_assert(json_equal(params, want));
	json_decref(params);
	snprintf(args, sizeof(args), "--file=%s", path);
	ck_assert_msg(!build("add-proxy", args, &params), "refused: %s", err);
	ck_assert(json_equal(params, want));
	json_decref(params);
	json_decref(want);
	unlink(path);
	free(path);
}
END_TEST

/* --file of add-source-routes holds the "routes" array; the proxy stays an argument. */
START_TEST(test_file_array)
{
	static const char routes[] =
		"[{\"source\":\"10.9.0.0/24\",\"targets\":[\"10.0.0.3:8080\"]},"
		"{\"source\":\"10.9.1.7\",\"targets\":[{\"ip\":\"10.0.0.4\","
		"\"port\":8080}]}]";
	const struct lb_method *m = lb_method_find("add-source-routes");
	char *path = write_temp(routes), args[128], *got, field[64], why[256];
	json_t *params;

	snprintf(args, sizeof(args), "web --file %s", path);
	ck_assert_msg(!build("add-source-routes", args, &params), "refused: %s", err);
	got = json_dumps(params, JSON_COMPACT);
	ck_assert_str_eq(got, "{\"proxy\":\"web\",\"routes\":[{\"source\":\"10.9.0.0/24\","
			      "\"targets\":[\"10.0.0.3:8080\"]},{\"source\":\"10.9.1.7\","
			      "\"targets\":[{\"ip\":\"10.0.0.4\",\"port\":8080}]}]}");
	free(got);
	ck_assert_msg(!lb_params_check(m, params, field, sizeof(field), why, sizeof(why)), "%s",
		      why);
	json_decref(params);
	/* lbd's schema check: an array whose every element is an object. */
	params = json_loads("{\"proxy\":\"web\",\"routes\":[{},7]}", 0, NULL);
	ck_assert_int_eq(lb_params_check(m, params, field, sizeof(field), why, sizeof(why)),
			 -EINVAL);
	ck_assert_str_eq(field, "routes");
	ck_assert_msg(strstr(why, "must be an array of objects"), "%s", why);
	json_decref(params);
	snprintf(args, sizeof(args), "--file=%s web", path);
	ck_assert_msg(!build("add-source-routes", args, &params), "refused: %s", err);
	json_decref(params);
	unlink(path);
	free(path);

	path = write_temp("{\"routes\": []}");
	snprintf(args, sizeof(args), "web --file %s", path);
	ck_assert_int_eq(build("add-source-routes", args, &params), -EINVAL);
	ck_assert_msg(strstr(err, "expected a JSON array"), "%s", err);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_file_refused)
{
	static const struct {
		const char *content, *error;
	} bad[] = {
		{"[1, 2]", "expected a JSON object"},
		{"{\"name\": ", "line 1"},
		{"{\"proxies\": []}", "this is a whole configuration"},
	};
	char *path, args[128];
	json_t *params;
	size_t i;

	for (i = 0; i < N(bad); i++) {
		path = write_temp(bad[i].content);
		snprintf(args, sizeof(args), "--file %s", path);
		ck_assert_int_eq(build("add-proxy", args, &params), -EINVAL);
		ck_assert_msg(strstr(err, bad[i].error), "%s: \"%s\" lacks \"%s\"", bad[i].content,
			      err, bad[i].error);
		unlink(path);
		free(path);
	}
}
END_TEST

/* DURATION: ms, s, m, h or bare seconds, rounded to milliseconds, 1 ms to 24 h. */
START_TEST(test_duration)
{
	static const struct {
		const char *text;
		int result;
		json_int_t ms;
	} d[] = {
		{"60s", 0, 60000},	 {"500ms", 0, 500},
		{"2m", 0, 120000},	 {"1h", 0, 3600000},
		{"60", 0, 60000},	 {"0.5", 0, 500},
		{"1.5s", 0, 1500},	 {"1.5m", 0, 90000},
		{"0.25h", 0, 900000},	 {"1ms", 0, 1},
		{"0.001", 0, 1},	 {"0.0015s", 0, 2},
		{"24h", 0, 86400000},	 {"1440m", 0, 86400000},
		{"86400", 0, 86400000},	 {"007s", 0, 7000},
		{"0", -ERANGE, 0},	 {"0ms", -ERANGE, 0},
		{"0.0004s", -ERANGE, 0}, {"24.001h", -ERANGE, 0},
		{"86401s", -ERANGE, 0},	 {"99999999999999999999h", -ERANGE, 0},
		{"", -EINVAL, 0},	 {"s", -EINVAL, 0},
		{".5s", -EINVAL, 0},	 {"5.s", -EINVAL, 0},
		{"-5s", -EINVAL, 0},	 {"+5s", -EINVAL, 0},
		{" 5s", -EINVAL, 0},	 {"5 s", -EINVAL, 0},
		{"5S", -EINVAL, 0},	 {"5sec", -EINVAL, 0},
		{"1d", -EINVAL, 0},	 {"1e3", -EINVAL, 0},
		{"0x10", -EINVAL, 0},	 {"1.2.3s", -EINVAL, 0},
	};
	json_int_t ms;
	size_t i;
	int r;

	for (i = 0; i < N(d); i++) {
		ms = -1;
		r = lb_cli_parse_duration(d[i].text, &ms);
		ck_assert_msg(r == d[i].result, "\"%s\": %d, expected %d", d[i].text, r,
			      d[i].result);
		if (!r)
			ck_assert_msg(ms == d[i].ms,
				      "\"%s\": %" JSON_INTEGER_FORMAT
				      " ms, expected %" JSON_INTEGER_FORMAT,
				      d[i].text, ms, d[i].ms);
		else
			ck_assert(ms == -1);
	}
}
END_TEST

/* Options the command does not know go to the caller's handler (global options). */
static int extra_seen;

static int extra_opt(void *arg, int argc, char **argv, int *i, char *e, size_t elen)
{
	if (!strcmp(argv[*i], "--json")) {
		extra_seen++;
		return 1;
	}
	if (!strcmp(argv[*i], "--timeout") && *i + 1 < argc) {
		++*i;
		extra_seen++;
		return 1;
	}
	if (!strcmp(argv[*i], "--bad")) {
		snprintf(e, elen, "bad one");
		return -EINVAL;
	}
	return 0;
}

START_TEST(test_extra_options)
{
	const struct lb_method *m = lb_method_find("list-source-routes");
	char *argv[] = {"--json", "web", "--timeout", "3", NULL};
	char *bad[] = {"--bad", NULL};
	json_t *params;

	extra_seen = 0;
	ck_assert(!lb_cli_build_params(m, 4, argv, &params, extra_opt, NULL, err, sizeof(err)));
	ck_assert_int_eq(extra_seen, 2);
	ck_assert_str_eq(json_string_value(json_object_get(params, "proxy")), "web");
	ck_assert_int_eq(json_object_size(params), 1);
	json_decref(params);
	ck_assert_int_eq(lb_cli_build_params(m, 1, bad, &params, extra_opt, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "bad one");
}
END_TEST

/*
 * After "drain", --timeout is the drain's own option: the global handler never sees it,
 * in either spelling. After a command without one it still reaches the global handler.
 */
START_TEST(test_timeout_precedence)
{
	const struct lb_method *drain = lb_method_find("drain"), *health = lb_method_find("health");
	char *argv[] = {"web", "10.0.0.1:8080", "--timeout", "60s", "--wait", NULL};
	char *argv_eq[] = {"--json", "web", "--timeout=2m", "10.0.0.1:8080", NULL};
	char *argv_health[] = {"web", "--timeout", "3", "--follow", NULL};
	json_t *params;
	char *got;

	extra_seen = 0;
	ck_assert_msg(
		!lb_cli_build_params(drain, 5, argv, &params, extra_opt, NULL, err, sizeof(err)),
		"%s", err);
	ck_assert_int_eq(extra_seen, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(params, "timeout-ms")), 60000);
	ck_assert(json_is_true(json_object_get(params, "wait")));
	json_decref(params);

	ck_assert(!lb_cli_build_params(drain, 4, argv_eq, &params, extra_opt, NULL, err,
				       sizeof(err)));
	ck_assert_int_eq(extra_seen, 1); /* --json only */
	ck_assert_int_eq(json_integer_value(json_object_get(params, "timeout-ms")), 120000);
	ck_assert_ptr_null(json_object_get(params, "wait"));
	json_decref(params);

	extra_seen = 0;
	ck_assert(!lb_cli_build_params(health, 4, argv_health, &params, extra_opt, NULL, err,
				       sizeof(err)));
	ck_assert_int_eq(extra_seen, 1);
	got = json_dumps(params, JSON_COMPACT);
	ck_assert_str_eq(got, "{\"proxy\":\"web\",\"follow\":true}");
	free(got);
	json_decref(params);
}
END_TEST

/* ---- help ---- */

static char *capture_help(const struct lb_method *m,
			  void (*print)(FILE *, const struct lb_method *))
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	print(f, m);
	fclose(f);
	return buf;
}

/* @s with every run of blanks and newlines made one space (help text wraps). */
static char *squash(char *s)
{
	char *r = s, *w = s;

	for (; *r; r++)
		if (!(*r == ' ' || *r == '\n') || (w > s && w[-1] != ' '))
			*w++ = *r == '\n' ? ' ' : *r;
	*w = '\0';
	return s;
}

START_TEST(test_help_mentions_everything)
{
	const struct lb_method *m = &lb_methods[_i];
	const struct lb_cli_arg *a;
	char *help = squash(capture_help(m, lb_cli_print_help)), usage[128], opt[64], want[512];

	snprintf(usage, sizeof(usage), "usage: lbctl %s", m->name);
	ck_assert_msg(strstr(help, usage), "%s", help);
	ck_assert_msg(strstr(help, lb_cli_spec_of(m)->examples[0]), "%s: no example", m->name);
	for (a = lb_cli_spec_of(m)->args; a->path; a++) {
		snprintf(want, sizeof(want), "%s", lb_cli_arg_help(m, a));
		ck_assert_msg(strstr(help, squash(want)), "%s: help of %s missing", m->name,
			      a->path);
		if (a->option) {
			snprintf(opt, sizeof(opt), "--%s", a->option);
			ck_assert_msg(strstr(help, opt), "%s: %s missing", m->name, opt);
		} else {
			ck_assert_msg(strstr(help, a->metavar), "%s: %s missing", m->name,
				      a->metavar);
		}
	}
	free(help);
}
END_TEST

START_TEST(test_usage_and_completion_lists)
{
	const struct lb_method *m = lb_method_find("add-proxy");
	char *s;

	s = capture_help(lb_method_find("set-weights"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl set-weights PROXY TARGET... [--source CIDR]\n");
	free(s);
	s = capture_help(lb_method_find("list-source-routes"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl list-source-routes [PROXY]\n");
	free(s);
	s = capture_help(lb_method_find("add-sni-route"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl add-sni-route PROXY HOSTNAME TARGET...\n");
	free(s);
	s = capture_help(lb_method_find("add-sni-route"), lb_cli_print_positionals);
	ck_assert_str_eq(s, "PROXY\nHOSTNAME\nTARGET...\n");
	free(s);
	s = capture_help(lb_method_find("remove-sni-route"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl remove-sni-route PROXY HOSTNAME\n");
	free(s);
	s = capture_help(lb_method_find("list-sni-routes"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl list-sni-routes [PROXY]\n");
	free(s);
	s = capture_help(m, lb_cli_print_usage);
	ck_assert_msg(strstr(s, "--interface IFACE [--interface IFACE...]"), "%s", s);
	ck_assert_msg(strstr(s, "\n       lbctl add-proxy --file FILE\n"), "%s", s);
	free(s);
	s = capture_help(m, lb_cli_print_options);
	ck_assert_str_eq(s, "--interface IFACE\n--port PORT\n--protocol tcp|udp|both\n"
			    "--address IP\n--hash 5-tuple|source-address\n--hash-prefix BITS\n"
			    "--forwarding nat|full-nat|dsr\n--selection maglev|least-connections\n"
			    "--snat-address IP\n"
			    "--file FILE\n--help\n");
	free(s);
	s = capture_help(m, lb_cli_print_positionals);
	ck_assert_str_eq(s, "NAME\nTARGET...\n");
	free(s);
	s = capture_help(lb_method_find("add-source-routes"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl add-source-routes PROXY --file FILE\n");
	free(s);

	m = lb_method_find("drain");
	s = capture_help(m, lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl drain PROXY TARGET [--timeout DURATION] [--wait]\n");
	free(s);
	s = capture_help(m, lb_cli_print_options);
	ck_assert_str_eq(s, "--timeout DURATION\n--wait\n--help\n");
	free(s);
	s = capture_help(m, lb_cli_print_positionals);
	ck_assert_str_eq(s, "PROXY\nTARGET\n");
	free(s);
	s = capture_help(m, lb_cli_print_help);
	ck_assert_msg(strstr(squash(s), "1ms to 24h"), "%s", s);
	free(s);
	s = capture_help(lb_method_find("health"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl health [PROXY] [--follow]\n");
	free(s);
	s = capture_help(lb_method_find("set-target-status"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl set-target-status PROXY TARGET healthy|unhealthy|auto\n");
	free(s);
	s = capture_help(lb_method_find("set-target-status"), lb_cli_print_positionals);
	ck_assert_str_eq(s, "PROXY\nTARGET\nhealthy|unhealthy|auto\n");
	free(s);
	s = capture_help(lb_method_find("drain-status"), lb_cli_print_usage);
	ck_assert_str_eq(s, "usage: lbctl drain-status [PROXY] [--target IP:PORT]\n");
	free(s);
}
END_TEST

/*
 * Every command has an entry in the man page: a ".TP" whose tag starts with its name, in
 * bold. LBCTL_MAN names the page (set by meson); without it there is nothing to check.
 */
static bool man_has_entry(const char *page, const char *name)
{
	static const char *const leads[] = {".B \"", ".BI \"", ".BR \"", ".B ",
					    ".BI ",  ".BR ",   "\\fB"};
	char escaped[128], *w = escaped;
	const char *tp, *line, *rest;
	size_t i;

	for (; *name && w < escaped + sizeof(escaped) - 3; name++) {
		if (*name == '-')
			*w++ = '\\';
		*w++ = *name;
	}
	*w = '\0';
	for (tp = strstr(page, "\n.TP\n"); tp; tp = strstr(tp + 1, "\n.TP\n")) {
		line = tp + 5;
		for (i = 0; i < N(leads); i++) {
			if (strncmp(line, leads[i], strlen(leads[i])) ||
			    strncmp(line + strlen(leads[i]), escaped, strlen(escaped)))
				continue;
			rest = line + strlen(leads[i]) + strlen(escaped);
			if (strncmp(rest, "\\-", 2) && !(*rest >= 'a' && *rest <= 'z'))
				return true;
		}
	}
	return false;
}

START_TEST(test_man_page)
{
	const char *path = getenv("LBCTL_MAN");
	char *page = NULL;
	size_t len = 0, i;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "r");
	ck_assert_msg(f, "cannot open %s", path);
	ck_assert_int_eq(getdelim(&page, &len, '\0', f) > 0, 1);
	fclose(f);
	for (i = 0; i < LB_M_COUNT; i++)
		ck_assert_msg(man_has_entry(page, lb_methods[i].name),
			      "%s has no entry for %s under COMMANDS", path, lb_methods[i].name);
	ck_assert(man_has_entry(page, "call") && man_has_entry(page, "help"));
	ck_assert(!man_has_entry(page, "add"));
	free(page);
}
END_TEST

static Suite *ctl_cli_suite(void)
{
	Suite *s = suite_create("ctl_cli");
	TCase *tc;

	tc = tcase_create("spec");
	tcase_add_loop_test(tc, test_spec_matches_schema, 0, LB_M_COUNT);
	tcase_add_loop_test(tc, test_examples_parse, 0, LB_M_COUNT);
	suite_add_tcase(s, tc);

	tc = tcase_create("argv");
	tcase_add_loop_test(tc, test_mapping, 0, N(mapping));
	tcase_add_test(tc, test_mapping_order);
	tcase_add_loop_test(tc, test_refused, 0, N(refused));
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_array);
	tcase_add_test(tc, test_file_refused);
	tcase_add_test(tc, test_extra_options);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_timeout_precedence);
	suite_add_tcase(s, tc);

	tc = tcase_create("help");
	tcase_add_loop_test(tc, test_help_mentions_everything, 0, LB_M_COUNT);
	tcase_add_test(tc, test_usage_and_completion_lists);
	tcase_add_test(tc, test_man_page);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctl_cli_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
