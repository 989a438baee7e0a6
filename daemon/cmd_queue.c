/*
 * The queue for operators: "queue" lists messages, "retry" sends again.
 * The daemon's side of the queue (claims, results) is queue.c.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "queue.h"
#include "store.h"
#include "view.h"
#include "xmalloc.h"

#define QUEUE_DEFAULT_LIMIT	50

/* A state's name as stored, or NULL when `name` is none of them. */
static const char *
cmd_queue_state(const char *name)
{
	for (int i = 0; i < QUEUE_NSTATES; i++)
		if (strcmp(queue_states[i], name) == 0)
			return queue_states[i];
	return NULL;
}

static const char sql_list[] =
    "SELECT m.id, m.campaign, m.state, c.email, s.order_id, m.due_at,"
    " m.sent_at, m.attempts, m.last_error"
    " FROM messages m JOIN customers c ON c.id = m.customer_id"
    " JOIN sales s ON s.id = m.sale_id"
    " WHERE (?1 IS NULL OR m.state = ?1) AND (?2 IS NULL OR m.campaign = ?2)"
    " ORDER BY m.due_at, m.id LIMIT ?3";
static const char sql_list_total[] =
    "SELECT coalesce(sum(n), 0) FROM message_counts"
    " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR campaign = ?2)";

static json_t *
cmd_queue_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:s}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "campaign", view_text(st, 1),
	    "state", view_text(st, 2),
	    "email", view_text(st, 3),
	    "order_id", view_text(st, 4),
	    "due_at", view_time(st, 5),
	    "sent_at", view_time(st, 6),
	    "attempts", sqlite3_column_int(st, 7),
	    "last_error", view_text(st, 8));
}

/*
 * The messages with this state and campaign (NULL: any), next due first,
 * at most `limit` (0: all): { "total": N, "messages": [ ... ] } in *out,
 * the caller's to json_decref.  DB_OK or DB_*.
 */
static int
cmd_queue_list(struct db *db, const char *state, const char *campaign,
    int limit, json_t **out)
{
	sqlite3_stmt	*st;
	json_t		*list = json_array();
	int		 rc;

	*out = json_pack("{s:i, s:o}", "total", 0, "messages", list);
	if ((st = db_prepare(db, sql_list_total)) == NULL)
		return DB_ERROR;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, campaign, -1, SQLITE_STATIC);
	if ((rc = db_step(db, st)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? DB_ERROR : rc;
	json_object_set_new(*out, "total", json_integer(sqlite3_column_int64(st, 0)));
	sqlite3_reset(st);

	if ((st = db_prepare(db, sql_list)) == NULL)
		return DB_ERROR;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, campaign, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit > 0 ? limit : -1);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_array_append_new(list, cmd_queue_row(st));
	return rc == SQLITE_DONE ? DB_OK : rc;
}

static const char sql_retry_check[] =
    "SELECT m.state, c.email,"
    " " STORE_NO_CONSENT("c")
    " FROM messages m JOIN customers c ON c.id = m.customer_id WHERE m.id = ?1";
static const char sql_retry[] =
    "UPDATE messages SET state = 'scheduled', due_at = ?2, attempts = 0,"
    " first_due_at = NULL, updated_at = ?2 WHERE id = ?1";
static const char sql_retry_failed[] =
    "UPDATE messages SET state = 'scheduled', due_at = ?2, attempts = 0,"
    " first_due_at = NULL, updated_at = ?2 WHERE state = 'failed'"
    " AND customer_id NOT IN (SELECT id FROM customers"
    "   WHERE " STORE_NO_CONSENT("customers") ")";
static const char sql_failed_held[] =
    "SELECT count(*) FROM messages WHERE state = 'failed'";

/*
 * Put a failed or deferred message back in the queue, due now, with its
 * attempts (and give_up_after) counted afresh, inside the caller's write
 * transaction.  1 when done; 0 when it cannot be, with the reason in why;
 * DB_*.
 */
static int
cmd_retry_one(struct db *db, int64_t id, int64_t now, char *why, size_t size)
{
	sqlite3_stmt	*st = db_prepare(db, sql_retry_check);
	const char	*state;
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(db, st)) != SQLITE_ROW) {
		snprintf(why, size, "there is no message %lld", (long long)id);
		return rc == SQLITE_DONE ? 0 : rc;
	}
	state = (const char *)sqlite3_column_text(st, 0);
	if (strcmp(state, "failed") != 0 && strcmp(state, "deferred") != 0)
		snprintf(why, size, "message %lld is %s: only failed and deferred "
		    "messages can be retried", (long long)id, state);
	else if (sqlite3_column_int(st, 2))
		snprintf(why, size, "message %lld: %s unsubscribed or bounced; "
		    "resubscribe %s first", (long long)id,
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 1));
	else
		why[0] = '\0';
	sqlite3_reset(st);
	if (why[0] != '\0')
		return 0;
	return (rc = db_write(db, sql_retry, id, now, NULL)) == DB_OK ? 1 : rc;
}

/*
 * Every failed message whose customer may still be mailed goes back in the
 * queue, inside the caller's write transaction.  *held counts the failed
 * ones left (unsubscribed or bounced customers).  DB_OK or DB_*.
 */
static int
cmd_retry_failed(struct db *db, int64_t now, int *count, int *held)
{
	int64_t	left = 0;
	int	rc;

	*count = *held = 0;
	if ((rc = db_write(db, sql_retry_failed, 0, now, NULL)) != DB_OK)
		return rc;
	*count = sqlite3_changes(db->sqlite);
	if ((rc = db_run(db, sql_failed_held, 0, 0, NULL, &left)) < 0)
		return rc;
	*held = (int)left;
	return DB_OK;
}

