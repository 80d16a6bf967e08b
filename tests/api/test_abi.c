/* SPDX-License-Identifier: MIT */
/*
 * The ABI 1.0 layout, pinned. Plugins built against tarn 0.1 read these
 * structs at these offsets forever: a field may only be appended (and the
 * size pins below updated in the same commit that documents the new minor
 * in docs/plugin-abi.md). Moving or inserting a field fails this build.
 * The numbers are for LP64 (x86_64, aarch64 Linux), the platforms tarn
 * supports.
 */
#include <criterion/criterion.h>
#include <stddef.h>

#include <tarn/backend.h>

#if defined(__LP64__)
#define PIN(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " moved: the ABI is append-only")
/* Sizes may only grow, by appending. */
#define SIZE(type, size) \
	_Static_assert(sizeof(type) >= (size), #type " shrank: the ABI is append-only")
#define PIN_V1_0(size) \
	_Static_assert(TARN_BACKEND_DESC_V1_0_SIZE == (size), "the 1.0 descriptor prefix changed")

static void pins(void)
{
	SIZE(tarn_backend_desc_t, 208);
	PIN(tarn_backend_desc_t, abi_major, 0);
	PIN(tarn_backend_desc_t, abi_minor, 4);
	PIN(tarn_backend_desc_t, size, 8);
	PIN(tarn_backend_desc_t, name, 16);
	PIN(tarn_backend_desc_t, version, 24);
	PIN(tarn_backend_desc_t, description, 32);
	PIN(tarn_backend_desc_t, caps, 40);
	PIN(tarn_backend_desc_t, query, 48);
	PIN(tarn_backend_desc_t, open, 56);
	PIN(tarn_backend_desc_t, close, 64);
	PIN(tarn_backend_desc_t, submit, 72);
	PIN(tarn_backend_desc_t, create, 80);
	PIN(tarn_backend_desc_t, seal, 88);
	PIN(tarn_backend_desc_t, fetch, 96);
	PIN(tarn_backend_desc_t, unpin, 104);
	PIN(tarn_backend_desc_t, wait, 112);
	PIN(tarn_backend_desc_t, release, 120);
	PIN(tarn_backend_desc_t, cluster_info, 128);
	PIN(tarn_backend_desc_t, worker_loop, 136);
	PIN(tarn_backend_desc_t, load_library, 144);
	PIN(tarn_backend_desc_t, actor_create, 152);
	PIN(tarn_backend_desc_t, actor_kill, 160);
	PIN(tarn_backend_desc_t, put, 168);
	PIN(tarn_backend_desc_t, submit_batch, 176);
	PIN(tarn_backend_desc_t, fetch_batch, 184);
	PIN(tarn_backend_desc_t, unpin_batch, 192);
	PIN(tarn_backend_desc_t, release_batch, 200);
	SIZE(tarn_host_services_t, 96);
	PIN(tarn_host_services_t, abi_major, 0);
	PIN(tarn_host_services_t, size, 8);
	PIN(tarn_host_services_t, host, 16);
	PIN(tarn_host_services_t, config_get, 24);
	PIN(tarn_host_services_t, log, 32);
	PIN(tarn_host_services_t, run_task, 40);
	PIN(tarn_host_services_t, task_lost, 48);
	PIN(tarn_host_services_t, task_done, 56);
	PIN(tarn_host_services_t, actor_destroy, 64);
	PIN(tarn_host_services_t, now_ns, 72);
	PIN(tarn_host_services_t, self_exe, 80);
	PIN(tarn_host_services_t, set_error, 88);
	SIZE(tarn_task_desc_t, 168);
	PIN(tarn_task_desc_t, id, 8);
	PIN(tarn_task_desc_t, kind, 24);
	PIN(tarn_task_desc_t, name, 32);
	PIN(tarn_task_desc_t, actor, 40);
	PIN(tarn_task_desc_t, attempt, 56);
	PIN(tarn_task_desc_t, max_retries, 60);
	PIN(tarn_task_desc_t, retry_on_error, 64);
	PIN(tarn_task_desc_t, timeout, 72);
	PIN(tarn_task_desc_t, num_cpus, 80);
	PIN(tarn_task_desc_t, num_gpus, 88);
	PIN(tarn_task_desc_t, memory, 96);
	PIN(tarn_task_desc_t, resources, 104);
	PIN(tarn_task_desc_t, num_resources, 112);
	PIN(tarn_task_desc_t, deps, 120);
	PIN(tarn_task_desc_t, num_deps, 128);
	PIN(tarn_task_desc_t, returns, 136);
	PIN(tarn_task_desc_t, num_returns, 144);
	PIN(tarn_task_desc_t, payload, 152);
	PIN(tarn_task_desc_t, payload_len, 160);
	SIZE(tarn_obj_view_t, 32);
	PIN(tarn_obj_view_t, data, 0);
	PIN(tarn_obj_view_t, len, 8);
	PIN(tarn_obj_view_t, flags, 16);
	PIN(tarn_obj_view_t, token, 24);
	SIZE(tarn_task_report_t, 48);
	PIN(tarn_task_report_t, status, 8);
	PIN(tarn_task_report_t, attempt, 12);
	PIN(tarn_task_report_t, start_ns, 16);
	PIN(tarn_task_report_t, end_ns, 24);
	PIN(tarn_task_report_t, bytes_in, 32);
	PIN(tarn_task_report_t, bytes_out, 40);
	SIZE(tarn_failure_t, 40);
	PIN(tarn_failure_t, kind, 8);
	PIN(tarn_failure_t, signal, 12);
	PIN(tarn_failure_t, exit_status, 16);
	PIN(tarn_failure_t, worker, 24);
	PIN(tarn_failure_t, detail, 32);
	SIZE(tarn_open_info_t, 136);
	PIN(tarn_open_info_t, argc, 8);
	PIN(tarn_open_info_t, argv, 16);
	PIN(tarn_open_info_t, role, 24);
	PIN(tarn_open_info_t, origin, 32);
	PIN(tarn_open_info_t, worker, 40);
	SIZE(tarn_ref_t, 16);
	SIZE(tarn_actor_t, 16);
	SIZE(tarn_node_t, 344);
	PIN(tarn_node_t, ip, 256);
	PIN(tarn_node_t, num_cpus, 320);
	PIN(tarn_node_t, memory, 328);
	PIN(tarn_node_t, num_workers, 336);
	SIZE(tarn_resource_t, 16);
	PIN_V1_0(176);
}
#endif

Test(abi, version_is_1_x)
{
	cr_assert_eq(TARN_BACKEND_ABI_MAJOR, 1);
	cr_assert_geq(TARN_BACKEND_ABI_MINOR, 0);
#if defined(__LP64__)
	pins(); /* the checks are the _Static_asserts above */
#endif
}

Test(abi, v1_0_prefix_ends_after_put)
{
	cr_assert_eq(TARN_BACKEND_DESC_V1_0_SIZE,
		     offsetof(tarn_backend_desc_t, put) + sizeof(void (*)(void)));
	cr_assert_leq(TARN_BACKEND_DESC_V1_0_SIZE, sizeof(tarn_backend_desc_t));
}

Test(abi, v1_1_appends_submit_batch_after_the_v1_0_prefix)
{
	cr_assert_eq(offsetof(tarn_backend_desc_t, submit_batch), TARN_BACKEND_DESC_V1_0_SIZE);
	cr_assert_eq(TARN_BACKEND_DESC_V1_1_SIZE,
		     offsetof(tarn_backend_desc_t, submit_batch) + sizeof(void (*)(void)));
	cr_assert_leq(TARN_BACKEND_DESC_V1_1_SIZE, sizeof(tarn_backend_desc_t));
}

Test(abi, v1_2_appends_the_batch_object_calls_after_the_v1_1_prefix)
{
	cr_assert_eq(offsetof(tarn_backend_desc_t, fetch_batch), TARN_BACKEND_DESC_V1_1_SIZE);
	cr_assert_eq(offsetof(tarn_backend_desc_t, unpin_batch),
		     offsetof(tarn_backend_desc_t, fetch_batch) + sizeof(void (*)(void)));
	cr_assert_eq(offsetof(tarn_backend_desc_t, release_batch),
		     offsetof(tarn_backend_desc_t, unpin_batch) + sizeof(void (*)(void)));
	cr_assert_eq(TARN_BACKEND_DESC_V1_2_SIZE,
		     offsetof(tarn_backend_desc_t, release_batch) + sizeof(void (*)(void)));
	cr_assert_eq(TARN_BACKEND_DESC_V1_2_SIZE, sizeof(tarn_backend_desc_t));
}
