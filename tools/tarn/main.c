/* SPDX-License-Identifier: MIT */
/*
 * The `tarn` command. It uses only the public API, like any other program
 * built on libtarn, so what it shows is what a program would get.
 *
 * Exit status: 0 success, 1 the command ran and found a problem (an
 * invalid configuration), 2 the command line was wrong.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tarn/backend.h>
#include <tarn/plan.h>
#include <tarn/tarn.h>

#define EXIT_USAGE 2

struct command {
	const char *name;
	const char *params;  /* after the options in the usage line */
	const char *summary; /* one line for `tarn help` */
	const char *description;
	GOptionEntry *entries;
	int (*run)(int argc, char **argv);
};

static const struct command *find_command(const char *name);
static void print_usage(FILE *out);
static int cmd_run(int argc, char **argv);

/* Options --------------------------------------------------------------------- */

static gboolean opt_json;
static gboolean opt_paths;
static gboolean opt_long;
static gboolean opt_dot;
static char *opt_job_dir;

static GOptionEntry no_entries[] = {
	{ NULL },
};

static GOptionEntry plugins_entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json,
	  "Print a JSON array instead of a table", NULL },
	{ "paths", 'p', 0, G_OPTION_ARG_NONE, &opt_paths,
	  "Add a column with each plugin's file", NULL },
	{ NULL },
};

static GOptionEntry config_entries[] = {
	{ "long", 'l', 0, G_OPTION_ARG_NONE, &opt_long,
	  "Also show each setting's type, default, allowed values and description",
	  NULL },
	{ NULL },
};

static GOptionEntry plan_entries[] = {
	{ "dot", 'd', 0, G_OPTION_ARG_NONE, &opt_dot,
	  "Write the physical plan as Graphviz (dot -Tsvg) instead of the summary", NULL },
	{ "job-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_job_dir,
	  "Show task outputs under this job folder", "DIR" },
	{ NULL },
};

static GOptionContext *command_context(const struct command *cmd)
{
	GOptionContext *ctx = g_option_context_new(cmd->params);

	g_option_context_set_summary(ctx, cmd->summary);
	if (cmd->description)
		g_option_context_set_description(ctx, cmd->description);
	g_option_context_add_main_entries(ctx, cmd->entries, NULL);
	return ctx;
}

/*
 * Parse the options of @cmd; argv[0] is the command's name. Returns -1 to
 * go on, or the exit status.
 */
static int parse_options(const struct command *cmd, int *argc, char ***argv)
{
	g_autoptr(GOptionContext) ctx = command_context(cmd);
	g_autoptr(GError) err = NULL;
	g_autofree char *prgname = g_strdup_printf("tarn %s", cmd->name);

	/* --help shows "Usage: tarn plugins ...", not just "tarn". */
	g_set_prgname(prgname);
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "tarn %s: %s\nTry 'tarn %s --help'.\n",
			cmd->name, err->message, cmd->name);
		return EXIT_USAGE;
	}
	return -1;
}

static int no_arguments(const struct command *cmd, int argc, char **argv)
{
	if (argc <= 1)
		return -1;
	fprintf(stderr, "tarn %s: unexpected argument '%s'\nTry 'tarn %s --help'.\n",
		cmd->name, argv[1], cmd->name);
	return EXIT_USAGE;
}

/* Output helpers ------------------------------------------------------------ */

/* A table printed with every column as wide as its widest cell. */
struct table {
	guint ncols;
	GPtrArray *cells; /* row-major, owned */
};

static void table_init(struct table *t, guint ncols)
{
	t->ncols = ncols;
	t->cells = g_ptr_array_new_with_free_func(g_free);
}

static void table_add(struct table *t, const char *cell)
{
	g_ptr_array_add(t->cells, g_strdup(cell));
}

static void table_print(struct table *t, FILE *out)
{
	g_autofree size_t *width = g_new0(size_t, t->ncols);
	guint n = t->cells->len;

	for (guint i = 0; i < n; i++) {
		const char *c = g_ptr_array_index(t->cells, i);
		size_t w = g_utf8_strlen(c, -1);

		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	for (guint i = 0; i < n; i++) {
		const char *c = g_ptr_array_index(t->cells, i);
		guint col = i % t->ncols;

		if (col == t->ncols - 1) {
			/* No padding after the last column: no trailing blanks. */
			fprintf(out, "%s\n", c);
		} else {
			fputs(c, out);
			for (size_t w = g_utf8_strlen(c, -1); w < width[col] + 2; w++)
				fputc(' ', out);
		}
	}
	g_ptr_array_unref(t->cells);
	t->cells = NULL;
}

static void json_string(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			g_string_append_printf(out, "\\%c", c);
		else if (c == '\n')
			g_string_append(out, "\\n");
		else if (c == '\t')
			g_string_append(out, "\\t");
		else if (c < 0x20)
			g_string_append_printf(out, "\\u%04x", c);
		else
			g_string_append_c(out, (char)c);
	}
	g_string_append_c(out, '"');
}

