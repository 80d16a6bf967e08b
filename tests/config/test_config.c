/* SPDX-License-Identifier: MIT */
/*
 * The configuration module: each type's parsing and rejection, the four
 * sources and their precedence, YAML errors with positions, the backend and
 * config-file conflicts, freezing, and the describe/count/source functions.
 *
 * Every test runs in a fresh temporary working directory (so a tarn.yaml is
 * found there and nowhere else) and undoes its environment, API values and
 * freeze at the end, so that the suite also passes with --no-fork, which is
 * how it runs under valgrind.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "internal.h"
#include "settings.h"

static char *tmpdir;
static char *oldcwd;

static void clean_env(void)
{
	for (size_t i = 0; i < tarn_settings_count; i++)
		unsetenv(tarn_settings_table[i].name);
	unsetenv("UNIDIST_CPU");
}

static void setup(void)
{
	clean_env();
	oldcwd = g_get_current_dir();
	tmpdir = g_dir_make_tmp("tarn-config-XXXXXX", NULL);
	cr_assert_not_null(tmpdir);
	cr_assert_eq(chdir(tmpdir), 0);
}

static void teardown(void)
{
	GDir *d;
	const char *n;

	tarn_config_unfreeze();
	for (size_t i = 0; i < tarn_settings_count; i++)
		tarn_config_set(tarn_settings_table[i].name, NULL);
	clean_env();
	if (chdir(oldcwd) != 0)
		perror("chdir");
	d = g_dir_open(tmpdir, 0, NULL);
	while (d && (n = g_dir_read_name(d))) {
		char *p = g_build_filename(tmpdir, n, NULL);

		g_remove(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(tmpdir);
	g_free(tmpdir);
	g_free(oldcwd);
}

TestSuite(types, .init = setup, .fini = teardown);
TestSuite(sources, .init = setup, .fini = teardown);
TestSuite(yaml, .init = setup, .fini = teardown);
TestSuite(backend, .init = setup, .fini = teardown);
TestSuite(lifecycle, .init = setup, .fini = teardown);
TestSuite(describe, .init = setup, .fini = teardown);
TestSuite(table, .init = setup, .fini = teardown);

/* Write @text to @name in the test's directory; returns the full path. */
static char *write_file(const char *name, const char *text)
{
	char *path = g_build_filename(tmpdir, name, NULL);

	cr_assert(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* tarn_config_set(@name, @in) must succeed and read back as @want. */
static void expect_canon(const char *name, const char *in, const char *want)
{
	int rc = tarn_config_set(name, in);

	cr_assert_eq(rc, 0, "%s=%s: %s", name, in, tarn_last_error());
	cr_assert_str_eq(tarn_config_get(name), want, "%s=%s", name, in);
}

/* tarn_config_set(@name, @in) must fail with exactly @msg. */
static void expect_reject(const char *name, const char *in, const char *msg)
{
	cr_assert_eq(tarn_config_set(name, in), TARN_ECONFIG, "%s=%s", name,
		     in);
	cr_assert_str_eq(tarn_last_error(), msg);
}

static int affinity_cpus(void)
{
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	return CPU_COUNT(&set);
}

/* Types ------------------------------------------------------------------- */

#define BOOL_ALLOWED "(allowed: true, false (also 1/0, yes/no, on/off))"
#define SIZE_ALLOWED                                                       \
	"bytes, or a whole number with K, M, G, T or KiB, MiB, GiB, TiB " \
	"(powers of 1024)"

Test(types, bool_accepts_synonyms_in_any_case)
{
	static const char *const yes[] = {"1", "true", "TRUE", "Yes", "on",
					  " yes "};
	static const char *const no[] = {"0", "false", "False", "NO", "Off"};

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++)
		expect_canon("SP_SPAWN", yes[i], "true");
	for (size_t i = 0; i < G_N_ELEMENTS(no); i++)
		expect_canon("SP_SPAWN", no[i], "false");
}

Test(types, bool_rejects_other_words)
{
	expect_reject("SP_SPAWN", "maybe",
		      "SP_SPAWN=maybe: not a boolean " BOOL_ALLOWED);
	expect_reject("UNIDIST_MPI_LOG", "2",
		      "UNIDIST_MPI_LOG=2: not a boolean " BOOL_ALLOWED);
	expect_reject("SP_SPAWN", "",
		      "SP_SPAWN='': empty " BOOL_ALLOWED);
}

Test(types, int_parses_and_checks_its_range)
{
	expect_canon("UNIDIST_CPUS", " 8 ", "8");
	expect_canon("UNIDIST_CPUS", "+16", "16");
	expect_canon("UNIDIST_CPUS", "4096", "4096");
	expect_canon("UNIDIST_TASK_MAX_RETRIES", "0", "0");
	expect_reject("UNIDIST_CPUS", "abc",
		      "UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)");
	expect_reject("UNIDIST_CPUS", "12x",
		      "UNIDIST_CPUS=12x: not an integer (allowed: 1..4096)");
	expect_reject("UNIDIST_CPUS", "1.5",
		      "UNIDIST_CPUS=1.5: not an integer (allowed: 1..4096)");
	expect_reject("UNIDIST_CPUS", "0",
		      "UNIDIST_CPUS=0: out of range (allowed: 1..4096)");
	expect_reject("UNIDIST_CPUS", "4097",
		      "UNIDIST_CPUS=4097: out of range (allowed: 1..4096)");
	expect_reject("UNIDIST_CPUS", "99999999999999999999",
		      "UNIDIST_CPUS=99999999999999999999: out of range "
		      "(allowed: 1..4096)");
	expect_reject("UNIDIST_TASK_MAX_RETRIES", "-1",
		      "UNIDIST_TASK_MAX_RETRIES=-1: out of range (allowed: "
		      "0..1000)");
	expect_reject("UNIDIST_CPUS", "",
		      "UNIDIST_CPUS='': empty (allowed: 1..4096)");
	/* The last good value stays after a rejected one. */
	cr_assert_str_eq(tarn_config_get("UNIDIST_CPUS"), "4096");
}

Test(types, size_takes_suffixes_and_gives_bytes)
{
	const char *t = "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD";

	expect_canon(t, "100000", "100000");
	expect_canon(t, "4K", "4096");
	expect_canon(t, "4KiB", "4096");
	expect_canon(t, "4k", "4096");
	expect_canon(t, "1m", "1048576");
	expect_canon(t, "3MiB", "3145728");
	expect_canon(t, "2 GiB", "2147483648");
	expect_canon(t, "2G", "2147483648");
	expect_canon(t, "1T", "1099511627776");
	expect_canon(t, "1tib", "1099511627776");
	expect_canon(t, "512B", "512");
	expect_canon(t, "0", "0");
}

Test(types, size_rejects_fractions_units_and_overflow)
{
	const char *t = "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD";

	expect_reject(t, "1.5G",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD=1.5G: not a "
		      "size (allowed: " SIZE_ALLOWED ")");
	expect_reject(t, "10X",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD=10X: not a "
		      "size (allowed: " SIZE_ALLOWED ")");
	expect_reject(t, "-1",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD=-1: not a "
		      "size (allowed: " SIZE_ALLOWED ")");
	expect_reject(t, "KiB",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD=KiB: not a "
		      "size (allowed: " SIZE_ALLOWED ")");
	expect_reject(t, "9999999T",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD=9999999T: too "
		      "large (allowed: " SIZE_ALLOWED ")");
	expect_reject(t, "99999999999999999999999",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD="
		      "99999999999999999999999: too large (allowed: " SIZE_ALLOWED
		      ")");
	/* No automatic value for the threshold, unlike the memory sizes. */
	expect_reject(t, "",
		      "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD='': empty "
		      "(allowed: " SIZE_ALLOWED ")");
	expect_canon("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY", "", "");
	expect_canon("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY", " ", "");
	expect_reject("UNIDIST_MPI_SHARED_SERVICE_MEMORY", "lots",
		      "UNIDIST_MPI_SHARED_SERVICE_MEMORY=lots: not a size "
		      "(allowed: " SIZE_ALLOWED ", or empty for automatic)");
}

Test(types, float_parses_and_checks_its_range)
{
	expect_canon("UNIDIST_MPI_BACKOFF", "0.5", "0.5");
	expect_canon("UNIDIST_MPI_BACKOFF", "1e-3", "0.001");
	expect_canon("UNIDIST_MPI_BACKOFF", " 0 ", "0");
	expect_canon("UNIDIST_MPI_BACKOFF", "0.10", "0.1");
	expect_canon("UNIDIST_MPI_BACKOFF", "2", "2");
	expect_reject("UNIDIST_MPI_BACKOFF", "-1",
		      "UNIDIST_MPI_BACKOFF=-1: out of range (allowed: >= 0)");
	expect_reject("UNIDIST_MPI_BACKOFF", "fast",
		      "UNIDIST_MPI_BACKOFF=fast: not a number (allowed: >= 0)");
	expect_reject("UNIDIST_MPI_BACKOFF", "inf",
		      "UNIDIST_MPI_BACKOFF=inf: not a number (allowed: >= 0)");
	expect_reject("UNIDIST_MPI_BACKOFF", "nan",
		      "UNIDIST_MPI_BACKOFF=nan: not a number (allowed: >= 0)");
	expect_reject("UNIDIST_MPI_BACKOFF", "1,5",
		      "UNIDIST_MPI_BACKOFF=1,5: not a number (allowed: >= 0)");
}

Test(types, enum_matches_any_case_and_lists_choices)
{
	expect_canon("UNIDIST_LOG_LEVEL", "DEBUG", "debug");
	expect_canon("UNIDIST_LOG_LEVEL", " Info ", "info");
	expect_canon("SP_MEMORY_ALLOCATOR", "JEMALLOC", "jemalloc");
	expect_reject("UNIDIST_LOG_LEVEL", "verbose",
		      "UNIDIST_LOG_LEVEL=verbose: unknown value (allowed: "
		      "error, warning, info, debug)");
	/* Bool words mean nothing to a plain enum. */
	expect_reject("UNIDIST_LOG_LEVEL", "1",
		      "UNIDIST_LOG_LEVEL=1: unknown value (allowed: error, "
		      "warning, info, debug)");
	expect_reject("SP_MEMORY_ALLOCATOR", "tcmalloc",
		      "SP_MEMORY_ALLOCATOR=tcmalloc: unknown value (allowed: "
		      "system, jemalloc, mimalloc)");
}

Test(types, tristate_takes_bool_synonyms)
{
	expect_canon("UNIDIST_MPI_SPAWN", "AUTO", "auto");
	expect_canon("UNIDIST_MPI_SPAWN", "1", "true");
	expect_canon("UNIDIST_MPI_SPAWN", "yes", "true");
	expect_canon("UNIDIST_MPI_SPAWN", "off", "false");
	expect_canon("UNIDIST_MPI_SPAWN", "False", "false");
	expect_reject("UNIDIST_MPI_SPAWN", "sometimes",
		      "UNIDIST_MPI_SPAWN=sometimes: unknown value (allowed: "
		      "auto, true, false (also 1/0, yes/no, on/off))");
}

Test(types, path_is_kept_but_not_empty)
{
	expect_canon("SP_DATA_ROOT", "/scratch/tarn jobs",
		     "/scratch/tarn jobs");
	expect_canon("SP_DATA_ROOT", " rel/dir ", "rel/dir");
	expect_reject("SP_DATA_ROOT", "",
		      "SP_DATA_ROOT='': empty (allowed: a folder)");
	expect_canon("UNIDIST_CONFIG_FILE", "", "");
}

Test(types, list_trims_drops_empty_items_and_checks_each)
{
	expect_canon("UNIDIST_MPI_HOSTS", " a , b,,c.example.org ",
		     "a,b,c.example.org");
	expect_canon("UNIDIST_MPI_HOSTS", "", "");
	expect_canon("UNIDIST_PLUGIN_PATH", "/a::/b/c/", "/a:/b/c/");
	expect_reject("UNIDIST_MPI_HOSTS", "a,b c",
		      "UNIDIST_MPI_HOSTS=a,b c: 'b c' is not a host name "
		      "(allowed: host names separated by ',')");
	expect_reject("UNIDIST_MPI_HOSTS", "node1;node2",
		      "UNIDIST_MPI_HOSTS=node1;node2: 'node1;node2' is not a "
		      "host name (allowed: host names separated by ',')");
}

Test(types, strings_are_checked_where_the_setting_says)
{
	expect_canon("UNIDIST_BACKEND", "seq", "seq");
	expect_canon("UNIDIST_BACKEND", "my_backend2", "my_backend2");
	expect_canon("UNIDIST_BACKEND", "/opt/x/libfoo.so", "/opt/x/libfoo.so");
	expect_canon("UNIDIST_BACKEND", "", "");
	expect_canon("SP_PLATFORM", "./mine.so", "./mine.so");
	expect_canon("SP_PLATFORM", "", "");
	expect_reject("UNIDIST_BACKEND", "Mpi",
		      "UNIDIST_BACKEND=Mpi: not a backend name or a plugin "
		      "path (allowed: a backend name of [a-z0-9_] (seq, "
		      "procpool, mpi, tcp or a plugin in UNIDIST_PLUGIN_PATH), "
		      "a path containing '/' to a plugin .so, or empty for "
		      "automatic)");
	cr_assert_eq(tarn_config_set("SP_PLATFORM", "/opt/plugins/"),
		     TARN_ECONFIG);
	cr_assert(strstr(tarn_last_error(),
			 "SP_PLATFORM=/opt/plugins/: a folder, not a plugin "
			 "file (allowed: "));

	expect_canon("SP_JOBID", "job-1.a_B", "job-1.a_B");
	expect_reject("SP_JOBID", "../x",
		      "SP_JOBID=../x: not usable as a folder name (allowed: "
		      "letters, digits, '.', '_' and '-')");
	expect_reject("SP_JOBID", "..",
		      "SP_JOBID=..: not usable as a folder name (allowed: "
		      "letters, digits, '.', '_' and '-')");

	expect_canon("SP_JOB_TIME", "1700000000.5", "1700000000.5");
	expect_canon("SP_JOB_TIME", "2025-03-03T12:00:00",
		     "2025-03-03T12:00:00");
	expect_canon("SP_JOB_TIME", "2025-03-03T12:00:00Z",
		     "2025-03-03T12:00:00Z");
	expect_reject("SP_JOB_TIME", "yesterday",
		      "SP_JOB_TIME=yesterday: not a time (allowed: seconds "
		      "since 1970 or an ISO 8601 date and time "
		      "(2025-03-03T12:00:00))");
	expect_reject("SP_JOB_TIME", "-5",
		      "SP_JOB_TIME=-5: not a time after 1970 (allowed: seconds "
		      "since 1970 or an ISO 8601 date and time "
		      "(2025-03-03T12:00:00))");

	/* Free text is kept exactly, blanks included. */
	expect_canon("SP_JOB_NAME", " nightly | run ", " nightly | run ");
}

/* Sources and precedence -------------------------------------------------- */

Test(sources, default_when_nothing_is_set)
{
	char *cpus = g_strdup_printf("%d", CLAMP(affinity_cpus(), 1, 4096));
	char *root = g_build_filename(g_get_home_dir(), ".smallpond", "data",
				      NULL);

	cr_assert_str_eq(tarn_config_get("UNIDIST_TASK_MAX_RETRIES"), "3");
	cr_assert_str_eq(tarn_config_get("UNIDIST_LOG_LEVEL"), "warning");
	cr_assert_str_eq(tarn_config_get("UNIDIST_MPI_BACKOFF"), "0.0001");
	cr_assert_str_eq(tarn_config_get("UNIDIST_MPI_SHARED_OBJECT_STORE"),
			 "true");
	cr_assert_str_eq(
		tarn_config_get("UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD"),
		"100000");
	cr_assert_str_eq(tarn_config_get("UNIDIST_MPI_SPAWN"), "auto");
	cr_assert_str_eq(tarn_config_get("SP_MEMORY_ALLOCATOR"), "system");
	cr_assert_str_eq(tarn_config_get("SP_NUM_EXECUTORS"), "0");
	cr_assert_str_eq(tarn_config_get("UNIDIST_BACKEND"), "");
	cr_assert_str_eq(tarn_config_get("UNIDIST_CPUS"), cpus);
	cr_assert_str_eq(tarn_config_get("SP_DATA_ROOT"), root);
	cr_assert_eq(tarn_config_source("UNIDIST_CPUS"), TARN_CONFIG_DEFAULT);
	cr_assert_eq(tarn_config_check(), 0);
	g_free(cpus);
	g_free(root);
}

Test(sources, api_beats_env_beats_file_beats_default)
{
	const char *n = "UNIDIST_TASK_MAX_RETRIES";
	tarn_config_info_t info;
	size_t idx;

	cr_assert_not_null(tarn_settings_find(n, &idx));
	cr_assert_eq(tarn_config_source(n), TARN_CONFIG_DEFAULT);

	g_free(write_file("tarn.yaml", "# settings\n"
				       "UNIDIST_TASK_MAX_RETRIES: 5\n"));
	cr_assert_str_eq(tarn_config_get(n), "5");
	cr_assert_eq(tarn_config_source(n), TARN_CONFIG_FILE);
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.origin, "tarn.yaml:2:27");

	setenv(n, "6", 1);
	cr_assert_str_eq(tarn_config_get(n), "6");
	cr_assert_eq(tarn_config_source(n), TARN_CONFIG_ENV);
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.origin, "env");

	cr_assert_eq(tarn_config_set(n, "7"), 0);
	cr_assert_str_eq(tarn_config_get(n), "7");
	cr_assert_eq(tarn_config_source(n), TARN_CONFIG_API);
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.origin, "api");

	/* Peel the sources off again, strongest first. */
	cr_assert_eq(tarn_config_set(n, NULL), 0);
	cr_assert_str_eq(tarn_config_get(n), "6");
	unsetenv(n);
	cr_assert_str_eq(tarn_config_get(n), "5");
	g_remove("tarn.yaml");
	cr_assert_str_eq(tarn_config_get(n), "3");
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.origin, "default");
}

