/* SPDX-License-Identifier: MIT */
/*
 * Inside libtarn-planner: the logical plan's storage, the physical plan
 * (tasks), the task descriptor that travels to workers, and the driver's
 * pieces. Only public libtarn API below this line.
 */
#ifndef TARN_PLANNER_INTERNAL_H
#define TARN_PLANNER_INTERNAL_H

#include <stdio.h>

#include <glib.h>

#include <tarn/plan.h>
#include <tarn/tarn.h>

struct pnode {
	tarn_node_spec_t s; /* strings and arrays owned below */
	char *name, *glob, *dimension, *function, *args, *path;
	int *inputs;
	char **dimensions;
	int line, column; /* in the YAML file, 0 when built in C */
};

struct tarn_plan {
	char *name;
	char *base_dir;
	char *file; /* YAML file, or NULL */
	GPtrArray *nodes;     /* struct pnode * */
	GPtrArray *libraries; /* char *, absolute */
};

/* Physical plan ----------------------------------------------------------- */

enum task_role {
	ROLE_VIRTUAL = 0, /* no work: source files, consolidate, union */
	ROLE_SPLIT,       /* partition rows into buckets */
	ROLE_SAMPLE,      /* sample keys for a range partition */
	ROLE_BOUNDS,      /* range boundaries from the samples */
	ROLE_COMPUTE,     /* user function */
	ROLE_SORT,
	ROLE_LIMIT,
	ROLE_SINK,
};

/* A file reference: a source file, a task's whole output, or one bucket. */
struct fref {
	int task;        /* -1: @path is a plain file */
	int bucket;      /* -1: the task's whole folder */
	const char *path; /* source file (owned by the physical plan) */
	int group;       /* which input node it came from */
};

struct pinfo {
	const char *dim; /* owned by the plan's nodes */
	uint32_t index, n;
};

struct ptask {
	int id, node;
	int role;
	char *key; /* "node/p0003.0001", unique, stable across runs */
	struct pinfo *infos;
	uint32_t ninfos;
	struct fref *in;
	uint32_t nin;
	int *deps;
	uint32_t ndeps;
	int bounds_task; /* ROLE_SPLIT of a range partition: its bounds task */
	uint32_t nbuckets;
	/* ROLE_SORT fused with the range partition upstream (which then has
	 * no splits): the one bucket of @bounds_task's ranges it keeps, of
	 * @nbuckets; -1 otherwise */
	int keep_bucket;
};

/* A logical partition of a node's output: where its rows are. */
struct ppart {
	struct pinfo *infos;
	uint32_t ninfos;
	struct fref *refs;
	uint32_t nrefs;
	/* a fused range partition's bucket: @refs are the unsplit inputs,
	 * of which the rows in range @keep_bucket of @bounds_task belong
	 * here (of @nbuckets); -1 for an ordinary partition */
	int bounds_task, keep_bucket;
	uint32_t nbuckets;
};

struct pplan {
	const tarn_plan_t *plan;
	GPtrArray *tasks;   /* struct ptask * */
	GArray **parts;     /* per node: struct ppart */
	GStringChunk *strs;
	int *node_first;    /* first task of each node */
	int *node_count;
};

int pplan_build(const tarn_plan_t *plan, struct pplan **out);
void pplan_free(struct pplan *pp);
char *pplan_partition_name(const struct ptask *t);

/* Task descriptor: what a worker needs to run one attempt. */
struct tdesc {
	int role;
	int format;
	uint32_t record_size;
	int by;
	uint32_t nbuckets;
	tarn_key_t key;
	/* ROLE_SORT fused with a range partition: keep only the rows whose
	 * @range_key falls in range @keep_bucket of @bounds (-1: all rows) */
	int keep_bucket;
	tarn_key_t range_key;
	uint64_t rows;
	int mode;
	char *function, *args, *task_key, *node, *staging, *final, *bounds;
	char *job_id;
	GPtrArray *inputs; /* char * */
	GArray *groups;    /* int */
	GPtrArray *dims;   /* char * */
	GArray *infos;     /* struct pinfo with dim from @dims */
	double fault_prob;
	uint64_t seed;
	uint32_t attempt;
};

void tdesc_encode(const struct tdesc *d, GByteArray *out);
int tdesc_decode(const void *buf, size_t len, struct tdesc *d);
void tdesc_clear(struct tdesc *d);

/* What an attempt reports back (a fixed-size object). */
struct tresult {
	int32_t outcome; /* RESULT_* */
	int32_t pid;
	int64_t start_ns, end_ns;
	uint64_t bytes_in, bytes_out;
	char host[64];
};
enum { RESULT_COMMITTED = 0, RESULT_DUPLICATE = 1 };

#define PLANNER_TASK "tarn_planner_attempt"
#define COMMIT_MARK ".tarn-commit"
#define INJECTED_PREFIX "injected fault"

/* Fault injection: deterministic per seed, task, attempt and point. */
bool fault_inject(uint64_t seed, const char *task_key, uint32_t attempt,
		  int point, double prob);

int64_t now_ns(void);
int mkdir_p(const char *path);
int rm_rf(const char *path);
/* Sorted plain files of @dir (no dotfiles), as absolute paths. */
int list_files(const char *dir, GPtrArray *out);

/* Rows: split a buffer into lines or records, extract keys. */
const unsigned char *row_key(const unsigned char *row, size_t len,
			     const tarn_key_t *k, size_t *klen);
uint64_t hash_bytes(const void *p, size_t n);

/* Compute-function registry (per process). */
tarn_compute_fn compute_lookup(const char *name);

int planner_set_error(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Driver options, resolved (command line > SP_* environment > file). */
enum { SPEC_DISABLE = 0, SPEC_ENABLE = 1, SPEC_AGGRESSIVE = 2 };

struct run_opts {
	char *job_id, *job_name, *job_time, *data_root, *output_path;
	char *job_dir;
	int num_executors;
	uint64_t random_seed;
	int max_retry_count, max_fail_count;
	bool prioritize_retry, fail_fast, enforce_memory_limit;
	bool remove_output_root, skip_empty;
	int speculative;
	double fault_prob;
	int console_level, file_level;
	int tty; /* -1 auto */
	FILE *console;
};

/* Runs every task of @pp; 0 on success, else TARN_ETASK (message set). */
int sched_run(const struct pplan *pp, const struct run_opts *o);

/* Parses driver options in @argv into settings (tarn_config_set); -1 to go
 * on, or an exit status (2). @params: the usage line's parameters. */
int driver_parse(const char *params, int *argc, char ***argv);
/* After driver_parse(): init tarn, run @plan, shut down; an exit status. */
int driver_run(const tarn_plan_t *plan);

#endif
