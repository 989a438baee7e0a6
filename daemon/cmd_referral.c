/* Referrals: "referral list", and a person's word on those in review. */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "log.h"
#include "money.h"
#include "timestamp.h"
#include "view.h"

static const char *const referral_states[] = {
	"pending", "review", "confirmed", "voided", NULL
};

/* ?1: a state, or NULL for all; ?2: referral.hold. */
static const char sql_list[] =
    "SELECT r.referred_id, r.state, r.reason, referrer.email, referred.email,"
    " s.order_id, s.amount - s.refunded, s.currency, s.sold_at,"
    " CASE WHEN r.state IN ('pending', 'review') THEN s.sold_at + ?2 END,"
    " r.decided_at"
    " FROM referrals r JOIN sales s ON s.id = r.sale_id"
    " JOIN customers referrer ON referrer.id = r.referrer_id"
    " JOIN customers referred ON referred.id = r.referred_id"
    " WHERE ?1 IS NULL OR r.state = ?1 ORDER BY s.sold_at, r.referred_id";
static const char sql_state[] =
    "SELECT r.state, s.sold_at FROM referrals r JOIN sales s ON s.id = r.sale_id"
    " WHERE r.referred_id = ?1";
/* acted stays 0: the daemon does what the new state asks. */
static const char sql_decide[] =
    "UPDATE referrals SET state = ?3, decided_at = ?2"
    " WHERE referred_id = ?1 AND state = 'review'";

static json_t *
referral_row(sqlite3_stmt *st)
{
	char amount[MONEY_TEXT_LEN];

	money_format(sqlite3_column_int64(st, 6), view_text(st, 7), amount);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "state", view_text(st, 1), "reason", view_text(st, 2),
	    "referrer", view_text(st, 3), "referred", view_text(st, 4),
	    "order_id", view_text(st, 5), "amount", amount,
	    "currency", view_text(st, 7), "sold_at", view_time(st, 8),
	    "hold_ends", view_time(st, 9), "decided_at", view_time(st, 10));
}

static int
referral_list(struct db *db, const char *state, int64_t hold, json_t *list)
{
	sqlite3_stmt	*st = db_prepare(db, sql_list);
	int		 rc;

	if (st == NULL)
		return DB_ERROR;
	if (state != NULL)
		sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, hold);
	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_array_append_new(list, referral_row(st));
	return rc == SQLITE_DONE ? DB_OK : rc;
}

static const char *
referral_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static void
referral_print(const json_t *list, FILE *out)
{
	const json_t	*r;
	size_t		 i;

	if (json_array_size(list) == 0) {
		fputs("no referrals\n", out);
		return;
	}
	fprintf(out, "%-6s %-9s %-20s %-28s %-28s %-12s %s\n", "ID", "STATE",
	    "SOLD", "REFERRER", "REFERRED", "ORDER", "HOLD ENDS / WHY");
	json_array_foreach(list, i, r) {
		const char *state = referral_str(r, "state");

		fprintf(out, "%-6lld %-9s %-20s %-28s %-28s %-12s %s%s%s\n",
		    (long long)json_integer_value(json_object_get(r, "id")),
		    state, referral_str(r, "sold_at"),
		    referral_str(r, "referrer"), referral_str(r, "referred"),
		    referral_str(r, "order_id"),
		    strcmp(state, "pending") == 0 || strcmp(state, "review") == 0 ?
		    referral_str(r, "hold_ends") : "",
		    strcmp(state, "review") == 0 ? " " : "",
		    strcmp(state, "review") == 0 ? referral_str(r, "reason") : "");
	}
}