Test(sources, empty_environment_variable_counts_as_unset)
{
	g_free(write_file("tarn.yaml", "UNIDIST_LOG_LEVEL: debug\n"));
	setenv("UNIDIST_LOG_LEVEL", "", 1);
	cr_assert_str_eq(tarn_config_get("UNIDIST_LOG_LEVEL"), "debug");
	cr_assert_eq(tarn_config_source("UNIDIST_LOG_LEVEL"),
		     TARN_CONFIG_FILE);
	setenv("UNIDIST_CPUS", "", 1);
	cr_assert_eq(tarn_config_source("UNIDIST_CPUS"), TARN_CONFIG_DEFAULT);
	cr_assert_eq(tarn_config_check(), 0);
}

Test(sources, env_values_are_validated_and_canonical)
{
	setenv("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY", "2G", 1);
	setenv("SP_BIND_NUMA_NODE", "ON", 1);
	cr_assert_str_eq(
		tarn_config_get("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY"),
		"2147483648");
	cr_assert_str_eq(tarn_config_get("SP_BIND_NUMA_NODE"), "true");

	setenv("UNIDIST_CPUS", "abc", 1);
	cr_assert_null(tarn_config_get("UNIDIST_CPUS"));
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)");
	cr_assert_eq(tarn_config_source("UNIDIST_CPUS"), TARN_ECONFIG);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)");
	/* Other settings are still readable. */
	cr_assert_str_eq(tarn_config_get("SP_BIND_NUMA_NODE"), "true");
}