/* `tarn version` ---------------------------------------------------------- */

static int cmd_version(int argc, char **argv)
{
	const struct command *cmd = find_command("version");
	int rc;

	rc = parse_options(cmd, &argc, &argv);
	if (rc < 0)
		rc = no_arguments(cmd, argc, argv);
	if (rc >= 0)
		return rc;
	printf("tarn %s\n", TARN_VERSION_STRING);
	printf("libtarn %s\n", tarn_version_string());
	printf("backend plugin ABI %d.%d\n", TARN_BACKEND_ABI_MAJOR,
	       TARN_BACKEND_ABI_MINOR);
	return 0;
}

/* `tarn plugins` ---------------------------------------------------------- */

static char *caps_text(uint64_t caps, const char *sep)
{
	GString *s = g_string_new(NULL);

	for (int bit = 0; bit < 64; bit++) {
		uint64_t b = UINT64_C(1) << bit;
		const char *name;

		if (!(caps & b))
			continue;
		if (s->len)
			g_string_append(s, sep);
		name = tarn_backend_cap_name(b);
		/* A bit from a newer plugin that this libtarn cannot name. */
		if (name)
			g_string_append(s, name);
		else
			g_string_append_printf(s, "0x%" G_GINT64_MODIFIER "x",
					       (guint64)b);
	}
	return g_string_free(s, FALSE);
}

static char *status_text(const tarn_backend_info_t *b)
{
	if (b->available)
		return g_strdup("yes");
	if (b->loadable)
		return g_strdup_printf("no: %s", b->reason);
	return g_strdup_printf("no, refused: %s", b->reason);
}

static void plugins_json(const tarn_backend_info_t *list, size_t n)
{
	GString *out = g_string_new("[");

	for (size_t i = 0; i < n; i++) {
		const tarn_backend_info_t *b = &list[i];
		g_autofree char *caps = caps_text(b->caps, "\", \"");

		g_string_append(out, i ? ",\n  {" : "\n  {");
		g_string_append(out, "\"name\": ");
		json_string(out, b->name);
		g_string_append(out, ", \"path\": ");
		json_string(out, b->path);
		g_string_append(out, ", \"version\": ");
		json_string(out, b->version);
		g_string_append(out, ", \"description\": ");
		json_string(out, b->description);
		g_string_append_printf(out, ", \"abi_major\": %u, \"abi_minor\": %u",
				       b->abi_major, b->abi_minor);
		g_string_append(out, ", \"caps\": [");
		if (caps[0])
			g_string_append_printf(out, "\"%s\"", caps);
		g_string_append_printf(out, "], \"loadable\": %s, \"available\": %s",
				       b->loadable ? "true" : "false",
				       b->available ? "true" : "false");
		g_string_append(out, ", \"reason\": ");
		json_string(out, b->reason);
		g_string_append(out, "}");
	}
	g_string_append(out, n ? "\n]\n" : "]\n");
	fputs(out->str, stdout);
	g_string_free(out, TRUE);
}

static void plugins_table(const tarn_backend_info_t *list, size_t n)
{
	guint ncols = opt_paths ? 6 : 5;
	struct table t;

	table_init(&t, ncols);
	table_add(&t, "NAME");
	table_add(&t, "VERSION");
	table_add(&t, "ABI");
	table_add(&t, "CAPABILITIES");
	if (opt_paths)
		table_add(&t, "PATH");
	table_add(&t, "RUNS HERE");
	for (size_t i = 0; i < n; i++) {
		const tarn_backend_info_t *b = &list[i];
		g_autofree char *abi = NULL;
		g_autofree char *caps = caps_text(b->caps, ",");
		g_autofree char *status = status_text(b);

		abi = b->abi_major ? g_strdup_printf("%u.%u", b->abi_major,
						     b->abi_minor)
				   : g_strdup("-");
		table_add(&t, b->name);
		table_add(&t, b->version[0] ? b->version : "-");
		table_add(&t, abi);
		table_add(&t, caps[0] ? caps : "-");
		if (opt_paths)
			table_add(&t, b->path);
		table_add(&t, status);
	}
	table_print(&t, stdout);
}

