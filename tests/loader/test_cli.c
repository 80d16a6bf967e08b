/* SPDX-License-Identifier: MIT */
/*
 * The `tarn` command, run as a user would: the built binary in a child
 * process with an environment of the test's choosing.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <glib.h>

#include <tarn/backend.h>
#include <tarn/version.h>

/* The fake plugins are built with this header's minor. */
#define STR_(x) #x
#define STR(x) STR_(x)

#ifndef TARN_EXE
#error "TARN_EXE must name the built tarn command"
#endif
#ifndef FAKE_DIR
#error "FAKE_DIR must name the folder of the fake plugins"
#endif

struct run {
	int status; /* exit status */
	char *out;
	char *err;
};

static void run_free(struct run *r)
{
	g_free(r->out);
	g_free(r->err);
}

/*
 * Run tarn with @argv (NULL-terminated, without the program) and the
 * environment of this process plus @env ("NAME=value" pairs, NULL-ended).
 */
static struct run tarn(const char *const *args, const char *const *env)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) err = NULL;
	struct run r = { 0 };
	int wait_status;
	bool exited;

	g_ptr_array_add(argv, (char *)TARN_EXE);
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	/* No ambient choice may change what the command shows. */
	envp = g_environ_unsetenv(envp, "UNIDIST_BACKEND");
	envp = g_environ_unsetenv(envp, "SP_PLATFORM");
	envp = g_environ_unsetenv(envp, "UNIDIST_PLUGIN_PATH");
	for (; env && *env; env++) {
		g_auto(GStrv) kv = g_strsplit(*env, "=", 2);

		envp = g_environ_setenv(envp, kv[0], kv[1], TRUE);
	}
	cr_assert(g_spawn_sync(NULL, (char **)argv->pdata, envp,
			       G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
			       &wait_status, &err),
		  "cannot run %s: %s", TARN_EXE, err ? err->message : "?");
	exited = WIFEXITED(wait_status);
	cr_assert(exited, "tarn died: %s", r.err);
	r.status = WEXITSTATUS(wait_status);
	return r;
}

/* The line of @text that starts with @first followed by a blank, or NULL. */
static char *line_of(const char *text, const char *first)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l; l++) {
		size_t n = strlen(first);

		if (strncmp(*l, first, n) == 0 && (*l)[n] == ' ')
			return g_strdup(*l);
	}
	return NULL;
}

static size_t column(const char *line, const char *cell)
{
	const char *at = strstr(line, cell);

	cr_assert_not_null(at, "'%s' not in '%s'", cell, line);
	return (size_t)(at - line);
}

TestSuite(cli, .timeout = 30);

Test(cli, plugins_lists_the_fakes_in_an_aligned_table)
{
	const char *args[] = { "plugins", NULL };
	const char *env[] = { "UNIDIST_PLUGIN_PATH=" FAKE_DIR, NULL };
	struct run r = tarn(args, env);
	g_autofree char *head = NULL, *good = NULL, *declines = NULL, *nosym = NULL;

	cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
	head = line_of(r.out, "NAME");
	good = line_of(r.out, "good");
	declines = line_of(r.out, "declines");
	nosym = line_of(r.out, "nosym");
	cr_assert_not_null(head, "%s", r.out);
	cr_assert_not_null(good, "%s", r.out);
	cr_assert_not_null(declines, "%s", r.out);
	cr_assert_not_null(nosym, "%s", r.out);

	/* Every column starts where its header does. */
	cr_assert(eq(sz, column(good, "1.0.0"), column(head, "VERSION")));
	cr_assert(eq(sz, column(good, "1." STR(TARN_BACKEND_ABI_MINOR) " "), column(head, "ABI")));
	cr_assert(eq(sz, column(good, "deterministic"), column(head, "CAPABILITIES")));
	cr_assert(eq(sz, column(good, "yes"), column(head, "RUNS HERE")));
	cr_assert(eq(sz, column(declines, "multi-node,spawn"), column(head, "CAPABILITIES")));
	cr_assert(eq(sz, column(declines, "no: needs the fake interconnect"),
		     column(head, "RUNS HERE")));
	cr_assert(eq(sz, column(nosym, "no, refused: backend plugin " FAKE_DIR "/nosym.so"),
		     column(head, "RUNS HERE")));
	run_free(&r);
}

