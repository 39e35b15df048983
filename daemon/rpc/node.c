// SPDX-License-Identifier: MIT
/* Methods of this node: node-drain, node-undrain, node-status (daemon/node.h). */
#include "methods.h"

#include <errno.h>

#include "node.h"
#include "rpc.h"

static int node_result(struct lbd *l, json_t **result, struct lbd_rpc_err *e)
{
	*result = lbd_node_json(l);
	if (!*result)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	return 0;
}

static int set_maintenance(struct lbd *l, bool on, json_t **result, struct lbd_rpc_err *e)
{
	char err[LB_ERR_MAX];
	int ret = lbd_node_set_maintenance(l, on, err, sizeof(err));

	if (ret == -ENOTCONN) /* nothing announced: a drain would change nothing */
		return lbd_rpc_fail(e, LB_RPC_UNAVAILABLE, json_object(), "%s", err);
	if (ret)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "%s", err);
	return node_result(l, result, e);
}

int lbd_rpc_node_drain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		       struct lbd_rpc_err *e)
{
	return set_maintenance(l, true, result, e);
}

int lbd_rpc_node_undrain(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e)
{
	return set_maintenance(l, false, result, e);
}

int lbd_rpc_node_status(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			struct lbd_rpc_err *e)
{
	return node_result(l, result, e);
}
