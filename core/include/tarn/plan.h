/* SPDX-License-Identifier: MIT */
/**
 * DOC: tarn planner, logical plans in C (smallpond's planner)
 *
 * A logical plan is a list of nodes, each reading the output of earlier
 * nodes: data sources, partitions, user compute functions, consolidate,
 * union, limit, sort and sinks. The planner turns it into partitioned tasks
 * (the physical plan) and runs them through tarn's public API on whatever
 * backend is selected, with retries, seeded fault injection, speculative
 * execution, atomic commit and resume from a journal.
 *
 * The same plans can be written as YAML (tarn_plan_load_yaml(), ``tarn run
 * plan.yaml``); docs/planner.md describes both.
 *
 * The planner lives in its own library, libtarn-planner (pkg-config
 * ``tarn-planner``), built on the public libtarn API only.
 *
 * Errors: functions return 0 or a negative TARN_E* code and set the detail
 * message read by tarn_planner_last_error() (the planner sits on the public
 * API, so it keeps its own message; it repeats libtarn's when a libtarn
 * call failed). Thread safety: a plan is built and run
 * from one thread; the compute-context accessors are for the task running
 * them.
 */
#ifndef TARN_PLAN_H
#define TARN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tarn/tarn.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TARN_PLANNER_API __attribute__((visibility("default")))
#else
#define TARN_PLANNER_API
#endif

/** enum tarn_node_kind - what a logical node does */
enum tarn_node_kind {
	TARN_NODE_SOURCE = 1,      /* files by glob */
	TARN_NODE_PARTITION = 2,   /* split into npartitions (a dimension) */
	TARN_NODE_COMPUTE = 3,     /* user function over one partition */
	TARN_NODE_CONSOLIDATE = 4, /* merge partitions, keeping dimensions */
	TARN_NODE_UNION = 5,       /* partition i of every input together */
	TARN_NODE_LIMIT = 6,       /* first rows of each partition */
	TARN_NODE_SORT = 7,        /* sort each partition by key (built in) */
	TARN_NODE_SINK = 8,        /* copy, link or list into an output path */
};

/** enum tarn_data_format - how a source's files are cut into rows */
enum tarn_data_format {
	TARN_FORMAT_LINES = 0,   /* newline-delimited text: CSV, TSV, JSONL */
	TARN_FORMAT_RECORDS = 1, /* fixed-size binary records */
};

/** enum tarn_partition_by - how a partition node splits its input */
enum tarn_partition_by {
	TARN_PARTITION_FILES = 0, /* evenly, whole files (sources only) */
	TARN_PARTITION_ROWS = 1,  /* evenly, contiguous runs of rows */
	TARN_PARTITION_HASH = 2,  /* by the hash of a key */
	TARN_PARTITION_RANGE = 3, /* by key ranges from a sample */
	TARN_PARTITION_FUNCTION = 4, /* a user function picks the buckets */
};

/** enum tarn_sink_mode - how a sink places its files */
enum tarn_sink_mode {
	TARN_SINK_COPY = 0,     /* copy every file */
	TARN_SINK_LINK = 1,     /* hard link (symbolic across file systems) */
	TARN_SINK_MANIFEST = 2, /* write manifest.txt listing the files */
};

/**
 * struct tarn_key - the key of a row, for hash and range partitions and sort
 * @field: 1-based delimited field of a text row; 0: not a field key
 * @delimiter: the field separator (',' for CSV, '\t' for TSV)
 * @offset: first byte of the key within the row (when @field is 0)
 * @length: bytes of key; 0 with @field 0 means the whole row
 */
typedef struct tarn_key {
	uint32_t field;
	char delimiter;
	uint32_t offset;
	uint32_t length;
} tarn_key_t;

/**
 * struct tarn_node_spec - everything that describes one node
 * @kind: an &enum tarn_node_kind
 * @name: unique within the plan: [A-Za-z0-9_.-], names the task folders
 * @inputs: ids of earlier nodes (none for a source; several for union and
 *          compute, whose inputs' partitions are zipped)
 * @num_inputs: number of @inputs
 * @glob: source: files, a shell glob (relative to the plan's base folder)
 * @format: source: an &enum tarn_data_format
 * @record_size: source: bytes per record with TARN_FORMAT_RECORDS
 * @by: partition: an &enum tarn_partition_by
 * @npartitions: partition: number of partitions, >= 1
 * @dimension: partition: the dimension's name (default: the node's name)
 * @nested: partition: add a dimension to the input's partitions instead of
 *          replacing them (smallpond's nested partitions)
 * @key: partition (hash, range) and sort: the key
 * @function: compute, partition by function: a name registered with
 *            TARN_COMPUTE() (in the program or a library of the plan)
 * @args: compute: a string given to the function, or NULL
 * @cpus: compute and partition tasks: CPUs per task (default 1)
 * @gpus: GPUs per task
 * @memory: bytes of memory per task, 0 for no limit
 * @dimensions: consolidate: dimensions to keep (NULL-terminated, may be
 *              empty: everything into one partition)
 * @rows: limit: rows kept per partition
 * @path: sink: output folder (relative: under the job's output path)
 * @mode: sink: an &enum tarn_sink_mode
 *
 * Fields a kind does not use must be zero. Initialise with
 * TARN_NODE_SPEC_INIT.
 */