int
cmd_referral_list(struct cli *cli, const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		CLI_LONG,
		{ 0 }
	};
	const char	*state = NULL;
	json_t		*list;
	int		 ch, rc, json = 0;

	while ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1) {
		switch (ch) {
		case 's':
			for (int i = 0; referral_states[i] != NULL; i++)
				if (strcmp(optarg, referral_states[i]) == 0)
					state = referral_states[i];
			if (state == NULL)
				return cli_usage_error(cmd, "--state \"%s\" is not a "
				    "referral state (pending, review, confirmed, "
				    "voided)", optarg);
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
	list = json_array();
	if ((rc = referral_list(cli->db, state, cli->cfg->referral.hold,
	    list)) != DB_OK) {
		json_decref(list);
		return cli_status(rc);
	}
	return cli_output(list, json, referral_print);
}

/*
 * A person's word on a referral in review: approved, it goes on as if no
 * rule had stopped it (pending until its hold is over, or confirmed when
 * it is); rejected, it is voided.  What the new state asks of messages
 * (the referrer's thanks, stop_on = referred_friend) is the daemon's.
 */
static int
referral_decide(struct cli *cli, const struct cmd *cmd, int argc, char **argv,
    int approve)
{
	sqlite3_stmt	*st;
	const char	*to;
	char		 state[16] = "", *end, when[TIMESTAMP_LEN];
	int64_t		 id, now = (int64_t)time(NULL), sold_at = 0;
	int		 rc;

	static const struct option longopts[] = { CLI_LONG, { 0 } };
	int				   ch;

	if ((ch = cli_getopt(cli, cmd, argc, argv, CLI_SHORT, longopts)) != -1)
		return ch == CLI_HELP ? EX_OK : EX_USAGE;
	if (argc - optind != 1)
		return cli_usage_error(cmd, "give one referral id, as referral "
		    "list shows it");
	id = strtoll(argv[optind], &end, 10);
	if (end == argv[optind] || *end != '\0' || id <= 0) {
		log_error("\"%s\" is not a referral id (a number, as referral "
		    "list shows it)", argv[optind]);
		return EX_DATAERR;
	}
	if ((rc = cli_open(cli, CLI_DB_WRITE)) != EX_OK)
		return rc;
	if ((rc = db_begin(cli->db)) != DB_OK)
		return cli_status(rc);
	if ((st = db_prepare(cli->db, sql_state)) == NULL)
		return cli_status(db_end(cli->db, DB_ERROR));
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step(cli->db, st)) == SQLITE_ROW) {
		snprintf(state, sizeof(state), "%s", view_text(st, 0));
		sold_at = sqlite3_column_int64(st, 1);
		rc = DB_OK;
	}
	sqlite3_reset(st);
	if (rc != DB_OK && rc != SQLITE_DONE)
		return cli_status(db_end(cli->db, rc));
	if (strcmp(state, "review") != 0) {
		db_end(cli->db, 1);
		if (*state == '\0')
			log_error("no referral has the id %lld (see referral "
			    "list)", (long long)id);
		else
			log_error("referral %lld is %s, not in review: only a "
			    "referral in review waits for a decision",
			    (long long)id, state);
		return EX_DATAERR;
	}
	to = !approve ? "voided" : sold_at + cli->cfg->referral.hold <= now ?
	    "confirmed" : "pending";
	if ((rc = db_end(cli->db, db_write(cli->db, sql_decide, id, now,
	    to))) != DB_OK)
		return cli_status(rc);
	if (strcmp(to, "pending") == 0) {
		timestamp_format(sold_at + cli->cfg->referral.hold, when);
		printf("referral %lld approved: pending until its hold ends at "
		    "%s\n", (long long)id, when);
	} else {
		printf("referral %lld %s: %s\n", (long long)id,
		    approve ? "approved" : "rejected", to);
	}
	return EX_OK;
}

int
cmd_referral_approve(struct cli *cli, const struct cmd *cmd, int argc,
    char **argv)
{
	return referral_decide(cli, cmd, argc, argv, 1);
}

int
cmd_referral_reject(struct cli *cli, const struct cmd *cmd, int argc,
    char **argv)
{
	return referral_decide(cli, cmd, argc, argv, 0);
}
