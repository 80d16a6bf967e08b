/* SPDX-License-Identifier: MIT */
/*
 * The table of every setting. Names, defaults and meanings follow unidist
 * (unidist/config/backends/{common,mpi}/envvars.py) and smallpond
 * (smallpond/__init__.py, smallpond/platform/base.py) where they mean
 * something in C, so that a job moves between them with the same variables.
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <string.h>

#include <glib.h>

#include "settings.h"

static const char *const log_levels[] = {"error", "warning", "info", "debug",
					 NULL};
static const char *const tristate[] = {"auto", "true", "false", NULL};
static const char *const mpi_schedulers[] = {"locality", "round-robin", NULL};
static const char *const allocators[] = {"system", "jemalloc", "mimalloc",
					 NULL};

static const char *check_backend(const char *v)
{
	if (strchr(v, '/'))
		return v[strlen(v) - 1] == '/' ? "a folder, not a plugin file"
					       : NULL;
	for (const char *p = v; *p; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '_')
			return "not a backend name or a plugin path";
	return NULL;
}

static const char *check_host(const char *v)
{
	for (const char *p = v; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr(".-_", *p))
			return "not a host name";
	return NULL;
}

/* The job id names the job's folder under SP_DATA_ROOT. */
static const char *check_jobid(const char *v)
{
	if (!strcmp(v, ".") || !strcmp(v, ".."))
		return "not usable as a folder name";
	if (strlen(v) > 200)
		return "too long";
	for (const char *p = v; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("._-", *p))
			return "not usable as a folder name";
	return NULL;
}

/* smallpond takes seconds since the epoch or an ISO 8601 date and time. */
static const char *check_job_time(const char *v)
{
	char *end;
	double secs = g_ascii_strtod(v, &end);
	GTimeZone *local;
	GDateTime *dt;

	if (end != v && !*end)
		return isfinite(secs) && secs >= 0 ? NULL
						   : "not a time after 1970";
	/* Without a zone, smallpond reads the time as local, and so do we. */
	local = g_time_zone_new_local();
	dt = g_date_time_new_from_iso8601(v, local);
	g_time_zone_unref(local);
	if (!dt)
		return "not a time";
	g_date_time_unref(dt);
	return NULL;
}

static const char *const spec_modes[] = {"disable", "enable", "aggressive",
					 NULL};

static const char *check_seed(const char *v)
{
	char *end;

	if (!g_ascii_isdigit(*v))
		return "not a whole number";
	errno = 0;
	g_ascii_strtoull(v, &end, 10);
	return *end || errno ? "not a whole number in range" : NULL;
}

static const char *check_env_item(const char *v)
{
	const char *eq = strchr(v, '=');

	if (!eq || eq == v)
		return "not NAME=VALUE";
	for (const char *p = v; p < eq; p++)
		if (!g_ascii_isalnum(*p) && *p != '_')
			return "not a variable name before '='";
	return NULL;
}

static char *default_cpus(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	/* More than CPU_SETSIZE CPUs, or no affinity support: ask sysconf. */
	if (n <= 0)
		n = (int)g_get_num_processors();
	return g_strdup_printf("%d", CLAMP(n, 1, 4096));
}

static char *default_data_root(void)
{
	return g_build_filename(g_get_home_dir(), ".smallpond", "data", NULL);
}

#define BACKEND_ALLOWED                                                     \
	"a backend name of [a-z0-9_] (seq, procpool, mpi, tcp or a plugin " \
	"in UNIDIST_PLUGIN_PATH), a path containing '/' to a plugin .so, "  \
	"or empty for automatic"