Test(sources, overridden_bad_values_still_count)
{
	g_free(write_file("tarn.yaml", "UNIDIST_CPUS: lots\n"));
	setenv("UNIDIST_CPUS", "4", 1);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "tarn.yaml:1:15: UNIDIST_CPUS=lots: not an integer "
			 "(allowed: 1..4096)");

	g_remove("tarn.yaml");
	setenv("UNIDIST_CPUS", "lots", 1);
	cr_assert_eq(tarn_config_set("UNIDIST_CPUS", "4"), 0);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_CPUS=lots: not an integer (allowed: "
			 "1..4096)");
}

Test(sources, config_file_named_by_either_variable)
{
	char *a = write_file("a.yaml", "SP_JOB_NAME: from a\n");
	char *b = write_file("b.yaml", "SP_JOB_NAME: from b\n");
	char *where;

	setenv("UNIDIST_CONFIG_FILE", a, 1);
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "from a");
	where = g_strdup_printf("%s:1:14", a);
	{
		size_t idx;
		tarn_config_info_t info;

		tarn_settings_find("SP_JOB_NAME", &idx);
		cr_assert_eq(tarn_config_describe(idx, &info), 0);
		cr_assert_str_eq(info.origin, where);
		cr_assert_eq(info.source, TARN_CONFIG_FILE);
	}
	unsetenv("UNIDIST_CONFIG_FILE");

	setenv("SP_CONFIG_FILE", b, 1);
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "from b");
	/* Both naming the same file is fine. */
	setenv("UNIDIST_CONFIG_FILE", b, 1);
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "from b");

	/* tarn_config_set() can name it too, and wins over the environment. */
	unsetenv("UNIDIST_CONFIG_FILE");
	unsetenv("SP_CONFIG_FILE");
	cr_assert_eq(tarn_config_set("SP_CONFIG_FILE", a), 0);
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "from a");
	g_free(a);
	g_free(b);
	g_free(where);
}