Test(cli, plugins_json)
{
	const char *args[] = { "plugins", "--json", NULL };
	const char *env[] = { "UNIDIST_PLUGIN_PATH=" FAKE_DIR, NULL };
	struct run r = tarn(args, env);

	cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
	cr_assert(eq(chr, r.out[0], '['), "%s", r.out);
	cr_assert_not_null(strstr(r.out,
		"{\"name\": \"good\", \"path\": \"" FAKE_DIR "/good.so\", "
		"\"version\": \"1.0.0\", \"description\": \"fake plugin that passes every check\", "
		"\"abi_major\": 1, \"abi_minor\": " STR(TARN_BACKEND_ABI_MINOR) ", \"caps\": [\"deterministic\"], "
		"\"loadable\": true, \"available\": true, \"reason\": \"\"}"),
		"%s", r.out);
	cr_assert_not_null(strstr(r.out,
		"\"caps\": [\"multi-node\", \"spawn\"], \"loadable\": true, \"available\": false, "
		"\"reason\": \"needs the fake interconnect, found none on this host\"}"),
		"%s", r.out);
	/* The reason of a dlopen failure is dlerror() text; it must be escaped. */
	cr_assert_not_null(strstr(r.out, "\"name\": \"garbage\""), "%s", r.out);
	run_free(&r);
}

Test(cli, plugins_paths_column)
{
	const char *args[] = { "plugins", "--paths", NULL };
	const char *env[] = { "UNIDIST_PLUGIN_PATH=" FAKE_DIR, NULL };
	struct run r = tarn(args, env);
	g_autofree char *head = NULL, *good = NULL;

	cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
	head = line_of(r.out, "NAME");
	good = line_of(r.out, "good");
	cr_assert(eq(sz, column(good, FAKE_DIR "/good.so"), column(head, "PATH")));
	run_free(&r);
}

Test(cli, config_shows_where_a_value_came_from)
{
	const char *args[] = { "config", NULL };
	const char *env[] = { "UNIDIST_CPUS=3", NULL };
	struct run r = tarn(args, env);
	g_autofree char *head = NULL, *cpus = NULL, *backend = NULL;

	cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
	head = line_of(r.out, "NAME");
	cpus = line_of(r.out, "UNIDIST_CPUS");
	backend = line_of(r.out, "UNIDIST_BACKEND");
	cr_assert_not_null(head, "%s", r.out);
	cr_assert_not_null(cpus, "%s", r.out);
	cr_assert_not_null(backend, "%s", r.out);
	cr_assert(eq(sz, column(cpus, " 3 ") + 1, column(head, "VALUE")), "%s", cpus);
	cr_assert(eq(sz, column(cpus, "env"), column(head, "ORIGIN")), "%s", cpus);
	cr_assert(g_str_has_suffix(cpus, " env"), "%s", cpus);
	cr_assert(g_str_has_suffix(backend, " default"), "%s", backend);
	run_free(&r);
}

Test(cli, config_fails_on_a_bad_value_naming_it)
{
	const char *args[] = { "config", NULL };
	const char *env[] = { "UNIDIST_CPUS=many", NULL };
	struct run r = tarn(args, env);

	cr_assert(eq(int, r.status, 1), "stdout: %s", r.out);
	cr_assert_not_null(strstr(r.err, "UNIDIST_CPUS"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "many"), "%s", r.err);
	cr_assert(eq(sz, strlen(r.out), 0), "no table for a bad configuration");
	run_free(&r);
}

Test(cli, config_of_named_settings_only)
{
	const char *args[] = { "config", "--long", "UNIDIST_CPUS", NULL };
	const char *env[] = { "UNIDIST_CPUS=5", NULL };
	struct run r = tarn(args, env);

	cr_assert(eq(int, r.status, 0), "stderr: %s", r.err);
	cr_assert(g_str_has_prefix(r.out, "UNIDIST_CPUS = 5 (env)\n    type: "),
		  "%s", r.out);
	cr_assert_null(strstr(r.out, "UNIDIST_BACKEND"), "%s", r.out);
	run_free(&r);

	args[2] = "UNIDIST_CPU";
	r = tarn(args, NULL);
	cr_assert(eq(int, r.status, 2));
	cr_assert_not_null(strstr(r.err, "UNIDIST_CPU"), "%s", r.err);
	run_free(&r);
}