typedef struct tarn_node_spec {
	int kind;
	const char *name;
	const int *inputs;
	size_t num_inputs;
	const char *glob;
	int format;
	uint32_t record_size;
	int by;
	uint32_t npartitions;
	const char *dimension;
	bool nested;
	tarn_key_t key;
	const char *function;
	const char *args;
	double cpus;
	double gpus;
	uint64_t memory;
	const char *const *dimensions;
	uint64_t rows;
	const char *path;
	int mode;
} tarn_node_spec_t;

#define TARN_NODE_SPEC_INIT { .kind = 0 }

typedef struct tarn_plan tarn_plan_t;

/**
 * tarn_plan_create() - a new, empty logical plan
 * @name: display name of the plan (the job name by default), or NULL
 * @out: receives the plan, freed with tarn_plan_destroy()
 *
 * Return: 0 or TARN_ENOMEM.
 */
TARN_PLANNER_API int tarn_plan_create(const char *name, tarn_plan_t **out);

/** tarn_plan_destroy() - free a plan; accepts NULL */
TARN_PLANNER_API void tarn_plan_destroy(tarn_plan_t *plan);

/**
 * tarn_plan_add() - append a node, checked against the plan so far
 * @plan: the plan
 * @spec: the node (copied)
 * @out_id: receives the node's id for use as an input of later nodes, or
 *          NULL
 *
 * Return: 0, or TARN_EINVAL with a message naming the node, the field,
 * the bad value and what is allowed.
 */
TARN_PLANNER_API int tarn_plan_add(tarn_plan_t *plan,
				   const tarn_node_spec_t *spec, int *out_id);

/**
 * tarn_plan_add_library() - a shared library of compute functions that
 * the plan needs; the driver loads it with tarn_load_library()
 * @plan: the plan
 * @path: path of the .so (relative paths are taken from the plan's base
 *        folder)
 *
 * Return: 0 or TARN_EINVAL for an empty path.
 */
TARN_PLANNER_API int tarn_plan_add_library(tarn_plan_t *plan,
					   const char *path);

/**
 * tarn_plan_set_base_dir() - folder that relative globs and library paths
 * are taken from (the YAML file's folder; default the working directory)
 */
TARN_PLANNER_API int tarn_plan_set_base_dir(tarn_plan_t *plan,
					    const char *dir);

/**
 * tarn_plan_load_yaml() - read a plan from a YAML file
 * @path: the file
 * @out: receives the plan
 *
 * Return: 0; TARN_EIO when the file cannot be read; TARN_EINVAL for a bad
 * plan, with a message "FILE:LINE:COLUMN: what was wrong (expected ...)".
 */
TARN_PLANNER_API int tarn_plan_load_yaml(const char *path,
					 tarn_plan_t **out);

/**
 * tarn_planner_last_error() - detail of the calling thread's last planner
 * error ("" when none); valid until the thread's next planner call
 */
TARN_PLANNER_API const char *tarn_planner_last_error(void);

/** tarn_plan_num_nodes() - number of nodes in @plan */
TARN_PLANNER_API size_t tarn_plan_num_nodes(const tarn_plan_t *plan);

/** tarn_plan_name() - the plan's display name ("" when none) */
TARN_PLANNER_API const char *tarn_plan_name(const tarn_plan_t *plan);

/* ------------------------------------------------------------------------ */
/* Compute functions                                                        */
/* ------------------------------------------------------------------------ */

/**
 * struct tarn_partition_info - one dimension of a task's partition
 * @dimension: the dimension's name
 * @index: this partition's index in it, 0..@npartitions-1
 * @npartitions: number of partitions in the dimension
 */
typedef struct tarn_partition_info {
	const char *dimension;
	uint32_t index;
	uint32_t npartitions;
} tarn_partition_info_t;

typedef struct tarn_compute_ctx tarn_compute_ctx_t;
typedef int (*tarn_compute_fn)(tarn_compute_ctx_t *ctx);

