/* SPDX-License-Identifier: MIT */
/*
 * The driver: smallpond's driver options on the command line, each the
 * same setting as an SP_* variable (environment or configuration file),
 * so that one table validates them all and `tarn config` shows them. The
 * command line is the strongest source (it goes in with tarn_config_set()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "planner.h"
#include "report.h"

struct dopt {
	const char *name;    /* smallpond's option name */
	const char *setting; /* the SP_* setting */
	bool flag;           /* a boolean: --name alone means true */
	const char *arg;
	const char *help;
};

static const struct dopt dopts[] = {
	{"job_id", "SP_JOBID", false, "ID",
	 "Job id; names the job folder {data_root}/{job_id}. Running again with the same id resumes the job (default: a new UUID)"},
	{"job_time", "SP_JOB_TIME", false, "TIME",
	 "When the job was created: seconds since 1970 or ISO 8601 (default: now)"},
	{"job_name", "SP_JOB_NAME", false, "NAME",
	 "Display name of the job (default: the plan's name)"},
	{"data_root", "SP_DATA_ROOT", false, "DIR",
	 "Folder of all job folders (default: ~/.smallpond/data)"},
	{"num_executors", "SP_NUM_EXECUTORS", false, "N",
	 "Tasks run at once, and worker processes of local backends; 0: the backend's workers (default 0)"},
	{"platform", "SP_PLATFORM", false, "BACKEND",
	 "Backend that runs the tasks: seq, procpool, mpi, tcp or a plugin path (default: automatic)"},
	{"random_seed", "SP_RANDOM_SEED", false, "N",
	 "Seed of fault injection (default: derived from the job id)"},
	{"max_retry_count", "SP_MAX_RETRY_COUNT", false, "N",
	 "Backend reruns of an attempt whose worker died, before it counts as failed (default 0)"},
	{"max_fail_count", "SP_MAX_FAIL_COUNT", false, "N",
	 "Failed attempts after which a task, and the job, fail (default 3)"},
	{"prioritize_retry", "SP_PRIORITIZE_RETRY", true, "BOOL",
	 "Retry failed tasks before tasks that have not run yet"},
	{"speculative_exec", "SP_SPECULATIVE_EXEC", false, "MODE",
	 "Second attempts for stragglers: disable, enable or aggressive (default enable)"},
	{"fail_fast", "SP_FAIL_FAST", true, "BOOL",
	 "Stop the job at the first failed attempt"},
	{"fault_inject_prob", "SP_FAULT_INJECT_PROB", false, "P",
	 "Probability 0..1 that an attempt fails on purpose at its start, and again before its commit (default 0)"},
	{"memory_allocator", "SP_MEMORY_ALLOCATOR", false, "NAME",
	 "malloc of the worker processes: system, jemalloc or mimalloc (default system)"},
	{"bind_numa_node", "SP_BIND_NUMA_NODE", true, "BOOL",
	 "Bind each local worker process to a NUMA node, in turn"},
	{"enforce_memory_limit", "SP_ENFORCE_MEMORY_LIMIT", true, "BOOL",
	 "Give each node's memory to the backend as a task requirement"},
	{"console_log_level", "SP_CONSOLE_LOG_LEVEL", false, "LEVEL",
	 "Least severe message on the console: error, warning, info, debug (default info)"},
	{"file_log_level", "SP_FILE_LOG_LEVEL", false, "LEVEL",
	 "Least severe message in job.log: error, warning, info (default), debug"},
	{"remove_output_root", "SP_REMOVE_OUTPUT_ROOT", true, "BOOL",
	 "Remove intermediate task outputs after success (sinks stay)"},
	{"skip_task_with_empty_input", "SP_SKIP_TASK_WITH_EMPTY_INPUT", true, "BOOL",
	 "Commit an empty output instead of running a task whose inputs are empty"},
	{"output_path", "SP_OUTPUT_PATH", false, "DIR",
	 "Folder under which sinks with a relative path write (default: {data_root}/{job_id}/output)"},
	{"env_variables", "SP_ENV_VARIABLES", false, "NAME=VALUE,...",
	 "Environment variables for the workers and the driver"},
};

static GHashTable *given; /* option name -> value, while parsing */

static gboolean on_option(const gchar *name, const gchar *value,
			  gpointer data, GError **error)
{
	(void)data;
	(void)error;
	while (*name == '-')
		name++;
	g_hash_table_replace(given, g_strdup(name),
			     g_strdup(value ? value : "true"));
	return TRUE;
}

static gboolean opt_tty, opt_no_tty;