Test(sources, config_files_that_differ_are_an_error)
{
	char *a = write_file("a.yaml", "SP_JOB_NAME: a\n");
	char *b = write_file("b.yaml", "SP_JOB_NAME: b\n");
	char *want = g_strdup_printf(
		"UNIDIST_CONFIG_FILE=%s and SP_CONFIG_FILE=%s name different "
		"files; set only one of them, or both to the same file",
		a, b);

	setenv("UNIDIST_CONFIG_FILE", a, 1);
	cr_assert_eq(tarn_config_set("SP_CONFIG_FILE", b), 0);
	cr_assert_eq(tarn_config_freeze(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(), want);
	/* No file was read, so no value can be trusted. */
	cr_assert_null(tarn_config_get("SP_JOB_NAME"));
	cr_assert_str_eq(tarn_last_error(), want);
	g_free(a);
	g_free(b);
	g_free(want);
}

Test(sources, missing_named_file_is_an_error)
{
	char *p = g_build_filename(tmpdir, "nope.yaml", NULL);
	char *want = g_strdup_printf("SP_CONFIG_FILE=%s: cannot read the "
				     "file: No such file or directory",
				     p);

	setenv("SP_CONFIG_FILE", p, 1);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(), want);
	g_free(p);
	g_free(want);
}

Test(sources, default_file_is_optional)
{
	cr_assert_not(g_file_test("tarn.yaml", G_FILE_TEST_EXISTS));
	cr_assert_eq(tarn_config_check(), 0);
	/* A folder of that name is not a file to read. */
	cr_assert_eq(g_mkdir("tarn.yaml", 0700), 0);
	cr_assert_eq(tarn_config_check(), 0);
	cr_assert_eq(g_rmdir("tarn.yaml"), 0);
}

/* YAML -------------------------------------------------------------------- */

/* Write tarn.yaml, check the sources, and compare the first problem. */
static void expect_yaml_error(const char *text, const char *msg)
{
	g_free(write_file("tarn.yaml", text));
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG, "%s", text);
	cr_assert_str_eq(tarn_last_error(), msg);
	cr_assert_eq(tarn_config_freeze(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(), msg);
}

Test(yaml, values_and_positions)
{
	size_t idx;
	tarn_config_info_t info;

	g_free(write_file("tarn.yaml",
			  "---\n"
			  "unidist_cpus: 3   # names in any case\n"
			  "UNIDIST_MPI_HOSTS: [n1, \"n2\"]\n"
			  "UNIDIST_PLUGIN_PATH:\n"
			  "  - /opt/a\n"
			  "  - /opt/b\n"
			  "SP_JOB_NAME: 'quoted: text'\n"
			  "UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY: 1GiB\n"
			  "SP_BIND_NUMA_NODE: yes\n"
			  "...\n"));
	cr_assert_eq(tarn_config_check(), 0, "%s", tarn_last_error());
	cr_assert_str_eq(tarn_config_get("UNIDIST_CPUS"), "3");
	cr_assert_str_eq(tarn_config_get("UNIDIST_MPI_HOSTS"), "n1,n2");
	cr_assert_str_eq(tarn_config_get("UNIDIST_PLUGIN_PATH"),
			 "/opt/a:/opt/b");
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "quoted: text");
	cr_assert_str_eq(
		tarn_config_get("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY"),
		"1073741824");
	cr_assert_str_eq(tarn_config_get("SP_BIND_NUMA_NODE"), "true");
	tarn_settings_find("UNIDIST_PLUGIN_PATH", &idx);
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.origin, "tarn.yaml:5:3");
}

