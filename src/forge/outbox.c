/* outbox.c — the one way an event of the forge is recorded: an `events`
 * row and a NOTIFY carrying its id, delivered at commit. */
#include "forge/forge.h"
#include "db/db.h"

#include <stdlib.h>

int forge_event(int64_t *out, struct forge *f, int64_t repo_id, const char *type, json_t *payload)
{
	if (f->who && (f->who->via_agent || f->who->task_agent))
		json_object_set_new(payload, "via_agent", json_true());
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!text)
		return err_set(f->err, ERR_INTERNAL, NULL, "cannot encode the '%s' event", type);
	PGresult *res = db_qv(f->db, f->arena, f->err,
			      "WITH ev AS (INSERT INTO events (repo_id, type, actor_id, payload) "
			      "  VALUES ($1, $2, $3, $4::jsonb) RETURNING id) "
			      "SELECT id, pg_notify('plue_events', id::text) FROM ev",
			      arena_int(f->arena, (long long)repo_id), type,
			      arena_id(f->arena, (long long)(f->who ? f->who->user_id : 0)), text);
	free(text);
	if (!res)
		return f->err->code;
	if (out)
		*out = db_int(res, 0, 0);
	return 0;
}