/* The option context of `tarn run` and tarn_driver_main(). */
static GOptionContext *driver_context(const char *params)
{
	GOptionContext *ctx = g_option_context_new(params);
	GOptionEntry *e = g_new0(GOptionEntry, G_N_ELEMENTS(dopts) + 3);
	GString *desc = g_string_new(
		"Each option is also a setting, read from the environment or the\n"
		"configuration file (tarn.yaml) when not given here:\n");

	for (size_t i = 0; i < G_N_ELEMENTS(dopts); i++) {
		e[i].long_name = dopts[i].name;
		e[i].flags = dopts[i].flag ? G_OPTION_FLAG_OPTIONAL_ARG : 0;
		e[i].arg = G_OPTION_ARG_CALLBACK;
		e[i].arg_data = (gpointer)on_option;
		e[i].description = dopts[i].help;
		e[i].arg_description = dopts[i].arg;
		g_string_append_printf(desc, "  --%-28s %s\n", dopts[i].name,
				       dopts[i].setting);
	}
	e[G_N_ELEMENTS(dopts)] = (GOptionEntry){
		"tty", 0, 0, G_OPTION_ARG_NONE, &opt_tty,
		"Draw a live progress line even when the console is not a terminal", NULL};
	e[G_N_ELEMENTS(dopts) + 1] = (GOptionEntry){
		"no-tty", 0, 0, G_OPTION_ARG_NONE, &opt_no_tty,
		"Print plain progress lines even on a terminal", NULL};
	g_string_append(desc,
			"\nExit status: 0 the job succeeded, 1 it failed, 2 bad command line\n"
			"or configuration. The job folder holds .STATUS, journal,\n"
			"task_metrics.csv, trace.json, timeline.html and job.log.");
	g_option_context_add_main_entries(ctx, e, NULL); /* copies them */
	g_free(e);
	g_option_context_set_description(ctx, desc->str);
	g_string_free(desc, TRUE);
	g_option_context_set_summary(
		ctx, "Run a logical plan as a job: its tasks on the selected backend,\n"
		     "with retries, fault injection, speculative execution and resume.");
	return ctx;
}

int driver_parse(const char *params, int *argc, char ***argv)
{
	GOptionContext *ctx = driver_context(params);
	GError *err = NULL;
	GHashTableIter it;
	gpointer k, v;
	int status = -1;

	given = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	opt_tty = opt_no_tty = FALSE;
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "%s: %s\nRun with --help for the options.\n",
			g_get_prgname() ? g_get_prgname() : "tarn run",
			err->message);
		g_error_free(err);
		status = 2;
		goto out;
	}
	g_hash_table_iter_init(&it, given);
	while (status < 0 && g_hash_table_iter_next(&it, &k, &v)) {
		for (size_t i = 0; i < G_N_ELEMENTS(dopts); i++) {
			if (strcmp(dopts[i].name, k))
				continue;
			if (tarn_config_set(dopts[i].setting, v) != 0) {
				fprintf(stderr, "--%s: %s\n", (char *)k,
					tarn_last_error());
				status = 2;
			}
		}
	}
out:
	g_hash_table_destroy(given);
	given = NULL;
	g_option_context_free(ctx);
	return status;
}

static int level_of(const char *setting)
{
	int l = TARN_REPORT_INFO;

	tarn_report_level_parse(tarn_config_get(setting), &l);
	return l;
}

static bool cfg_bool(const char *name)
{
	const char *v = tarn_config_get(name);

	return v && !strcmp(v, "true");
}

static void set_env_variables(void)
{
	const char *v = tarn_config_get("SP_ENV_VARIABLES");
	char **items;

	if (!v || !*v)
		return;
	items = g_strsplit(v, ",", -1);
	for (char **i = items; *i; i++) {
		char *eq = strchr(*i, '=');

		if (eq) {
			*eq = 0;
			setenv(*i, eq + 1, 1);
		}
	}
	g_strfreev(items);
}