static const char *
cmd_queue_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void
cmd_queue_print(const json_t *list, FILE *out)
{
	const json_t	*messages = json_object_get(list, "messages"), *m;
	json_int_t	 total = json_integer_value(json_object_get(list, "total"));
	size_t		 i;

	if (total == 0) {
		fputs("no messages\n", out);
		return;
	}
	fprintf(out, "%8s  %-10s  %-20s  %-20s  %3s  %s\n", "ID", "STATE",
	    "CAMPAIGN", "DUE", "TRY", "TO");
	json_array_foreach(messages, i, m) {
		const char *error = cmd_queue_str(m, "last_error");

		fprintf(out, "%8lld  %-10s  %-20s  %-20s  %3lld  %s\n",
		    (long long)json_integer_value(json_object_get(m, "id")),
		    cmd_queue_str(m, "state"), cmd_queue_str(m, "campaign"),
		    cmd_queue_str(m, "due_at"),
		    (long long)json_integer_value(json_object_get(m, "attempts")),
		    cmd_queue_str(m, "email"));
		if (*error != '\0')
			fprintf(out, "%8s  %s\n", "", error);
	}
	if ((json_int_t)json_array_size(messages) < total)
		fprintf(out, "%lld more; use --limit to see them\n",
		    (long long)(total - (json_int_t)json_array_size(messages)));
}

int
cmd_queue(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "campaign", required_argument, NULL, 'C' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		CLI_LONG,
		{ 0 }
	};
	const char	*state = NULL, *campaign = NULL;
	char		*end;
	long		 limit = QUEUE_DEFAULT_LIMIT;
	json_t		*list;
	int		 ch, rc, json = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		switch (ch) {
		case 's':
			if ((state = cmd_queue_state(optarg)) == NULL)
				return cli_usage_error(cmd, "--state \"%s\" is not a "
				    "message state (scheduled, sending, sent, "
				    "deferred, failed, cancelled, expired, "
				    "suppressed)", optarg);
			break;
		case 'C': campaign = optarg; break;
		case 'n':
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    limit < 0 || limit > 1000000)
				return cli_usage_error(cmd, "--limit \"%s\" is not a "
				    "number from 0 (all) to 1000000", optarg);
			break;
		case 'j': json = 1; break;
		default: return ch == CLI_HELP ? EX_OK : EX_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = cli_open(cli, CLI_DB_READ)) != EX_OK)
		return rc;
	if ((rc = cmd_queue_list(cli->db, state, campaign, (int)limit, &list)) != DB_OK) {
		json_decref(list);
		return cli_status(rc);
	}
	/* A campaign neither configured nor queued is most likely a typo. */
	if (campaign != NULL && config_campaign(cli->cfg, campaign) == NULL &&
	    json_integer_value(json_object_get(list, "total")) == 0) {
		json_decref(list);
		return cli_usage_error(cmd, "no campaign \"%s\" in %s or in the "
		    "queue", campaign, cli->config_path);
	}
	return cli_output(list, json, cmd_queue_print);
}

/* The message ids on the command line; reports and returns -1 if bad. */
static int
cmd_retry_ids(const struct cmd *cmd, int argc, char **argv, int64_t *ids)
{
	for (int i = 0; i < argc; i++) {
		char		*end;
		long long	 id;

		errno = 0;
		id = strtoll(argv[i], &end, 10);
		if (errno != 0 || end == argv[i] || *end != '\0' || id <= 0) {
			cli_usage_error(cmd, "\"%s\" is not a message id", argv[i]);
			return -1;
		}
		ids[i] = id;
	}
	return 0;
}

/*
 * All or nothing: every id named must be a failed or deferred message of
 * a customer who may be mailed, or none is retried.
 */
int
cmd_retry(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "failed", no_argument, NULL, 'f' },
		CLI_LONG,
		{ 0 }
	};
	int64_t	*ids = NULL, now = (int64_t)time(NULL);
	char	 why[512];
	int	 ch, rc, nids, all_failed = 0, count = 0, held = 0, bad = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		if (ch != 'f')
			return ch == CLI_HELP ? EX_OK : EX_USAGE;
		all_failed = 1;
	}
	nids = argc - optind;
	if ((nids == 0) == !all_failed)
		return cli_usage_error(cmd, "give message ids, or --failed");
	if (nids > 0 && cmd_retry_ids(cmd, nids, argv + optind,
	    (ids = xcalloc((size_t)nids, sizeof(*ids)))) == -1) {
		free(ids);
		return EX_USAGE;
	}
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK) {
		free(ids);
		return rc;
	}
	if ((rc = db_begin(cli->db)) != DB_OK) {
		free(ids);
		return cli_status(rc);
	}
	if (all_failed)
		rc = cmd_retry_failed(cli->db, now, &count, &held);
	for (int i = 0; i < nids && rc == DB_OK; i++) {
		int done = cmd_retry_one(cli->db, ids[i], now, why, sizeof(why));

		if (done < 0) {
			rc = done;
		} else if (done == 0) {
			log_error("%s", why);
			bad++;
		} else {
			count++;
		}
	}
	free(ids);
	/* All or nothing: one message that cannot be retried keeps them all. */
	if ((rc = db_end(cli->db, rc == DB_OK && bad > 0 ? bad : rc)) != DB_OK) {
		if (rc > 0)
			log_error("nothing was retried");
		return rc > 0 ? EX_DATAERR : cli_status(rc);
	}
	printf("%d message%s back in the queue, due now\n", count,
	    count == 1 ? "" : "s");
	if (held > 0)
		printf("%d failed message%s left: the customer unsubscribed or "
		    "bounced (resubscribe them first)\n", held, held == 1 ? "" : "s");
	return EX_OK;
}
