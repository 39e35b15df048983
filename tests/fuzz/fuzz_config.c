// SPDX-License-Identifier: MIT
/*
 * fuzz_config.c - libFuzzer target for the configuration parser (lb_config_parse_string).
 *
 * Whatever parses must also pass lb_config_validate() (the same rules, applied to the
 * model), survive lb_config_dup(), and round-trip through the JSON emitter: the emitted text
 * parses again and emits the same text. A rejected text must come with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lb_config.h"

static char *emit(const struct lb_config *cfg)
{
	json_t *j = lb_config_to_json(cfg);
	char *text;

	if (!j)
		abort();
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!text)
		abort();
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_config *cfg = NULL, *again = NULL, *dup;
	char err[LB_ERR_MAX], *text, *first, *second;

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';

	err[0] = '\0';
	if (lb_config_parse_string(text, &cfg, err, sizeof(err))) {
		if (cfg || !err[0] || strnlen(err, sizeof(err)) >= sizeof(err))
			abort();
		free(text);
		return 0;
	}
	if (lb_config_validate(cfg, err, sizeof(err)))
		abort(); /* the parser accepted what the validator refuses: see err */

	dup = lb_config_dup(cfg);
	if (!dup || lb_config_validate(dup, err, sizeof(err)))
		abort();
	lb_config_free(dup);

	first = emit(cfg);
	if (lb_config_parse_string(first, &again, err, sizeof(err)))
		abort(); /* the emitter wrote what the parser refuses: see err */
	second = emit(again);
	if (strcmp(first, second))
		abort();

	free(second);
	free(first);
	lb_config_free(again);
	lb_config_free(cfg);
	free(text);
	return 0;
}
