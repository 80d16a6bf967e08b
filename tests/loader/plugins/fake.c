/* SPDX-License-Identifier: MIT */
/*
 * The behaviour behind the fake plugins: seq in miniature. Tasks run at
 * submit in the calling thread, objects live in a list on the heap.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

struct obj {
	struct obj *next;
	tarn_ref_t ref;
	void *data;
	size_t len;
	uint32_t flags;
	bool sealed;
	bool released;
	unsigned pins;
};

struct tarn_backend {
	const tarn_host_services_t *host;
	pthread_mutex_t lock;
	struct obj *objs;
};

static bool same_ref(tarn_ref_t a, tarn_ref_t b)
{
	return a.origin == b.origin && a.seq == b.seq;
}

/* Caller holds be->lock. */
static struct obj *find(tarn_backend_t *be, tarn_ref_t ref)
{
	for (struct obj *o = be->objs; o; o = o->next)
		if (same_ref(o->ref, ref) && !o->released)
			return o;
	return NULL;
}

/* Caller holds be->lock. */
static void unlink_free(tarn_backend_t *be, struct obj *dead)
{
	for (struct obj **pp = &be->objs; *pp; pp = &(*pp)->next) {
		if (*pp == dead) {
			*pp = dead->next;
			free(dead->data);
			free(dead);
			return;
		}
	}
}

int fake_query(const tarn_host_services_t *host, char *reason,
	       size_t reason_len)
{
	(void)host;
	(void)reason;
	(void)reason_len;
	return 0;
}

int fake_open(const tarn_host_services_t *host, tarn_open_info_t *info,
	      tarn_backend_t **out)
{
	tarn_backend_t *be = calloc(1, sizeof(*be));

	if (!be)
		return TARN_ENOMEM;
	be->host = host;
	pthread_mutex_init(&be->lock, NULL);
	info->role = TARN_ROLE_DRIVER;
	info->origin = 0;
	/* The host adds pid and host name itself. */
	snprintf(info->worker, sizeof(info->worker), "fake");
	*out = be;
	return 0;
}

int fake_close(tarn_backend_t *be)
{
	struct obj *o, *next;

	if (!be)
		return 0;
	for (o = be->objs; o; o = next) {
		next = o->next;
		free(o->data);
		free(o);
	}
	pthread_mutex_destroy(&be->lock);
	free(be);
	return 0;
}

int fake_submit(tarn_backend_t *be, const tarn_task_desc_t *task)
{
	tarn_task_report_t report = { .size = sizeof(report) };

	/* Like seq: every dependency was made by an earlier, finished call. */
	be->host->run_task(be->host->host, task->payload, task->payload_len,
			   task->attempt, &report);
	return 0;
}

int fake_create(tarn_backend_t *be, tarn_ref_t ref, size_t len,
		uint32_t flags, void **data)
{
	struct obj *o = calloc(1, sizeof(*o));

	if (!o)
		return TARN_ENOMEM;
	/* One spare byte so that an empty object still has an address. */
	o->data = malloc(len + 1);
	if (!o->data) {
		free(o);
		return TARN_ENOMEM;
	}
	o->ref = ref;
	o->len = len;
	o->flags = flags;
	pthread_mutex_lock(&be->lock);
	if (find(be, ref)) {
		pthread_mutex_unlock(&be->lock);
		free(o->data);
		free(o);
		return TARN_EEXIST;
	}
	o->next = be->objs;
	be->objs = o;
	pthread_mutex_unlock(&be->lock);
	*data = o->data;
	return 0;
}

int fake_seal(tarn_backend_t *be, tarn_ref_t ref)
{
	struct obj *o;
	int rc = TARN_ENOENT;

	pthread_mutex_lock(&be->lock);
	o = find(be, ref);
	if (o) {
		o->sealed = true;
		rc = 0;
	}
	pthread_mutex_unlock(&be->lock);
	return rc;
}

int fake_fetch(tarn_backend_t *be, tarn_ref_t ref, double timeout,
	       tarn_obj_view_t *view)
{
	struct obj *o;
	int rc;

	/* Nothing runs behind the caller's back, so waiting cannot help. */
	(void)timeout;
	pthread_mutex_lock(&be->lock);
	o = find(be, ref);
	if (!o) {
		rc = TARN_ENOENT;
	} else if (!o->sealed) {
		rc = TARN_ETIMEDOUT;
	} else {
		o->pins++;
		view->data = o->data;
		view->len = o->len;
		view->flags = o->flags;
		view->token = o;
		rc = 0;
	}
	pthread_mutex_unlock(&be->lock);
	return rc;
}

void fake_unpin(tarn_backend_t *be, tarn_obj_view_t *view)
{
	struct obj *o = view->token;

	if (!o)
		return;
	pthread_mutex_lock(&be->lock);
	if (o->pins)
		o->pins--;
	if (o->released && !o->pins)
		unlink_free(be, o);
	pthread_mutex_unlock(&be->lock);
	view->token = NULL;
}

int fake_wait(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
	      size_t num_returns, double timeout, bool *ready)
{
	int count = 0;

	(void)num_returns;
	(void)timeout;
	pthread_mutex_lock(&be->lock);
	for (size_t i = 0; i < n; i++) {
		struct obj *o = find(be, refs[i]);

		if (!o) {
			pthread_mutex_unlock(&be->lock);
			return TARN_ENOENT;
		}
		if (ready)
			ready[i] = o->sealed;
		count += o->sealed;
	}
	pthread_mutex_unlock(&be->lock);
	return count;
}

int fake_release(tarn_backend_t *be, tarn_ref_t ref)
{
	struct obj *o;
	int rc = TARN_ENOENT;

	pthread_mutex_lock(&be->lock);
	o = find(be, ref);
	if (o) {
		o->released = true;
		if (!o->pins)
			unlink_free(be, o);
		rc = 0;
	}
	pthread_mutex_unlock(&be->lock);
	return rc;
}

int fake_cluster_info(tarn_backend_t *be, tarn_node_t *nodes, size_t cap,
		      size_t *n)
{
	(void)be;
	*n = 1;
	if (cap < 1)
		return 0;
	memset(&nodes[0], 0, sizeof(nodes[0]));
	snprintf(nodes[0].host, sizeof(nodes[0].host), "localhost");
	snprintf(nodes[0].ip, sizeof(nodes[0].ip), "127.0.0.1");
	nodes[0].num_cpus = 1;
	nodes[0].num_workers = 1;
	return 0;
}

int fake_put(tarn_backend_t *be, tarn_ref_t ref, const void *data, size_t len,
	     uint32_t flags)
{
	void *mem;
	int rc;

	rc = fake_create(be, ref, len, flags, &mem);
	if (rc)
		return rc;
	if (len)
		memcpy(mem, data, len);
	return fake_seal(be, ref);
}
