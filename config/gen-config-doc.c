/* SPDX-License-Identifier: MIT */
/*
 * Prints docs/config.md from the settings table, writes it (--output FILE),
 * or checks that FILE is current (--check FILE), which is how the test suite
 * keeps the committed page from drifting away from the table.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "settings.h"

static int usage(void)
{
	fprintf(stderr, "usage: gen-config-doc [--output FILE | --check FILE "
			"[--build-dir DIR]]\n");
	return 2;
}

static int check(const char *path, const char *want, const char *build_dir)
{
	char *have = NULL;
	GError *err = NULL;
	int rc = 0;

	if (!g_file_get_contents(path, &have, NULL, &err)) {
		fprintf(stderr, "%s\n", err->message);
		g_error_free(err);
		rc = 1;
	} else if (strcmp(have, want)) {
		rc = 1;
	}
	if (rc)
		fprintf(stderr,
			"%s is not what config/table.c generates; regenerate "
			"it with\n    meson compile -C %s config-doc\nand commit "
			"it.\n",
			path, build_dir ? build_dir : "BUILDDIR");
	else
		printf("%s is up to date\n", path);
	g_free(have);
	return rc;
}

int main(int argc, char **argv)
{
	const char *output = NULL, *check_path = NULL, *build_dir = NULL;
	char *md;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--output"))
			output = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--check"))
			check_path = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--build-dir"))
			build_dir = argv[++i];
		else
			return usage();
	}
	md = tarn_settings_markdown();
	if (check_path) {
		rc = check(check_path, md, build_dir);
	} else if (output) {
		GError *err = NULL;

		if (!g_file_set_contents(output, md, -1, &err)) {
			fprintf(stderr, "%s\n", err->message);
			g_error_free(err);
			rc = 1;
		}
	} else {
		fputs(md, stdout);
	}
	g_free(md);
	return rc;
}
