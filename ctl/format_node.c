// SPDX-License-Identifier: MIT
/* Text output of node-drain, node-undrain and node-status (lbctl node ...). */
#include <string.h>

#include "format.h"

bool lb_format_node_result(FILE *out, const char *method, const json_t *r)
{
	const json_t *table = json_object_get(r, "announce-table"), *a, *w;
	size_t i;

	if (strncmp(method, "node-", 5) || !json_is_object(r))
		return false;
	fprintf(out, "node: %s\n", json_string_value(json_object_get(r, "state")) ?: "?");
	if (json_is_integer(table))
		fprintf(out, "announce table: %" JSON_INTEGER_FORMAT "\n",
			json_integer_value(table));
	else
		fputs("announce table: none (settings.announce-table is not set)\n", out);
	fputs("announced:", out);
	json_array_foreach (json_object_get(r, "announced"), i, a)
		fprintf(out, " %s", json_string_value(a) ?: "?");
	fputs(json_array_size(json_object_get(r, "announced")) ? "\n" : " nothing\n", out);
	json_array_foreach (json_object_get(r, "withheld"), i, w)
		fprintf(out, "withheld: %s: %s\n",
			json_string_value(json_object_get(w, "address")) ?: "?",
			json_string_value(json_object_get(w, "reason")) ?: "?");
	fprintf(out, "flows: %" JSON_INTEGER_FORMAT "\n",
		json_integer_value(json_object_get(r, "flows")));
	return true;
}
