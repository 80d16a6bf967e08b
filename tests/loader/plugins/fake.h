/* SPDX-License-Identifier: MIT */
/*
 * A tiny in-process backend shared by the fake plugins (fake.c): enough for
 * a test to open one, put an object and read it back, or to run tasks the
 * way seq does. The plugins differ only in the descriptor they build around
 * these functions, which is how each one breaks one loader rule.
 *
 * Fake plugins see only the public headers, like any third-party plugin.
 */
#ifndef FAKE_H
#define FAKE_H

#include <tarn/backend.h>

int fake_query(const tarn_host_services_t *host, char *reason,
	       size_t reason_len);
int fake_open(const tarn_host_services_t *host, tarn_open_info_t *info,
	      tarn_backend_t **out);
int fake_close(tarn_backend_t *be);
int fake_submit(tarn_backend_t *be, const tarn_task_desc_t *task);
int fake_create(tarn_backend_t *be, tarn_ref_t ref, size_t len,
		uint32_t flags, void **data);
int fake_seal(tarn_backend_t *be, tarn_ref_t ref);
int fake_fetch(tarn_backend_t *be, tarn_ref_t ref, double timeout,
	       tarn_obj_view_t *view);
void fake_unpin(tarn_backend_t *be, tarn_obj_view_t *view);
int fake_wait(tarn_backend_t *be, const tarn_ref_t *refs, size_t n,
	      size_t num_returns, double timeout, bool *ready);
int fake_release(tarn_backend_t *be, tarn_ref_t ref);
int fake_cluster_info(tarn_backend_t *be, tarn_node_t *nodes, size_t cap,
		      size_t *n);
int fake_put(tarn_backend_t *be, tarn_ref_t ref, const void *data, size_t len,
	     uint32_t flags);

/* The header fields every fake shares; each plugin adds name and caps. */
#define FAKE_HEADER                                  \
	.abi_major = TARN_BACKEND_ABI_MAJOR,         \
	.abi_minor = TARN_BACKEND_ABI_MINOR,         \
	.size = sizeof(tarn_backend_desc_t)

/* The mandatory 1.0 functions, all set. */
#define FAKE_FUNCS                                   \
	.query = fake_query, .open = fake_open,      \
	.close = fake_close, .submit = fake_submit,  \
	.create = fake_create, .seal = fake_seal,    \
	.fetch = fake_fetch, .unpin = fake_unpin,    \
	.wait = fake_wait, .release = fake_release,  \
	.cluster_info = fake_cluster_info

#endif /* FAKE_H */
