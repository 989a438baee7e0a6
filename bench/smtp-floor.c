/*
 * smtp-floor CONFIG MESSAGES: the daemon's own sender (smtp.c: libcurl,
 * one easy handle per thread) sending MESSAGES messages of about 2 KB over
 * smtp.max_connections threads, with no database, no planning and no event
 * loop.  What it reaches is the ceiling of aftersale run's throughput;
 * bench/delivery.py prints it beside both.  Prints the seconds taken.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "smtp.h"

#define FLOOR_RCPT	"customer@example.com"

struct floor_thread {
	pthread_t		 thread;
	const struct config	*cfg;
	const struct buf	*text;
	long			 count;
	long			 failed;
};

static void *
floor_run(void *arg)
{
	struct floor_thread	*t = arg;
	struct smtp_conn	 conn;
	struct smtp_result	 r;

	if (smtp_conn_init(&conn, t->cfg, NULL) == -1) {
		t->failed = t->count;
		return NULL;
	}
	for (long i = 0; i < t->count; i++) {
		smtp_send(&conn, FLOOR_RCPT, t->text->data, t->text->len, &r);
		if (r.error != SMTP_OK) {
			fprintf(stderr, "smtp-floor: %s: %s %s\n",
			    smtp_stage_name(r.stage), r.reply, r.detail);
			t->failed++;
		}
	}
	smtp_conn_cleanup(&conn);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct config		*cfg;
	struct buf		 text = { 0 };
	struct floor_thread	*threads;
	struct timespec		 start, end;
	long			 total, failed = 0;
	int			 n;

	if (argc != 3 || (total = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: smtp-floor CONFIG MESSAGES\n");
		return 64;
	}
	if (config_load(argv[1], &cfg) == -1)
		return 78;
	buf_printf(&text, "From: %s\r\nTo: <%s>\r\nSubject: floor\r\n\r\n",
	    cfg->smtp.from, FLOOR_RCPT);
	while (text.len < 2000)
		buf_addstr(&text, "Thank you for your order: your coffee was "
		    "roasted this week and is on its way.\r\n");
	curl_global_init(CURL_GLOBAL_DEFAULT);

	n = cfg->smtp.max_connections;
	if ((threads = calloc((size_t)n, sizeof(*threads))) == NULL)
		return 71;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0; i < n; i++) {
		threads[i].cfg = cfg;
		threads[i].text = &text;
		threads[i].count = total / n + (i < total % n);
		pthread_create(&threads[i].thread, NULL, floor_run, &threads[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(threads[i].thread, NULL);
		failed += threads[i].failed;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%.3f\n", (double)(end.tv_sec - start.tv_sec) +
	    (double)(end.tv_nsec - start.tv_nsec) / 1e9);

	free(threads);
	buf_free(&text);
	config_free(cfg);
	curl_global_cleanup();
	return failed > 0 ? 1 : 0;
}
