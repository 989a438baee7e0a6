/* The queue for operators: "queue" lists messages, "retry" sends again. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "queue.h"

#define QUEUE_DEFAULT_LIMIT	50

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
			if ((state = queue_state_name(optarg)) == NULL)
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
	if ((rc = queue_list(cli->db, state, campaign, (int)limit, &list)) != DB_OK) {
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
	if (json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		cmd_queue_print(list, stdout);
	}
	json_decref(list);
	return EX_OK;
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
	if (nids > 0 && ((ids = calloc((size_t)nids, sizeof(*ids))) == NULL ||
	    cmd_retry_ids(cmd, nids, argv + optind, ids) == -1)) {
		free(ids);
		return ids == NULL ? EX_OSERR : EX_USAGE;
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
		rc = queue_retry_failed(cli->db, now, &count, &held);
	for (int i = 0; i < nids && rc == DB_OK; i++) {
		int done = queue_retry(cli->db, ids[i], now, why, sizeof(why));

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