Test(yaml, null_values_and_empty_files_set_nothing)
{
	g_free(write_file("tarn.yaml", "UNIDIST_TASK_MAX_RETRIES:\n"
				       "UNIDIST_LOG_LEVEL: ~\n"
				       "SP_JOB_NAME: null\n"));
	cr_assert_eq(tarn_config_check(), 0, "%s", tarn_last_error());
	cr_assert_str_eq(tarn_config_get("UNIDIST_TASK_MAX_RETRIES"), "3");
	cr_assert_eq(tarn_config_source("UNIDIST_LOG_LEVEL"),
		     TARN_CONFIG_DEFAULT);
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "");

	g_free(write_file("tarn.yaml", "# nothing but a comment\n"));
	cr_assert_eq(tarn_config_check(), 0);
	g_free(write_file("tarn.yaml", ""));
	cr_assert_eq(tarn_config_check(), 0);
	g_free(write_file("tarn.yaml", "---\n"));
	cr_assert_eq(tarn_config_check(), 0);
	/* A quoted empty string is a value, not YAML's null. */
	g_free(write_file("tarn.yaml", "SP_DATA_ROOT: \"\"\n"));
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "tarn.yaml:1:15: SP_DATA_ROOT='': empty (allowed: a "
			 "folder)");
}

Test(yaml, bad_value_names_file_line_and_column)
{
	expect_yaml_error("UNIDIST_LOG_LEVEL: info\n"
			  "\n"
			  "UNIDIST_CPUS: abc\n",
			  "tarn.yaml:3:15: UNIDIST_CPUS=abc: not an integer "
			  "(allowed: 1..4096)");
}

Test(yaml, unknown_key_suggests_the_closest_name)
{
	expect_yaml_error("UNIDIST_CPUS: 2\n"
			  "UNIDIST_LOG_LEVEL: info\n"
			  "UNIDIST_CPU: 4\n",
			  "tarn.yaml:3:1: unknown setting 'UNIDIST_CPU' (did "
			  "you mean UNIDIST_CPUS?)");
	expect_yaml_error("  SP_PLATFROM: mpi\n",
			  "tarn.yaml:1:3: unknown setting 'SP_PLATFROM' (did "
			  "you mean SP_PLATFORM?)");
	expect_yaml_error("COMPLETELY_DIFFERENT: 1\n",
			  "tarn.yaml:1:1: unknown setting "
			  "'COMPLETELY_DIFFERENT'");
	/* Every value is suspect once a key is wrong. */
	cr_assert_null(tarn_config_get("UNIDIST_LOG_LEVEL"));
	cr_assert_str_eq(tarn_last_error(),
			 "tarn.yaml:1:1: unknown setting "
			 "'COMPLETELY_DIFFERENT'");
}

Test(yaml, malformed_yaml_has_a_position)
{
	expect_yaml_error("UNIDIST_CPUS: 4\n"
			  "UNIDIST_MPI_HOSTS: [n1\n",
			  "tarn.yaml:3:1: malformed YAML: did not find "
			  "expected ',' or ']' (while parsing a flow sequence "
			  "at line 2, column 20)");
	expect_yaml_error("UNIDIST_CPUS: a: b\n",
			  "tarn.yaml:1:16: malformed YAML: mapping values are "
			  "not allowed in this context");
}

Test(yaml, nested_mappings_and_sequences_where_scalars_belong)
{
	expect_yaml_error("UNIDIST_MPI_HOSTS:\n"
			  "  a: b\n",
			  "tarn.yaml:2:3: expected a scalar value or a "
			  "sequence of scalars for UNIDIST_MPI_HOSTS");
	expect_yaml_error("UNIDIST_CPUS: [1, 2]\n",
			  "tarn.yaml:1:15: expected a scalar value for "
			  "UNIDIST_CPUS");
	expect_yaml_error("UNIDIST_MPI_HOSTS: [a, [b]]\n",
			  "tarn.yaml:1:24: expected a scalar in the list for "
			  "UNIDIST_MPI_HOSTS");
	expect_yaml_error("UNIDIST_MPI_HOSTS:\n"
			  "  - n1\n"
			  "  - bad host\n",
			  "tarn.yaml:3:5: UNIDIST_MPI_HOSTS=n1,bad host: 'bad "
			  "host' is not a host name (allowed: host names "
			  "separated by ',')");
	expect_yaml_error("UNIDIST_PLUGIN_PATH: [\"/a:/b\"]\n",
			  "tarn.yaml:1:23: UNIDIST_PLUGIN_PATH=/a:/b: '/a:/b' "
			  "contains the separator ':' (allowed: folders "
			  "separated by ':')");
}

Test(yaml, the_document_must_be_one_mapping)
{
	expect_yaml_error("- UNIDIST_CPUS\n- 4\n",
			  "tarn.yaml:1:1: expected a mapping from setting "
			  "names to values at the top level");
	expect_yaml_error("just text\n",
			  "tarn.yaml:1:1: expected a mapping from setting "
			  "names to values at the top level");
	expect_yaml_error("UNIDIST_CPUS: 2\n---\nUNIDIST_CPUS: 3\n",
			  "tarn.yaml:2:1: only one YAML document is allowed");
	expect_yaml_error("[UNIDIST_CPUS]: 2\n",
			  "tarn.yaml:1:1: expected a setting name as the key");
}

Test(yaml, duplicates_aliases_and_file_settings_are_refused)
{
	expect_yaml_error("UNIDIST_CPUS: 2\n"
			  "unidist_cpus: 3\n",
			  "tarn.yaml:2:1: UNIDIST_CPUS is set twice (first at "
			  "line 1, column 1)");
	expect_yaml_error("SP_JOB_NAME: &n job\n"
			  "SP_JOBID: *n\n",
			  "tarn.yaml:2:11: aliases are not supported (value of "
			  "SP_JOBID)");
	expect_yaml_error("UNIDIST_CONFIG_FILE: other.yaml\n",
			  "tarn.yaml:1:1: UNIDIST_CONFIG_FILE cannot be set in "
			  "the configuration file; set it in the environment or "
			  "with tarn_config_set()");
	expect_yaml_error("SP_CONFIG_FILE: other.yaml\n",
			  "tarn.yaml:1:1: SP_CONFIG_FILE cannot be set in the "
			  "configuration file; set it in the environment or "
			  "with tarn_config_set()");
}

Test(yaml, every_problem_is_found_not_only_the_first)
{
	tarn_resolved_t *r;

	g_free(write_file("tarn.yaml", "UNIDIST_CPU: 4\n"
				       "UNIDIST_LOG_LEVEL: loud\n"
				       "SP_SPAWN: perhaps\n"));
	setenv("SP_NUM_EXECUTORS", "-3", 1);
	r = tarn_settings_resolve(NULL);
	cr_assert_eq(r->nproblems, 4);
	/* The environment is the stronger source, so it comes first. */
	cr_assert_str_eq(r->problems[0],
			 "SP_NUM_EXECUTORS=-3: out of range (allowed: "
			 "0..65536)");
	cr_assert(g_str_has_prefix(r->problems[1], "tarn.yaml:1:1: unknown"));
	cr_assert(g_str_has_prefix(r->problems[2],
				   "tarn.yaml:2:20: UNIDIST_LOG_LEVEL=loud"));
	cr_assert(g_str_has_prefix(r->problems[3],
				   "tarn.yaml:3:11: SP_SPAWN=perhaps"));
	tarn_resolved_free(r);
}

