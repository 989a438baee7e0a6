/* The schema's history, compiled in from migrations/NNNN_name.sql. */
#ifndef AFTERSALE_MIGRATIONS_H
#define AFTERSALE_MIGRATIONS_H

struct migration {
	int		 version;	/* NNNN: PRAGMA user_version after it */
	const char	*name;
	const char	*sql;
};

extern const struct migration	migrations[];
extern const int		migrations_count;

#endif