static int cmd_plugins(int argc, char **argv)
{
	const struct command *cmd = find_command("plugins");
	tarn_backend_info_t *list;
	size_t n;
	int rc;

	rc = parse_options(cmd, &argc, &argv);
	if (rc < 0)
		rc = no_arguments(cmd, argc, argv);
	if (rc >= 0)
		return rc;

	rc = tarn_backend_list(&list, &n);
	if (rc) {
		fprintf(stderr, "tarn plugins: %s\n", tarn_last_error());
		return EXIT_FAILURE;
	}
	if (opt_json)
		plugins_json(list, n);
	else if (n)
		plugins_table(list, n);
	else
		printf("no backend plugins found (UNIDIST_PLUGIN_PATH, the build tree and the install directory were searched)\n");
	tarn_backend_list_free(list, n);
	return 0;
}

/* `tarn config` ------------------------------------------------------------ */

static const char *shown_value(const char *v)
{
	return v && v[0] ? v : "(unset)";
}

static int cmd_config(int argc, char **argv)
{
	const struct command *cmd = find_command("config");
	struct table t;
	size_t count;
	int rc;

	rc = parse_options(cmd, &argc, &argv);
	if (rc >= 0)
		return rc;

	/* Every named setting must exist before anything is printed. */
	for (int i = 1; i < argc; i++) {
		if (tarn_config_source(argv[i]) == TARN_ENOENT) {
			fprintf(stderr, "tarn config: %s\n", tarn_last_error());
			return EXIT_USAGE;
		}
	}
	if (tarn_config_check()) {
		fprintf(stderr, "tarn config: %s\n", tarn_last_error());
		return EXIT_FAILURE;
	}

	count = tarn_config_count();
	table_init(&t, 3);
	if (!opt_long) {
		table_add(&t, "NAME");
		table_add(&t, "VALUE");
		table_add(&t, "ORIGIN");
	}
	for (size_t i = 0; i < count; i++) {
		tarn_config_info_t info;
		bool wanted = argc <= 1;

		rc = tarn_config_describe(i, &info);
		if (rc) {
			/* tarn_config_check() passed; a source changed since. */
			fprintf(stderr, "tarn config: %s\n", tarn_last_error());
			g_ptr_array_unref(t.cells);
			return EXIT_FAILURE;
		}
		for (int a = 1; a < argc && !wanted; a++)
			wanted = strcmp(argv[a], info.name) == 0;
		if (!wanted)
			continue;
		if (opt_long) {
			printf("%s = %s (%s)\n", info.name,
			       shown_value(info.value), info.origin);
			printf("    type: %s; default: %s; allowed: %s\n",
			       info.type, shown_value(info.default_value),
			       info.allowed);
			printf("    %s\n", info.description);
			continue;
		}
		table_add(&t, info.name);
		table_add(&t, shown_value(info.value));
		table_add(&t, info.origin);
	}
	if (opt_long)
		g_ptr_array_unref(t.cells);
	else
		table_print(&t, stdout);
	return 0;
}

/* `tarn help` ------------------------------------------------------------ */

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;
	g_autoptr(GOptionContext) ctx = NULL;
	g_autofree char *help = NULL;
	g_autofree char *prgname = NULL;

	if (argc <= 1 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (argc > 2) {
		fprintf(stderr, "tarn help: expected at most one command, found '%s'\n",
			argv[2]);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "tarn help: unknown command '%s'\n", argv[1]);
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd->name, "help") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(cmd->name, "run") == 0) {
		/* the driver's options live in libtarn-planner */
		char *args[] = { (char *)"run", (char *)"--help", NULL };

		return cmd_run(2, args);
	}
	prgname = g_strdup_printf("tarn %s", cmd->name);
	g_set_prgname(prgname);
	ctx = command_context(cmd);
	help = g_option_context_get_help(ctx, TRUE, NULL);
	fputs(help, stdout);
	return 0;
}

/* plan, run ----------------------------------------------------------------- */

static int cmd_plan(int argc, char **argv)
{
	const struct command *cmd = find_command("plan");
	tarn_plan_t *plan = NULL;
	char *text = NULL;
	int rc;

	rc = parse_options(cmd, &argc, &argv);
	if (rc >= 0)
		return rc;
	if (argc != 2) {
		fprintf(stderr, "tarn plan: give one plan file (%s)\n"
				"Usage: tarn plan [--dot] PLAN.yaml\n",
			argc < 2 ? "none given" : "more than one given");
		return EXIT_USAGE;
	}
	if (tarn_plan_load_yaml(argv[1], &plan) != 0) {
		fprintf(stderr, "tarn plan: %s\n", tarn_planner_last_error());
		return 1;
	}
	rc = tarn_plan_describe(plan, opt_dot, opt_job_dir, &text);
	if (rc) {
		fprintf(stderr, "tarn plan: %s: %s\n", argv[1],
			tarn_planner_last_error());
	} else {
		fputs(text, stdout);
	}
	free(text);
	tarn_plan_destroy(plan);
	return rc ? 1 : 0;
}

