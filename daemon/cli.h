/* What every subcommand shares: its table entry, options, config, exits. */
#ifndef AFTERSALE_CLI_H
#define AFTERSALE_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#include "config.h"
#include "db.h"
#include "series.h"

struct cli {
	const char	*config_path;
	struct config	*cfg;
	struct db	*db;
};

struct cmd {
	const char	*name;		/* "sale add" */
	const char	*usage;		/* what follows the name */
	const char	*summary;	/* one line for aftersale --help */
	int		(*exec)(struct cli *, const struct cmd *, int, char **);
};

/* The options every subcommand takes besides its own. */
#define CLI_SHORT	"c:h"
#define CLI_LONG	{ "config", required_argument, NULL, 'c' }, \
			{ "help", no_argument, NULL, 'h' }

/*
 * cli_getopt: --help was given and answered.  No option character (the
 * long-only ones count up from 0x100), not -1 (the end), and apart from
 * the DB_* codes, so that one is never taken for another.
 */
#define CLI_HELP	(-16)
#define CLI_CONTINUE	(-1)

int	cli_getopt(struct cli *cli, const struct cmd *cmd, int argc,
	    char **argv, const char *shortopts, const struct option *longopts);
int	cli_no_arguments(struct cli *cli, const struct cmd *cmd, int argc,
	    char **argv);
void	cli_usage(const struct cmd *cmd, FILE *out);
int	cli_usage_error(const struct cmd *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* What a command does with the database. */
enum cli_db {
	CLI_DB_NONE,
	CLI_DB_READ,		/* looks only: works on a read-only database */
	CLI_DB_WRITE,		/* creates and migrates it if need be */
};

int	cli_open(struct cli *cli, enum cli_db db);
int	cli_open_db(struct cli *cli, enum cli_db db);
void	cli_close(struct cli *cli);
int	cli_status(int db_rc);
int	cli_output(json_t *doc, int json,
	    void (*text)(const json_t *, FILE *));
int	cli_time(const struct cmd *cmd, const char *option, const char *text,
	    int64_t *out);
int	cli_window(const struct cmd *cmd, const char *since, const char *until,
	    int64_t *from, int64_t *to);
int	cli_by(const struct cmd *cmd, const char *text, enum series_by *by);

int	cmd_check_config(struct cli *, const struct cmd *, int, char **);
int	cmd_coupon_import(struct cli *, const struct cmd *, int, char **);
int	cmd_coupon_list(struct cli *, const struct cmd *, int, char **);
int	cmd_migrate(struct cli *, const struct cmd *, int, char **);
int	cmd_customer(struct cli *, const struct cmd *, int, char **);
int	cmd_customer_erase(struct cli *, const struct cmd *, int, char **);
int	cmd_customer_export(struct cli *, const struct cmd *, int, char **);
int	cmd_referral_approve(struct cli *, const struct cmd *, int, char **);
int	cmd_referral_list(struct cli *, const struct cmd *, int, char **);
int	cmd_referral_reject(struct cli *, const struct cmd *, int, char **);
int	cmd_resubscribe(struct cli *, const struct cmd *, int, char **);
int	cmd_unsubscribe(struct cli *, const struct cmd *, int, char **);
int	cmd_preview(struct cli *, const struct cmd *, int, char **);
int	cmd_queue(struct cli *, const struct cmd *, int, char **);
int	cmd_report(struct cli *, const struct cmd *, int, char **);
int	cmd_retry(struct cli *, const struct cmd *, int, char **);
int	cmd_sale_add(struct cli *, const struct cmd *, int, char **);
int	cmd_sale_import(struct cli *, const struct cmd *, int, char **);
int	cmd_sale_refund(struct cli *, const struct cmd *, int, char **);
int	cmd_run(struct cli *, const struct cmd *, int, char **);
int	cmd_stats(struct cli *, const struct cmd *, int, char **);

#endif