/* Backend choice ---------------------------------------------------------- */

Test(backend, the_one_that_is_set)
{
	cr_assert_str_eq(tarn_config_backend(), "");
	setenv("SP_PLATFORM", "seq", 1);
	cr_assert_str_eq(tarn_config_backend(), "seq");
	unsetenv("SP_PLATFORM");
	setenv("UNIDIST_BACKEND", "procpool", 1);
	cr_assert_str_eq(tarn_config_backend(), "procpool");
	/* Both, naming the same backend, agree. */
	setenv("SP_PLATFORM", "procpool", 1);
	cr_assert_eq(tarn_config_freeze(), 0, "%s", tarn_last_error());
	cr_assert_str_eq(tarn_config_backend(), "procpool");
}

Test(backend, different_backends_are_an_error_naming_both)
{
	setenv("UNIDIST_BACKEND", "mpi", 1);
	setenv("SP_PLATFORM", "tcp", 1);
	cr_assert_eq(tarn_config_freeze(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_BACKEND=mpi (from env) and SP_PLATFORM=tcp "
			 "(from env) name different backends; set only one of "
			 "them, or both to the same backend");
	cr_assert_null(tarn_config_get("SP_PLATFORM"));
	cr_assert_eq(tarn_config_source("UNIDIST_BACKEND"), TARN_ECONFIG);
}

Test(backend, conflict_across_sources_says_where_each_came_from)
{
	g_free(write_file("tarn.yaml", "SP_PLATFORM: procpool\n"));
	cr_assert_eq(tarn_config_set("UNIDIST_BACKEND", "/opt/p/x.so"), 0);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_BACKEND=/opt/p/x.so (from api) and "
			 "SP_PLATFORM=procpool (from tarn.yaml:1:14) name "
			 "different backends; set only one of them, or both "
			 "to the same backend");
	/* Forcing the other one to automatic resolves it. */
	cr_assert_eq(tarn_config_set("SP_PLATFORM", ""), 0);
	cr_assert_eq(tarn_config_check(), 0);
	cr_assert_str_eq(tarn_config_backend(), "/opt/p/x.so");
}

Test(backend, a_name_and_a_path_to_that_plugin_agree)
{
	/* What procpool's workers see when the program names it in code. */
	cr_assert_eq(tarn_config_set("UNIDIST_BACKEND", "procpool"), 0);
	setenv("SP_PLATFORM", "/usr/lib/tarn/procpool.so", 1);
	cr_assert_eq(tarn_config_check(), 0, "%s", tarn_last_error());
	cr_assert_str_eq(tarn_config_backend(), "/usr/lib/tarn/procpool.so",
			 "the path is the more exact choice");
	/* Another plugin's path does not agree with the name. */
	setenv("SP_PLATFORM", "/usr/lib/tarn/seq.so", 1);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	/* Nor do two paths to files of the same name. */
	cr_assert_eq(tarn_config_set("UNIDIST_BACKEND", "/a/procpool.so"), 0);
	setenv("SP_PLATFORM", "/b/procpool.so", 1);
	cr_assert_eq(tarn_config_check(), TARN_ECONFIG);
	unsetenv("SP_PLATFORM");
}

/* Life cycle: set, freeze, unfreeze --------------------------------------- */

Test(lifecycle, unknown_names_get_a_suggestion)
{
	cr_assert_eq(tarn_config_set("UNIDIST_CPU", "4"), TARN_ENOENT);
	cr_assert_str_eq(tarn_last_error(),
			 "unknown setting 'UNIDIST_CPU' (did you mean "
			 "UNIDIST_CPUS?)");
	cr_assert_eq(tarn_config_set("SP_PLATFROM", "mpi"), TARN_ENOENT);
	cr_assert_str_eq(tarn_last_error(),
			 "unknown setting 'SP_PLATFROM' (did you mean "
			 "SP_PLATFORM?)");
	cr_assert_eq(tarn_config_set("NOTHING_LIKE_IT", "1"), TARN_ENOENT);
	cr_assert_str_eq(tarn_last_error(),
			 "unknown setting 'NOTHING_LIKE_IT'");
	cr_assert_null(tarn_config_get("UNIDIST_LOGLEVEL"));
	cr_assert_str_eq(tarn_last_error(),
			 "unknown setting 'UNIDIST_LOGLEVEL' (did you mean "
			 "UNIDIST_LOG_LEVEL?)");
	cr_assert_eq(tarn_config_source("SP_JOB"), TARN_ENOENT);
	cr_assert_eq(tarn_config_set(NULL, "1"), TARN_ENOENT);
	/* Names are matched in any case, like the file's keys. */
	cr_assert_eq(tarn_config_set("unidist_cpus", "2"), 0);
	cr_assert_str_eq(tarn_config_get("UNIDIST_CPUS"), "2");
}

Test(lifecycle, freeze_fixes_values_and_set_is_busy)
{
	setenv("UNIDIST_TASK_MAX_RETRIES", "5", 1);
	cr_assert_eq(tarn_config_set("SP_JOB_NAME", "job"), 0);
	cr_assert_eq(tarn_config_freeze(), 0, "%s", tarn_last_error());
	cr_assert_eq(tarn_config_freeze(), 0);

	cr_assert_eq(tarn_config_set("SP_JOB_NAME", "other"), TARN_EBUSY);
	cr_assert_str_eq(tarn_last_error(),
			 "tarn_config_set(SP_JOB_NAME): tarn is initialized; "
			 "settings are fixed until tarn_shutdown()");
	cr_assert_eq(tarn_config_set("SP_JOB_NAME", NULL), TARN_EBUSY);

	/* The environment no longer matters, and neither do bad values. */
	setenv("UNIDIST_TASK_MAX_RETRIES", "9", 1);
	setenv("UNIDIST_CPUS", "abc", 1);
	cr_assert_str_eq(tarn_config_get("UNIDIST_TASK_MAX_RETRIES"), "5");
	cr_assert_eq(tarn_config_int("UNIDIST_TASK_MAX_RETRIES"), 5);
	cr_assert_eq(tarn_config_check(), 0);
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "job");

	tarn_config_unfreeze();
	cr_assert_str_eq(tarn_config_get("UNIDIST_TASK_MAX_RETRIES"), "9");
	/* What tarn_config_set() said survives a shutdown. */
	cr_assert_str_eq(tarn_config_get("SP_JOB_NAME"), "job");
	cr_assert_eq(tarn_config_set("SP_JOB_NAME", "other"), 0);
	cr_assert_eq(tarn_config_freeze(), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_CPUS=abc: not an integer (allowed: 1..4096)");
	/* A failed freeze leaves everything open. */
	cr_assert_eq(tarn_config_set("SP_JOB_NAME", "again"), 0);
}