/* Reads the resolved settings into @o. */
static int resolve_opts(const tarn_plan_t *plan, struct run_opts *o)
{
	const char *v;

	memset(o, 0, sizeof(*o));
	v = tarn_config_get("SP_JOBID");
	o->job_id = v && *v ? g_strdup(v) : g_uuid_string_random();
	v = tarn_config_get("SP_JOB_NAME");
	o->job_name = g_strdup(v && *v ? v : tarn_plan_name(plan));
	v = tarn_config_get("SP_JOB_TIME");
	o->job_time = g_strdup(v ? v : "");
	/*
	 * Absolute from here on: every path of the job is built under it, and
	 * g_canonicalize_filename() takes only an absolute base. A relative
	 * root means the current folder's, as on a shell's command line.
	 */
	o->data_root = g_canonicalize_filename(tarn_config_get("SP_DATA_ROOT"),
					       NULL);
	o->job_dir = g_build_filename(o->data_root, o->job_id, NULL);
	v = tarn_config_get("SP_OUTPUT_PATH");
	o->output_path = v && *v ? g_canonicalize_filename(v, NULL)
				 : g_build_filename(o->job_dir, "output", NULL);
	o->num_executors = atoi(tarn_config_get("SP_NUM_EXECUTORS"));
	v = tarn_config_get("SP_RANDOM_SEED");
	o->random_seed = v && *v ? g_ascii_strtoull(v, NULL, 10)
				 : hash_bytes(o->job_id, strlen(o->job_id));
	o->max_retry_count = atoi(tarn_config_get("SP_MAX_RETRY_COUNT"));
	o->max_fail_count = atoi(tarn_config_get("SP_MAX_FAIL_COUNT"));
	o->prioritize_retry = cfg_bool("SP_PRIORITIZE_RETRY");
	o->fail_fast = cfg_bool("SP_FAIL_FAST");
	o->enforce_memory_limit = cfg_bool("SP_ENFORCE_MEMORY_LIMIT");
	o->remove_output_root = cfg_bool("SP_REMOVE_OUTPUT_ROOT");
	o->skip_empty = cfg_bool("SP_SKIP_TASK_WITH_EMPTY_INPUT");
	v = tarn_config_get("SP_SPECULATIVE_EXEC");
	o->speculative = !strcmp(v, "disable") ? SPEC_DISABLE :
			 !strcmp(v, "aggressive") ? SPEC_AGGRESSIVE :
						    SPEC_ENABLE;
	o->fault_prob = g_ascii_strtod(tarn_config_get("SP_FAULT_INJECT_PROB"),
				       NULL);
	o->console_level = level_of("SP_CONSOLE_LOG_LEVEL");
	o->file_level = level_of("SP_FILE_LOG_LEVEL");
	o->tty = opt_tty ? 1 : opt_no_tty ? 0 : -1;
	return 0;
}

static void free_opts(struct run_opts *o)
{
	g_free(o->job_id);
	g_free(o->job_name);
	g_free(o->job_time);
	g_free(o->data_root);
	g_free(o->job_dir);
	g_free(o->output_path);
}

int driver_run(const tarn_plan_t *plan)
{
	struct run_opts o;
	struct pplan *pp = NULL;
	int rc, status = 1;

	if (tarn_config_check() != 0) {
		fprintf(stderr, "tarn run: %s\n", tarn_last_error());
		return 2;
	}
	resolve_opts(plan, &o);
	/* num_executors sizes the local worker pool unless that is set. */
	if (o.num_executors > 0 &&
	    tarn_config_source("UNIDIST_CPUS") == TARN_CONFIG_DEFAULT) {
		char n[16];

		snprintf(n, sizeof(n), "%d", o.num_executors);
		tarn_config_set("UNIDIST_CPUS", n);
	}
	set_env_variables();
	rc = pplan_build(plan, &pp);
	if (rc) {
		fprintf(stderr, "tarn run: %s\n", tarn_planner_last_error());
		free_opts(&o);
		return 2;
	}
	for (guint i = 0; i < plan->libraries->len; i++) {
		if (tarn_load_library(plan->libraries->pdata[i]) != 0) {
			fprintf(stderr, "tarn run: plan library %s: %s\n",
				(char *)plan->libraries->pdata[i],
				tarn_last_error());
			status = 2;
			goto out;
		}
	}
	if (tarn_init(NULL) != 0) {
		fprintf(stderr, "tarn run: %s\n", tarn_last_error());
		status = 2;
		goto out;
	}
	rc = sched_run(pp, &o);
	tarn_shutdown();
	if (rc)
		fprintf(stderr, "tarn run: job %s failed: %s\n", o.job_id,
			tarn_planner_last_error());
	else
		status = 0;
	{
		/* nothing may write into staging once the workers are gone */
		char *staging = g_build_filename(o.job_dir, "staging", NULL);
		GDir *d = g_dir_open(staging, 0, NULL);
		const char *e;

		while (d && (e = g_dir_read_name(d))) {
			char *p = g_build_filename(staging, e, NULL);

			rm_rf(p);
			g_free(p);
		}
		if (d)
			g_dir_close(d);
		g_free(staging);
	}
out:
	pplan_free(pp);
	free_opts(&o);
	return status;
}

TARN_PLANNER_API int tarn_driver_main(const tarn_plan_t *plan, int argc,
				      char **argv)
{
	int status;

	if (tarn_is_worker())
		return tarn_init(NULL) == 0 ? 0 : 1; /* returns only on failure */
	if (argv && argv[0] && !g_get_prgname())
		g_set_prgname(argv[0]);
	/* --help prints and exits here, with or without a plan */
	status = driver_parse(g_strcmp0(g_get_prgname(), "tarn run") ? "" :
			      "PLAN.yaml", &argc, &argv);
	if (status >= 0)
		return status;
	if (!plan) {
		fprintf(stderr, "tarn_driver_main: no plan\n");
		return 2;
	}
	if (argc > 1) {
		fprintf(stderr, "%s: unexpected argument '%s' (the plan is built in the program; options only)\n",
			argv[0], argv[1]);
		return 2;
	}
	return driver_run(plan);
}
