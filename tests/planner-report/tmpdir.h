/* SPDX-License-Identifier: MIT */
/* A fresh temporary folder per test, removed with everything in it. */
#ifndef TARN_TESTS_PLANNER_REPORT_TMPDIR_H
#define TARN_TESTS_PLANNER_REPORT_TMPDIR_H

#include <glib.h>
#include <glib/gstdio.h>

static inline void tmpdir_remove(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *n;

	while (d && (n = g_dir_read_name(d))) {
		char *p = g_build_filename(path, n, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			tmpdir_remove(p);
		else
			g_remove(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(path);
}

#endif /* TARN_TESTS_PLANNER_REPORT_TMPDIR_H */