const tarn_setting_t tarn_settings_table[] = {
	/* Backend choice and plugins ------------------------------------- */
	{
		.name = "UNIDIST_BACKEND",
		.type = TARN_SETTING_STRING,
		.def = "",
		.default_doc = "automatic: mpi when started by mpiexec/mpirun, "
			       "otherwise procpool",
		.check = check_backend,
		.allowed = BACKEND_ALLOWED,
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Backend that runs the tasks: a plugin found by name "
			"in UNIDIST_PLUGIN_PATH, the build tree or the install "
			"directory, or a plugin file given by path. The same "
			"choice as SP_PLATFORM; setting both to different "
			"backends is an error.",
	},
	{
		.name = "SP_PLATFORM",
		.type = TARN_SETTING_STRING,
		.def = "",
		.default_doc = "automatic, as for UNIDIST_BACKEND",
		.check = check_backend,
		.allowed = BACKEND_ALLOWED,
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"smallpond's name for the backend choice: the planner's "
			"platform is the backend its tasks run on. Same values "
			"and meaning as UNIDIST_BACKEND; if both are set they "
			"must name the same backend.",
	},
	{
		.name = "UNIDIST_PLUGIN_PATH",
		.type = TARN_SETTING_LIST,
		.def = "",
		.sep = ':',
		.allowed = "folders separated by ':'",
		.description =
			"Folders searched for backend plugins (NAME.so), in "
			"order, before the build tree and the install "
			"directory.",
	},
	{
		.name = "UNIDIST_CONFIG_FILE",
		.type = TARN_SETTING_PATH,
		.def = "",
		.default_doc = "./" TARN_SETTINGS_DEFAULT_FILE
			       " when that file exists",
		.allowed = "a YAML file, or empty for ./" TARN_SETTINGS_DEFAULT_FILE,
		.flags = TARN_SETTING_EMPTY_AUTO | TARN_SETTING_NOT_IN_FILE,
		.description =
			"YAML file to read settings from. Only "
			"tarn_config_set() and the environment can set it; a "
			"file it names must exist.",
	},
	{
		.name = "SP_CONFIG_FILE",
		.type = TARN_SETTING_PATH,
		.def = "",
		.default_doc = "as for UNIDIST_CONFIG_FILE",
		.allowed = "a YAML file, or empty for ./" TARN_SETTINGS_DEFAULT_FILE,
		.flags = TARN_SETTING_EMPTY_AUTO | TARN_SETTING_NOT_IN_FILE,
		.description =
			"smallpond-style name for UNIDIST_CONFIG_FILE; if both "
			"are set they must name the same file.",
	},

	/* Common to every backend ---------------------------------------- */
	{
		.name = "UNIDIST_CPUS",
		.type = TARN_SETTING_INT,
		.compute_default = default_cpus,
		.default_doc = "the number of CPUs this process may run on "
			       "(sched_getaffinity)",
		.min = 1,
		.max = 4096,
		.description =
			"CPUs tarn uses on this machine: procpool starts this "
			"many worker processes, and it is what tarn_num_cpus() "
			"reports for a single machine.",
	},
	{
		.name = "UNIDIST_TASK_MAX_RETRIES",
		.type = TARN_SETTING_INT,
		.def = "3",
		.min = 0,
		.max = 1000,
		.description =
			"Retries of a task whose worker crashed (and, for "
			"tasks with retry_on_error, that failed) when its "
			"options do not say; 3 as in Ray.",
	},
	{
		.name = "UNIDIST_BATCH_CHUNK",
		.type = TARN_SETTING_INT,
		.def = "0",
		.min = 0,
		.max = 256,
		.description =
			"Calls of one tarn_remote_batch() that travel and run "
			"as one task, in a loop on one worker: 0 picks up to "
			"256 so that every CPU still gets at least 4 tasks; 1 "
			"makes every call its own task. Calls with a timeout "
			"are never grouped.",
	},
	{
		.name = "UNIDIST_LOG_LEVEL",
		.type = TARN_SETTING_ENUM,
		.def = "warning",
		.choices = log_levels,
		.description =
			"Least severe kind of message tarn writes to stderr, "
			"from tarn_init() on.",
	},

	/* mpi backend ---------------------------------------------------- */
	{
		.name = "UNIDIST_PROCPOOL_STORE_SIZE",
		.type = TARN_SETTING_SIZE,
		.def = "",
		.default_doc = "automatic: half of the machine's memory",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Bytes of shared memory for procpool's object store. "
			"Pages are taken only as objects use them; a put or "
			"result that does not fit fails with TARN_ENOSPC.",
	},
	{
		.name = "UNIDIST_PROCPOOL_INLINE_MAX",
		.type = TARN_SETTING_SIZE,
		.def = "65536",
		.min = 0,
		.max = 1048576,
		.description =
			"Objects up to this many bytes travel inside procpool's "
			"messages (copied); larger ones are written once into "
			"the shared store and read in place by every process.",
	},
	{
		.name = "UNIDIST_PROCPOOL_SPIN_US",
		.type = TARN_SETTING_INT,
		.def = "100",
		.min = 0,
		.max = 1000000,
		.description =
			"Microseconds an idle procpool process keeps polling "
			"for work before it sleeps: more answers faster after "
			"a pause, less leaves the CPU to others sooner.",
	},
	{
		.name = "UNIDIST_MPI_SPAWN",
		.type = TARN_SETTING_ENUM,
		.def = "auto",
		.choices = tristate,
		.flags = TARN_SETTING_BOOL_SYNONYMS,
		.description =
			"How the mpi backend gets its worker ranks. true: the "
			"program runs as one rank (alone or mpiexec -n 1) and "
			"spawns the rest with MPI_Comm_spawn, as unidist does "
			"by default. false: SPMD, mpiexec -n N starts every "
			"rank. auto: spawn when started with one rank, SPMD "
			"otherwise.",
	},
	{
		.name = "UNIDIST_MPI_HOSTS",
		.type = TARN_SETTING_LIST,
		.def = "",
		.sep = ',',
		.check = check_host,
		.allowed = "host names separated by ','",
		.default_doc = "spawned ranks go where MPI places them",
		.description =
			"Hosts on which spawned MPI worker ranks are placed, "
			"in spawn mode only.",
	},
	{
		.name = "UNIDIST_MPI_BACKOFF",
		.type = TARN_SETTING_FLOAT,
		.def = "0.0001",
		.fmin = 0,
		.fmax = INFINITY,
		.description =
			"Seconds the mpi backend's message loops sleep when "
			"there is nothing to receive, so that idle ranks do "
			"not spin; unidist's default. Larger saves CPU, "
			"smaller cuts latency.",
	},
	{
		.name = "UNIDIST_MPI_LOG",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Write a log of each rank's messages and operations "
			"to a file per rank in the working directory, for "
			"debugging the mpi backend.",
	},
	{
		.name = "UNIDIST_MPI_SCHEDULING",
		.type = TARN_SETTING_ENUM,
		.def = "locality",
		.choices = mpi_schedulers,
		.description =
			"How the mpi backend places tasks. locality: on the "
			"worker with the fewest queued tasks, or on the owner "
			"of the task's largest argument when it is nearly as "
			"free. round-robin: each worker in turn, as unidist "
			"does (for comparison).",
	},
	{
		.name = "UNIDIST_MPI_LOCAL_LINKS",
		.type = TARN_SETTING_BOOL,
		.def = "true",
		.description =
			"Carry the mpi backend's messages between the driver "
			"and the ranks on its host over rings in shared memory "
			"(2 MiB per rank in /dev/shm) instead of MPI: Open MPI "
			"reaches spawned ranks over TCP only. false: every "
			"message goes by MPI.",
	},
	{
		.name = "UNIDIST_MPI_SHARED_OBJECT_STORE",
		.type = TARN_SETTING_BOOL,
		.def = "true",
		.description =
			"Keep large objects in a shared-memory store on each "
			"host, managed by the host's monitor rank, so that "
			"ranks on that host map them instead of receiving "
			"copies. On by default, as in unidist.",
	},
	{
		.name = "UNIDIST_MPI_SHARED_OBJECT_STORE_MEMORY",
		.type = TARN_SETTING_SIZE,
		.def = "",
		.default_doc = "automatic: sized by the mpi backend from the "
			       "host's memory",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Bytes of shared memory for the object store on each "
			"host.",
	},
	{
		.name = "UNIDIST_MPI_SHARED_SERVICE_MEMORY",
		.type = TARN_SETTING_SIZE,
		.def = "",
		.default_doc = "automatic: sized by the mpi backend from the "
			       "store's size",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Bytes of shared memory for the store's bookkeeping "
			"on each host (which objects it holds, where, and "
			"their reference counts).",
	},
	{
		.name = "UNIDIST_MPI_SHARED_OBJECT_STORE_THRESHOLD",
		.type = TARN_SETTING_SIZE,
		.def = "100000",
		.description =
			"Objects of at least this many bytes go to the shared "
			"object store; smaller ones travel in messages. "
			"100000 as in unidist.",
	},

	/* Planner jobs (smallpond) --------------------------------------- */
	{
		.name = "SP_JOBID",
		.type = TARN_SETTING_STRING,
		.def = "",
		.default_doc = "a new random UUID",
		.check = check_jobid,
		.allowed = "letters, digits, '.', '_' and '-'",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Unique id of a planner job. It names the job's folder "
			"under SP_DATA_ROOT, so running again with the same id "
			"resumes the job.",
	},
	{
		.name = "SP_JOB_TIME",
		.type = TARN_SETTING_STRING,
		.def = "",
		.default_doc = "now",
		.check = check_job_time,
		.allowed = "seconds since 1970 or an ISO 8601 date and time "
			   "(2025-03-03T12:00:00)",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"When the job was created, as shown in its summary and "
			"timeline.",
	},
	{
		.name = "SP_JOB_NAME",
		.type = TARN_SETTING_STRING,
		.def = "",
		.default_doc = "the program's name",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Display name of the job in the progress bar, the "
			"summary and the timeline.",
	},
	{
		.name = "SP_DATA_ROOT",
		.type = TARN_SETTING_PATH,
		.compute_default = default_data_root,
		.default_doc = "~/.smallpond/data, as in smallpond",
		.allowed = "a folder",
		.description =
			"Folder for everything planner jobs write: one folder "
			"per job id with outputs, staging, the resume journal, "
			"metrics and traces.",
	},
	{
		.name = "SP_NUM_EXECUTORS",
		.type = TARN_SETTING_INT,
		.def = "0",
		.min = 0,
		.max = 65536,
		.description =
			"Executors (worker processes across the cluster) for "
			"planner jobs. 0, smallpond's default, runs every task "
			"on this node with the backend's own workers.",
	},
	{
		.name = "SP_BIND_NUMA_NODE",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Bind each local worker process, and its memory, to "
			"one NUMA node (in turn), for locality.",
	},
	{
		.name = "SP_MEMORY_ALLOCATOR",
		.type = TARN_SETTING_ENUM,
		.def = "system",
		.choices = allocators,
		.description =
			"malloc implementation of the local worker processes, "
			"loaded when they start; jemalloc and mimalloc must be "
			"installed. system (the C library's) is smallpond's "
			"platform default.",
	},
	{
		.name = "SP_SPAWN",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Start a planner job as a new job on the platform "
			"(its driver and executors launched through the "
			"backend) instead of driving it from this process, "
			"like smallpond's SP_SPAWN=1.",
	},

	/* Planner driver (smallpond's driver options) -------------------- */
	{
		.name = "SP_RANDOM_SEED",
		.type = TARN_SETTING_STRING,
		.def = "",
		.default_doc = "derived from the job id",
		.check = check_seed,
		.allowed = "a whole number 0..18446744073709551615, or empty",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Seed of a planner job's random choices (fault "
			"injection). The default, derived from the job id, "
			"makes a rerun of the same job make the same choices.",
	},
	{
		.name = "SP_MAX_RETRY_COUNT",
		.type = TARN_SETTING_INT,
		.def = "0",
		.min = 0,
		.max = 100,
		.description =
			"Times the backend reruns one attempt of a planner "
			"task whose worker died under it, before the attempt "
			"counts as failed (tarn_task_opts.max_retries).",
	},
	{
		.name = "SP_MAX_FAIL_COUNT",
		.type = TARN_SETTING_INT,
		.def = "3",
		.min = 1,
		.max = 1000000,
		.description =
			"Failed attempts (errors, crashes, injected faults) "
			"after which a planner task, and with it the job, "
			"fails. 3 as in smallpond.",
	},
	{
		.name = "SP_PRIORITIZE_RETRY",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Put a failed planner task at the head of the ready "
			"queue instead of its tail.",
	},
	{
		.name = "SP_SPECULATIVE_EXEC",
		.type = TARN_SETTING_ENUM,
		.def = "enable",
		.choices = spec_modes,
		.description =
			"Speculative execution of stragglers: a planner task "
			"running far longer than the median of its node's "
			"committed tasks gets a second attempt; the first to "
			"commit wins. aggressive needs fewer samples and a "
			"smaller excess.",
	},
	{
		.name = "SP_FAIL_FAST",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Stop a planner job at the first failed attempt, "
			"without retries.",
	},
	{
		.name = "SP_FAULT_INJECT_PROB",
		.type = TARN_SETTING_FLOAT,
		.def = "0",
		.fmin = 0,
		.fmax = 1,
		.description =
			"Probability that an attempt of a planner task fails "
			"on purpose at its start, and again just before its "
			"commit; decided by SP_RANDOM_SEED, the task and the "
			"attempt, so a rerun fails the same attempts. For "
			"testing recovery.",
	},
	{
		.name = "SP_ENFORCE_MEMORY_LIMIT",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Pass each planner node's memory to the backend as a "
			"task requirement, so that tasks asking more than a "
			"node has are refused and placement honours it. The "
			"scheduler counts memory either way.",
	},
	{
		.name = "SP_CONSOLE_LOG_LEVEL",
		.type = TARN_SETTING_ENUM,
		.def = "info",
		.choices = log_levels,
		.description =
			"Least severe message a planner job prints on the "
			"console.",
	},
	{
		.name = "SP_FILE_LOG_LEVEL",
		.type = TARN_SETTING_ENUM,
		.def = "info",
		.choices = log_levels,
		.description =
			"Least severe message a planner job writes to job.log "
			"in its job folder. debug adds a line per attempt "
			"start and end (task_metrics.csv has them already), "
			"which costs about 8 us of scheduler time per task; "
			"smallpond's default is debug, tarn's is info.",
	},
	{
		.name = "SP_REMOVE_OUTPUT_ROOT",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Remove the intermediate task outputs (the job "
			"folder's tasks/) after a planner job succeeds; sinks' "
			"outputs stay.",
	},
	{
		.name = "SP_SKIP_TASK_WITH_EMPTY_INPUT",
		.type = TARN_SETTING_BOOL,
		.def = "false",
		.description =
			"Commit an empty output for a planner task whose input "
			"files are all empty instead of running it.",
	},
	{
		.name = "SP_OUTPUT_PATH",
		.type = TARN_SETTING_PATH,
		.def = "",
		.default_doc = "{SP_DATA_ROOT}/{SP_JOBID}/output",
		.allowed = "a folder, or empty",
		.flags = TARN_SETTING_EMPTY_AUTO,
		.description =
			"Folder under which sinks with a relative path write "
			"their output.",
	},
	{
		.name = "SP_ENV_VARIABLES",
		.type = TARN_SETTING_LIST,
		.def = "",
		.sep = ',',
		.check = check_env_item,
		.allowed = "NAME=VALUE items separated by ','",
		.description =
			"Environment variables set for a planner job's "
			"workers (and its driver) before they start.",
	},
};

const size_t tarn_settings_count = G_N_ELEMENTS(tarn_settings_table);
