// SPDX-License-Identifier: GPL-2.0
/*
 * Workflow 3: a cached secret guarded by the mapped counter. Every use
 * checks the mapping, one memory load and no system call; after a
 * generation change the cache is rebuilt before the secret is used again,
 * then the change is confirmed.
 *
 * Usage: sysgenid-cached-secret < REQUESTS
 * Answers each input line with "secret HEX generation N".
 *
 * A library that must not hold up orchestrators opens a probe instead
 * (sysgenid_open_probe()) and does not confirm.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <libsysgenid.h>

struct app {
	struct sysgenid *h;
	const volatile uint32_t *genid;
	uint32_t cached_genid;
	unsigned char secret[16];
};

static void rebuild_caches(struct app *app)
{
	if (getrandom(app->secret, sizeof(app->secret), 0) !=
	    sizeof(app->secret))
		memset(app->secret, 0, sizeof(app->secret));
}

static const unsigned char *safe_cached_secret(struct app *app)
{
	for (;;) {
		const unsigned char *secret = app->secret;

		if (!sysgenid_changed(app->genid, app->cached_genid))
			return secret;

		app->cached_genid = sysgenid_peek(app->genid);
		rebuild_caches(app);
		/* Stale (-EINVAL): the counter moved again; loop. */
		sysgenid_confirm(app->h, app->cached_genid);
	}
}

int main(void)
{
	struct app app;
	char line[256];
	int err, i;

	err = sysgenid_open(&app.h);
	if (err) {
		fprintf(stderr, "cached-secret: %s: %s\n", LIBSYSGENID_DEVICE,
			strerror(-err));
		return 1;
	}
	app.genid = sysgenid_map(app.h);
	app.cached_genid = sysgenid_peek(app.genid);
	rebuild_caches(&app);

	while (fgets(line, sizeof(line), stdin)) {
		const unsigned char *s = safe_cached_secret(&app);

		printf("secret ");
		for (i = 0; i < (int)sizeof(app.secret); i++)
			printf("%02x", s[i]);
		printf(" generation %u\n", app.cached_genid);
		fflush(stdout);
	}
	sysgenid_close(app.h);
	return 0;
}