/**
 * tarn_compute_register() - register a compute (or partition) function
 * @name: the name plans use in ``function:``
 * @fn: the function: reads tarn_compute_input() files and writes files
 *      into tarn_compute_output_dir(); returns 0, or fails with
 *      tarn_compute_fail()
 *
 * Use TARN_COMPUTE(), which registers when the program or library loads.
 *
 * Return: 0, TARN_EINVAL for a bad name, TARN_EEXIST when the name has
 * another function.
 */
TARN_PLANNER_API int tarn_compute_register(const char *name,
					   tarn_compute_fn fn);

/**
 * TARN_COMPUTE() - define and register a compute function
 * @name: an identifier; the name plans use
 */
#define TARN_COMPUTE(name)                                                     \
	static int tarn_compute_fn_##name(tarn_compute_ctx_t *ctx);            \
	__attribute__((constructor)) static void tarn_compute_reg_##name(void) \
	{                                                                      \
		tarn_compute_register(#name, tarn_compute_fn_##name);          \
	}                                                                      \
	static int tarn_compute_fn_##name(                                     \
		tarn_compute_ctx_t *ctx __attribute__((unused)))

/** tarn_compute_num_inputs() - number of input files of this task */
TARN_PLANNER_API size_t tarn_compute_num_inputs(const tarn_compute_ctx_t *ctx);

/** tarn_compute_input() - path of input file @i, or NULL past the end */
TARN_PLANNER_API const char *tarn_compute_input(const tarn_compute_ctx_t *ctx,
						size_t i);

/**
 * tarn_compute_input_group() - which of the node's inputs file @i comes
 * from (0 for the first input node), or -1 past the end
 */
TARN_PLANNER_API int tarn_compute_input_group(const tarn_compute_ctx_t *ctx,
					      size_t i);

/**
 * tarn_compute_output_dir() - the folder this attempt writes into; it is
 * staging, renamed into place when the task succeeds
 */
TARN_PLANNER_API const char *
tarn_compute_output_dir(const tarn_compute_ctx_t *ctx);

/**
 * tarn_compute_bucket_dir() - folder for partition @bucket's files, for a
 * partition function (created on first use); NULL when @bucket is out of
 * range or the folder cannot be made
 */
TARN_PLANNER_API const char *
tarn_compute_bucket_dir(tarn_compute_ctx_t *ctx, uint32_t bucket);

/** tarn_compute_npartitions() - buckets a partition function must fill */
TARN_PLANNER_API uint32_t
tarn_compute_npartitions(const tarn_compute_ctx_t *ctx);

/** tarn_compute_args() - the node's args string ("" when none) */
TARN_PLANNER_API const char *tarn_compute_args(const tarn_compute_ctx_t *ctx);

/** tarn_compute_num_dims() - dimensions of this task's partition */
TARN_PLANNER_API size_t tarn_compute_num_dims(const tarn_compute_ctx_t *ctx);

/**
 * tarn_compute_partition() - partition info of dimension @i (outermost
 * first); 0, or TARN_EINVAL past the end
 */
TARN_PLANNER_API int tarn_compute_partition(const tarn_compute_ctx_t *ctx,
					    size_t i,
					    tarn_partition_info_t *out);

/**
 * tarn_compute_fail() - fail the task with a message (printf format);
 * returns TARN_ETASK for the function to return
 */
TARN_PLANNER_API int tarn_compute_fail(tarn_compute_ctx_t *ctx,
				       const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------ */
/* Physical plan and driver                                                 */
/* ------------------------------------------------------------------------ */

/**
 * tarn_plan_describe() - the physical plan as text: a summary (nodes,
 * their tasks, partitions and dimensions) or, with @dot, Graphviz
 * @plan: the plan
 * @dot: Graphviz instead of the summary
 * @job_dir: the job's folder, shown in task locations ("{data_root}/{job}"
 *           when NULL)
 * @out: receives a string to free with free()
 *
 * Return: 0, or TARN_EINVAL when the plan cannot be expanded (a source
 * glob matches nothing, partitions that cannot be zipped, ...).
 */
TARN_PLANNER_API int tarn_plan_describe(const tarn_plan_t *plan, bool dot,
					const char *job_dir, char **out);

/**
 * tarn_driver_main() - run @plan as a job: parse the driver options in
 * @argv (see ``tarn run --help``), start tarn, run every task, report
 * @plan: the plan (borrowed)
 * @argc: number of arguments
 * @argv: the arguments; argv[0] is the program name
 *
 * In a worker process of a multi-process backend it becomes a worker and
 * does not return. Options override the SP_* settings, which come from the
 * environment or the configuration file.
 *
 * Return: an exit status: 0 the job succeeded, 1 it failed, 2 the command
 * line or configuration was wrong.
 */
TARN_PLANNER_API int tarn_driver_main(const tarn_plan_t *plan, int argc,
				      char **argv);

#ifdef __cplusplus
}
#endif

#endif /* TARN_PLAN_H */