/*
 * `tarn run PLAN.yaml [options]`: the plan file is the one argument that is
 * not an option; everything else goes to tarn_driver_main(), which also
 * answers --help.
 */
static int cmd_run(int argc, char **argv)
{
	tarn_plan_t *plan = NULL;
	const char *file = NULL;
	char **rest = g_new0(char *, argc + 1);
	int n = 0, status;

	g_set_prgname("tarn run");
	rest[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			rest[n++] = argv[i];
	}
	for (int i = 1; i < n; i++)
		if (!strcmp(rest[i], "--help") || !strcmp(rest[i], "-h") ||
		    !strcmp(rest[i], "-?"))
			file = NULL;
	if (file && tarn_plan_load_yaml(file, &plan) != 0) {
		fprintf(stderr, "tarn run: %s\n", tarn_planner_last_error());
		g_free(rest);
		return 2;
	}
	if (!file) {
		bool help = false;

		for (int i = 1; i < n; i++)
			help |= !strcmp(rest[i], "--help") || !strcmp(rest[i], "-h") ||
				!strcmp(rest[i], "-?");
		if (!help) {
			fprintf(stderr, "tarn run: give a plan file\n"
					"Usage: tarn run PLAN.yaml [OPTION...]; 'tarn run --help' lists the options.\n");
			g_free(rest);
			return EXIT_USAGE;
		}
	}
	status = tarn_driver_main(plan, n, rest);
	tarn_plan_destroy(plan);
	g_free(rest);
	return status;
}

/* Dispatch ----------------------------------------------------------------- */

static const struct command commands[] = {
	{
		.name = "version",
		.params = "",
		.summary = "Print the versions of tarn, libtarn and the backend plugin ABI.",
		.entries = no_entries,
		.run = cmd_version,
	},
	{
		.name = "plugins",
		.params = "",
		.summary = "List the backend plugins found and whether each can run here.",
		.description =
			"Plugins are looked for in the folders of UNIDIST_PLUGIN_PATH, then in\n"
			"the build tree (when this libtarn is the build tree's), then in the\n"
			"install directory. A name found in several folders is listed once,\n"
			"from the first folder: that is the plugin the name selects.\n"
			"Each plugin is loaded, checked and asked whether it can run here;\n"
			"none is started.",
		.entries = plugins_entries,
		.run = cmd_plugins,
	},
	{
		.name = "config",
		.params = "[NAME...]",
		.summary = "Print each setting, its value and where it came from.",
		.description =
			"ORIGIN is api (tarn_config_set), env (the environment variable),\n"
			"FILE:LINE:COLUMN (the YAML configuration file) or default.\n"
			"Exits with status 1 and the first problem when the configuration\n"
			"is invalid.",
		.entries = config_entries,
		.run = cmd_config,
	},
	{
		.name = "plan",
		.params = "PLAN.yaml",
		.summary = "Print the physical plan of a plan file: nodes, tasks, partitions.",
		.description =
			"Expands the logical plan into tasks (source globs are read) and\n"
			"prints a summary, or with --dot the task graph as Graphviz:\n"
			"  tarn plan --dot plan.yaml | dot -Tsvg > plan.svg\n"
			"Nothing runs. Exits with status 1 when the plan is invalid.",
		.entries = plan_entries,
		.run = cmd_plan,
	},
	{
		.name = "run",
		.params = "PLAN.yaml",
		.summary = "Run a plan file as a job (smallpond's driver; --help for its options).",
		.entries = no_entries,
		.run = cmd_run,
	},
	{
		.name = "help",
		.params = "[COMMAND]",
		.summary = "Show the commands, or the help of one command.",
		.entries = no_entries,
		.run = cmd_help,
	},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static char *command_names(void)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", commands[i].name);
	return g_string_free(s, FALSE);
}

static void print_usage(FILE *out)
{
	fprintf(out, "Usage: tarn COMMAND [OPTION...]\n\n"
		     "tarn runs C functions as parallel tasks on interchangeable backends.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'tarn COMMAND --help' for the options of one command.\n");
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	g_autofree char *names = NULL;

	/* procpool re-executes this program for its workers (`tarn run`) */
	if (tarn_is_worker())
		return tarn_init(NULL) == 0 ? 0 : 1;
	setlocale(LC_ALL, "");
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);

	cmd = find_command(argv[1]);
	if (cmd)
		return cmd->run(argc - 1, argv + 1);

	names = command_names();
	fprintf(stderr, "tarn: unknown %s '%s'; valid commands: %s\n"
			"Run 'tarn help' for what each does.\n",
		argv[1][0] == '-' ? "option" : "command", argv[1], names);
	return EXIT_USAGE;
}