Test(lifecycle, freeze_applies_the_log_level)
{
	cr_assert_eq(tarn_log_get_level(), TARN_LOG_WARNING);
	setenv("UNIDIST_LOG_LEVEL", "debug", 1);
	cr_assert_eq(tarn_log_get_level(), TARN_LOG_WARNING);
	cr_assert_eq(tarn_config_freeze(), 0);
	cr_assert_eq(tarn_log_get_level(), TARN_LOG_DEBUG);
	tarn_config_unfreeze();
	cr_assert_eq(tarn_log_get_level(), TARN_LOG_WARNING);
	cr_assert_eq(tarn_config_set("UNIDIST_LOG_LEVEL", "ERROR"), 0);
	cr_assert_eq(tarn_config_freeze(), 0);
	cr_assert_eq(tarn_log_get_level(), TARN_LOG_ERROR);
}

Test(lifecycle, typed_internal_accessors)
{
	cr_assert_eq(tarn_config_set("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY",
				     "1G"),
		     0);
	cr_assert_eq(tarn_config_int("UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY"),
		     INT64_C(1073741824));
	cr_assert_eq(tarn_config_int("UNIDIST_MPI_SHARED_SERVICE_MEMORY"), 0);
	cr_assert_str_eq(tarn_config_value("UNIDIST_MPI_SHARED_SERVICE_MEMORY"),
			 "");
	cr_assert(tarn_config_bool("UNIDIST_MPI_SHARED_OBJECT_STORE"));
	cr_assert_not(tarn_config_bool("SP_SPAWN"));
	cr_assert_float_eq(tarn_config_float("UNIDIST_MPI_BACKOFF"), 0.0001,
			   1e-12);
	cr_assert_null(tarn_config_value("NO_SUCH_SETTING"));
	cr_assert_eq(tarn_config_int("NO_SUCH_SETTING"), 0);
}

static gpointer hammer(gpointer data)
{
	const char *v = data;

	for (int i = 0; i < 200; i++) {
		const char *got;

		if (tarn_config_set("SP_JOB_NAME", v) != 0)
			return GINT_TO_POINTER(1);
		got = tarn_config_get("SP_JOB_NAME");
		/* Another thread may have set its own value in between. */
		if (!got || strncmp(got, "thread-", 7))
			return GINT_TO_POINTER(1);
	}
	return NULL;
}

Test(lifecycle, concurrent_set_and_get)
{
	static const char *const names[] = {"thread-a", "thread-b",
					    "thread-c", "thread-d"};
	GThread *t[G_N_ELEMENTS(names)];

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		t[i] = g_thread_new("hammer", hammer, (gpointer)names[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		cr_assert_null(g_thread_join(t[i]));
}

/* describe, count, source ------------------------------------------------- */

Test(describe, count_covers_every_required_setting)
{
	static const char *const required[] = {
		"UNIDIST_BACKEND", "SP_PLATFORM", "UNIDIST_PLUGIN_PATH",
		"UNIDIST_CONFIG_FILE", "SP_CONFIG_FILE", "UNIDIST_CPUS",
		"UNIDIST_TASK_MAX_RETRIES", "UNIDIST_LOG_LEVEL",
		"UNIDIST_MPI_SPAWN", "UNIDIST_MPI_HOSTS", "UNIDIST_MPI_BACKOFF",
		"UNIDIST_MPI_LOG", "UNIDIST_MPI_SHARED_OBJECT_STORE",
		"UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY",
		"UNIDIST_MPI_SHARED_SERVICE_MEMORY",
		"UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD", "SP_JOBID",
		"SP_JOB_TIME", "SP_JOB_NAME", "SP_DATA_ROOT", "SP_NUM_EXECUTORS",
		"SP_BIND_NUMA_NODE", "SP_MEMORY_ALLOCATOR", "SP_SPAWN",
		"UNIDIST_PROCPOOL_STORE_SIZE", "UNIDIST_PROCPOOL_INLINE_MAX",
		"UNIDIST_PROCPOOL_SPIN_US", "UNIDIST_MPI_SCHEDULING", "UNIDIST_MPI_LOCAL_LINKS",
		"UNIDIST_BATCH_CHUNK",
		"SP_RANDOM_SEED", "SP_MAX_RETRY_COUNT", "SP_MAX_FAIL_COUNT",
		"SP_PRIORITIZE_RETRY", "SP_SPECULATIVE_EXEC", "SP_FAIL_FAST",
		"SP_FAULT_INJECT_PROB", "SP_ENFORCE_MEMORY_LIMIT",
		"SP_CONSOLE_LOG_LEVEL", "SP_FILE_LOG_LEVEL",
		"SP_REMOVE_OUTPUT_ROOT", "SP_SKIP_TASK_WITH_EMPTY_INPUT",
		"SP_OUTPUT_PATH", "SP_ENV_VARIABLES",
	};

	cr_assert_eq(tarn_config_count(), G_N_ELEMENTS(required));
	for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
		bool found = false;

		for (size_t j = 0; j < tarn_config_count(); j++) {
			tarn_config_info_t info;

			cr_assert_eq(tarn_config_describe(j, &info), 0);
			found |= !strcmp(info.name, required[i]);
		}
		cr_assert(found, "%s is missing", required[i]);
	}
}

Test(describe, fields_of_one_setting)
{
	tarn_config_info_t info;
	size_t idx;
	char *cpus = g_strdup_printf("%d", CLAMP(affinity_cpus(), 1, 4096));

	cr_assert_not_null(tarn_settings_find("UNIDIST_CPUS", &idx));
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.name, "UNIDIST_CPUS");
	cr_assert_str_eq(info.type, "int");
	cr_assert_str_eq(info.allowed, "1..4096");
	cr_assert_str_eq(info.default_value, cpus);
	cr_assert_str_eq(info.value, cpus);
	cr_assert_eq(info.source, TARN_CONFIG_DEFAULT);
	cr_assert_str_eq(info.origin, "default");
	cr_assert(strstr(info.description, "procpool"));

	tarn_settings_find("UNIDIST_LOG_LEVEL", &idx);
	cr_assert_eq(tarn_config_set("UNIDIST_LOG_LEVEL", "Info"), 0);
	cr_assert_eq(tarn_config_describe(idx, &info), 0);
	cr_assert_str_eq(info.type, "enum");
	cr_assert_str_eq(info.allowed, "error, warning, info, debug");
	cr_assert_str_eq(info.default_value, "warning");
	cr_assert_str_eq(info.value, "info");
	cr_assert_eq(info.source, TARN_CONFIG_API);
	g_free(cpus);
}