Test(cli, unknown_command_exits_2_listing_the_valid_ones)
{
	const char *args[] = { "frobnicate", NULL };
	struct run r = tarn(args, NULL);

	cr_assert(eq(int, r.status, 2));
	cr_assert_not_null(strstr(r.err, "unknown command 'frobnicate'"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "valid commands: version, plugins, config, plan, run, help"),
			   "%s", r.err);
	run_free(&r);
}

Test(cli, no_command_is_a_usage_error)
{
	const char *args[] = { NULL };
	struct run r = tarn(args, NULL);

	cr_assert(eq(int, r.status, 2));
	cr_assert_not_null(strstr(r.err, "Usage: tarn COMMAND"), "%s", r.err);
	run_free(&r);
}

Test(cli, bad_option_is_a_usage_error)
{
	const char *args[] = { "plugins", "--frob", NULL };
	struct run r = tarn(args, NULL);

	cr_assert(eq(int, r.status, 2));
	cr_assert_not_null(strstr(r.err, "--frob"), "%s", r.err);
	run_free(&r);
}

Test(cli, help_lists_the_commands)
{
	const char *forms[][3] = {
		{ "help", NULL }, { "--help", NULL }, { "-h", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
		struct run r = tarn(forms[i], NULL);

		cr_assert(eq(int, r.status, 0), "%s", forms[i][0]);
		cr_assert_not_null(strstr(r.out, "  version "), "%s", r.out);
		cr_assert_not_null(strstr(r.out, "  plugins "), "%s", r.out);
		cr_assert_not_null(strstr(r.out, "  config "), "%s", r.out);
		cr_assert_not_null(strstr(r.out, "  help "), "%s", r.out);
		run_free(&r);
	}
}

Test(cli, every_command_has_help)
{
	static const char *const commands[] = { "version", "plugins", "config", "help" };

	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		const char *args[] = { commands[i], "--help", NULL };
		const char *help_args[] = { "help", commands[i], NULL };
		struct run r = tarn(args, NULL);
		struct run h = tarn(help_args, NULL);

		cr_assert(eq(int, r.status, 0), "%s --help: %s", commands[i], r.err);
		cr_assert(eq(int, h.status, 0), "help %s: %s", commands[i], h.err);
		cr_assert_not_null(strstr(r.out, "tarn"), "%s", r.out);
		if (strcmp(commands[i], "help") != 0) {
			char usage[64];

			snprintf(usage, sizeof(usage), "tarn %s [OPTION", commands[i]);
			cr_assert_not_null(strstr(r.out, usage), "%s", r.out);
			cr_assert(eq(str, r.out, h.out), "'tarn help %s' is '--help'",
				  commands[i]);
		}
		run_free(&r);
		run_free(&h);
	}
}

Test(cli, plugins_help_mentions_json)
{
	const char *args[] = { "plugins", "--help", NULL };
	struct run r = tarn(args, NULL);

	cr_assert(eq(int, r.status, 0));
	cr_assert_not_null(strstr(r.out, "--json"), "%s", r.out);
	run_free(&r);
}

Test(cli, version)
{
	const char *args[] = { "version", NULL };
	const char *flag[] = { "--version", NULL };
	struct run r = tarn(args, NULL);
	struct run f = tarn(flag, NULL);
	char abi[64];

	cr_assert(eq(int, r.status, 0));
	cr_assert(g_str_has_prefix(r.out, "tarn " TARN_VERSION_STRING "\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "libtarn " TARN_VERSION_STRING "\n"), "%s", r.out);
	snprintf(abi, sizeof(abi), "backend plugin ABI %d.%d\n",
		 TARN_BACKEND_ABI_MAJOR, TARN_BACKEND_ABI_MINOR);
	cr_assert_not_null(strstr(r.out, abi), "%s", r.out);
	cr_assert(eq(str, f.out, r.out));
	run_free(&r);
	run_free(&f);
}
