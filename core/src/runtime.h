/* SPDX-License-Identifier: MIT */
/*
 * The runtime's private interfaces: registry, payload codec, execution.
 */
#ifndef TARN_RUNTIME_H
#define TARN_RUNTIME_H

#include <stdatomic.h>

#include "internal.h"

/* registry.c ----------------------------------------------------------- */

enum { REG_TASK = 1, REG_CLASS = 2, REG_METHOD = 3 };

struct reg_entry {
	char name[2 * TARN_MAX_NAME + 2]; /* "task", "Class", "Class.method" */
	int kind;
	tarn_task_fn fn;         /* task, constructor or method */
	tarn_actor_dtor_fn dtor; /* classes only */
};

bool tarn_registry_name_ok(const char *name);
/* NULL when @key is not registered as @kind. Entries live forever. */
const struct reg_entry *tarn_registry_find(const char *key, int kind);
/* TARN_EEXIST with the conflicts found since the last call, or 0. */
int tarn_registry_take_conflicts(void);
/* "a, b, c" (at most @max names); g_free() it. */
char *tarn_registry_names(int kind, size_t max);

/* payload.c: the opaque bytes a backend ships to run a task -------------- */

struct payload_arg {
	int kind; /* TARN_ARG_BYTES (inline value) or TARN_ARG_REF */
	const void *data;
	size_t len;
	tarn_ref_t ref;
};

struct payload {
	uint32_t kind; /* enum tarn_task_kind */
	char name[2 * TARN_MAX_NAME + 2];
	tarn_ref_t id;
	tarn_actor_t actor;
	int32_t max_retries;
	bool retry_on_error;
	double timeout;
	uint32_t num_returns;
	uint32_t nargs;
	tarn_ref_t *returns;      /* into the same allocation as the struct */
	struct payload_arg *args; /* ditto; inline data points into the bytes */
};

struct payload_in {
	uint32_t kind;
	const char *name;
	tarn_ref_t id;
	tarn_actor_t actor;
	int32_t max_retries;
	bool retry_on_error;
	double timeout;
	const tarn_ref_t *returns;
	uint32_t num_returns;
	const tarn_arg_t *args;
	size_t nargs;
};

/* Encode into a g_malloc()ed buffer; returns 0 or TARN_EINVAL/ENOMEM. */
int tarn_payload_encode(const struct payload_in *in, void **buf, size_t *len);
/* The two halves, for callers that pack many payloads in one buffer. */
int tarn_payload_size(const struct payload_in *in, size_t *len); /* checks @in */
void tarn_payload_write(const struct payload_in *in, void *buf);  /* *len bytes */
/*
 * Decode @buf; the result is one g_malloc()ed block (g_free it) whose
 * inline argument data points into @buf, which must outlive it.
 * TARN_EPROTO for malformed bytes.
 */
int tarn_payload_decode(const void *buf, size_t len, struct payload **out);
/*
 * The same, into @space (@cap bytes, aligned for struct payload) when the
 * result fits; *@out is then @space, and only another pointer is freed.
 */
int tarn_payload_decode_into(const void *buf, size_t len, void *space, size_t cap,
			     struct payload **out);

/*
 * A multi-call payload: @ncalls calls of one plain task function, run in a
 * loop by one host->run_task() (tarn_remote_batch() packs chunks of a batch
 * this way, so that a backend handles one task record and one message per
 * chunk). The returns are the calls' returns back to back (@ncalls x
 * @num_returns); each call's arguments follow, encoded as in a single call.
 */
struct payload_multi_in {
	const char *name;
	tarn_ref_t id;
	int32_t max_retries;
	bool retry_on_error;
	uint32_t ncalls;
	uint32_t num_returns; /* per call */
	uint32_t nargs;       /* per call */
	const tarn_ref_t *returns;
	const tarn_arg_t *args; /* ncalls x nargs */
};

/* Bytes of the calls' arguments alone; 0 or TARN_EINVAL naming the call. */
int tarn_payload_args_size(const char *name, const tarn_arg_t *args, size_t nargs,
			   size_t *len);
/* Bytes of a single-call payload whose arguments take @args_len. */
size_t tarn_payload_single_size(const struct payload_in *in, size_t args_len);
size_t tarn_payload_multi_size(const struct payload_multi_in *in, size_t args_len);
void tarn_payload_multi_write(const struct payload_multi_in *in, void *buf);
/* True when @buf starts like a multi-call payload. */
bool tarn_payload_is_multi(const void *buf, size_t len);

/*
 * A multi-call payload being read: open() checks the whole of it, then
 * next() decodes one call after another into @pl, whose @returns and
 * @args arrays the caller sized for num_returns and nargs.
 */
struct payload_multi {
	char name[2 * TARN_MAX_NAME + 2];
	tarn_ref_t id;
	int32_t max_retries;
	bool retry_on_error;
	uint32_t ncalls, num_returns, nargs;
	const unsigned char *returns; /* unaligned refs */
	const unsigned char *next, *end;
	uint32_t done; /* calls decoded so far */
};

int tarn_payload_multi_open(const void *buf, size_t len, struct payload_multi *m);
/* What every call shares (kind, name, limits) into @pl, once. */
void tarn_payload_multi_fill(const struct payload_multi *m, struct payload *pl);
/* Call m->done's returns and arguments into @pl; false at the end. */
bool tarn_payload_multi_next(struct payload_multi *m, struct payload *pl);

/* exec.c: the host side of task execution -------------------------------- */

int tarn_exec_run(tarn_host_t *host, const void *payload, size_t len,
		  uint32_t attempt, tarn_task_report_t *report);
int tarn_exec_task_lost(tarn_host_t *host, const tarn_task_desc_t *task,
			const tarn_failure_t *why);
void tarn_exec_actor_destroy(tarn_host_t *host, tarn_actor_t actor);
/* GHashTable hash and equality for tarn_ref_t / tarn_actor_t keys (same layout). */
unsigned int tarn_id_hash(const void *p);
int tarn_id_equal(const void *a, const void *b);
/* Destroy every actor living in this process (shutdown). */
void tarn_exec_destroy_all_actors(void);
/*
 * Store error objects carrying @msg as every one of @returns, replacing
 * unsealed partial results.
 */
void tarn_exec_store_error(const tarn_ref_t *returns, size_t n,
			   const char *msg);

/* runtime.c: state shared by the files above ------------------------------ */

struct runtime {
	atomic_bool initialized;
	tarn_plugin_t *plugin;
	const tarn_backend_desc_t *ops; /* &plugin->desc */
	tarn_backend_t *be;
	tarn_open_info_t info;
	char worker[256]; /* "seq driver (pid 42 on host)" for messages */
	atomic_uint_fast64_t next_seq;
	int num_cpus;
	int32_t default_max_retries; /* UNIDIST_TASK_MAX_RETRIES, read at init */
	uint32_t batch_chunk;        /* UNIDIST_BATCH_CHUNK, read at init */
	uint32_t max_node_cpus, max_node_gpus;
	uint64_t max_node_memory;
	atomic_uint generation; /* bumped by shutdown: stale objects */
};

extern struct runtime tarn_rt;

/* A fresh cluster-unique id from this process. */
tarn_ref_t tarn_rt_mint(void);

#endif /* TARN_RUNTIME_H */