Test(describe, invalid_source_gives_the_default_and_an_error)
{
	tarn_config_info_t info;
	size_t idx;

	tarn_settings_find("UNIDIST_TASK_MAX_RETRIES", &idx);
	setenv("UNIDIST_TASK_MAX_RETRIES", "many", 1);
	cr_assert_eq(tarn_config_describe(idx, &info), TARN_ECONFIG);
	cr_assert_str_eq(tarn_last_error(),
			 "UNIDIST_TASK_MAX_RETRIES=many: not an integer "
			 "(allowed: 0..1000)");
	cr_assert_str_eq(info.value, "3");
	cr_assert_eq(info.source, TARN_CONFIG_DEFAULT);
	cr_assert_str_eq(info.name, "UNIDIST_TASK_MAX_RETRIES");
}

Test(describe, bad_index_and_null)
{
	tarn_config_info_t info;

	cr_assert_eq(tarn_config_describe(tarn_config_count(), &info),
		     TARN_EINVAL);
	cr_assert(strstr(tarn_last_error(), "no setting"));
	cr_assert_eq(tarn_config_describe(0, NULL), TARN_EINVAL);
}

Test(describe, every_type_name_appears)
{
	static const char *const types[] = {"string", "bool", "int", "size",
					    "float", "enum", "path", "list"};

	for (size_t t = 0; t < G_N_ELEMENTS(types); t++) {
		bool seen = false;

		for (size_t i = 0; i < tarn_config_count(); i++) {
			tarn_config_info_t info;

			tarn_config_describe(i, &info);
			seen |= !strcmp(info.type, types[t]);
		}
		cr_assert(seen, "no setting of type %s", types[t]);
	}
}

/* The table itself -------------------------------------------------------- */

Test(table, every_row_is_consistent)
{
	for (size_t i = 0; i < tarn_settings_count; i++) {
		const tarn_setting_t *s = &tarn_settings_table[i];
		char *def = tarn_settings_default(s), *why = NULL, *canon;
		size_t idx = SIZE_MAX;

		for (const char *p = s->name; *p; p++)
			cr_assert(g_ascii_isupper(*p) || g_ascii_isdigit(*p) ||
					  *p == '_',
				  "%s: not an environment variable name",
				  s->name);
		cr_assert(g_str_has_prefix(s->name, "UNIDIST_") ||
				  g_str_has_prefix(s->name, "SP_"),
			  "%s", s->name);
		cr_assert_eq(tarn_settings_find(s->name, &idx), s);
		cr_assert_eq(idx, i, "%s appears twice", s->name);
		cr_assert(s->description &&
				  g_str_has_suffix(s->description, "."),
			  "%s: description must be a sentence", s->name);
		cr_assert(s->def || s->compute_default, "%s: no default",
			  s->name);
		if (s->type == TARN_SETTING_ENUM)
			cr_assert_not_null(s->choices, "%s", s->name);
		if (s->type == TARN_SETTING_LIST)
			cr_assert(s->sep, "%s", s->name);
		if (s->type == TARN_SETTING_INT)
			cr_assert(s->min <= s->max, "%s", s->name);
		/* A default must be a value the parser accepts as it is. */
		canon = tarn_settings_parse(s, def, &why);
		cr_assert_not_null(canon, "%s default '%s': %s", s->name, def,
				   why);
		cr_assert_str_eq(canon, def, "%s default is not canonical",
				 s->name);
		g_free(canon);
		g_free(def);
		g_free(why);
	}
}

Test(table, distance_and_suggestions)
{
	cr_assert_eq(tarn_settings_distance("UNIDIST_CPU", "UNIDIST_CPUS"), 1);
	cr_assert_eq(tarn_settings_distance("SP_PLATFROM", "SP_PLATFORM"), 1);
	cr_assert_eq(tarn_settings_distance("sp_spawn", "SP_SPAWN"), 0);
	cr_assert_eq(tarn_settings_distance("", "abc"), 3);
	cr_assert_eq(tarn_settings_distance("kitten", "sitting"), 3);
	cr_assert_str_eq(tarn_settings_suggest("UNIDIST_MPI_HOST"),
			 "UNIDIST_MPI_HOSTS");
	cr_assert_str_eq(tarn_settings_suggest("SP_JOB_ID"), "SP_JOBID");
	cr_assert_null(tarn_settings_suggest("SP"));
	cr_assert_null(tarn_settings_suggest("HOME"));
}

Test(table, environment_typos_are_warned_about)
{
	tarn_resolved_t *r;

	setenv("UNIDIST_CPU", "4", 1);
	r = tarn_settings_resolve(NULL);
	cr_assert_eq(r->nproblems, 0);
	cr_assert_eq(r->nwarnings, 1);
	cr_assert_str_eq(r->warnings[0],
			 "environment variable UNIDIST_CPU is not a tarn "
			 "setting (did you mean UNIDIST_CPUS?); ignored");
	tarn_resolved_free(r);
}

Test(table, markdown_documents_every_setting)
{
	char *md = tarn_settings_markdown();

	for (size_t i = 0; i < tarn_settings_count; i++) {
		char *h = g_strdup_printf("\n### %s\n",
					  tarn_settings_table[i].name);

		cr_assert(strstr(md, h), "%s has no section",
			  tarn_settings_table[i].name);
		cr_assert(strstr(md, tarn_settings_table[i].description));
		g_free(h);
	}
	cr_assert(strstr(md, "```yaml\n"));
	cr_assert(strstr(md, "## Sources and precedence"));
	g_free(md);
}
