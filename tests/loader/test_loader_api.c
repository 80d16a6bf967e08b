/* SPDX-License-Identifier: MIT */
/*
 * The loader through the public API only, with the build tree's libtarn:
 * that one also finds the plugins built next to it, so this is where the
 * search order against the build tree, and tarn_init() with a plugin that
 * loads but cannot start, are checked.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <tarn/backend.h>
#include <tarn/tarn.h>

#ifndef FAKE_DIR
#error "FAKE_DIR must name the folder of the fake plugins"
#endif
#ifndef SHADOW_DIR
#error "SHADOW_DIR must name the folder of the shadowing plugins"
#endif
#ifndef BUILD_PLUGIN_DIR
#error "BUILD_PLUGIN_DIR must name the build tree's plugins folder"
#endif

static void reset(void)
{
	tarn_shutdown();
	tarn_config_set("UNIDIST_PLUGIN_PATH", NULL);
	tarn_config_set("UNIDIST_BACKEND", NULL);
}

TestSuite(loader_api, .init = reset, .fini = reset);

static void set(const char *name, const char *value)
{
	int rc = tarn_config_set(name, value);

	cr_assert(eq(int, rc, 0), "tarn_config_set(%s, %s): %s", name, value,
		  tarn_last_error());
}

static const tarn_backend_info_t *find(const tarn_backend_info_t *list,
				       size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

static bool built(const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s.so", BUILD_PLUGIN_DIR, name, name);
	return stat(path, &st) == 0;
}

Test(loader_api, build_tree_plugins_are_found_after_the_plugin_path)
{
	const tarn_backend_info_t *e;
	tarn_backend_info_t *list;
	size_t n;

	if (!built("seq"))
		cr_skip_test("the seq plugin is not built");

	/* Nothing on the path: seq comes from the build tree. */
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	e = find(list, n, "seq");
	cr_assert_not_null(e, "seq not found in the build tree");
	cr_assert(eq(str, (char *)e->path, BUILD_PLUGIN_DIR "/seq/seq.so"));
	cr_assert(e->loadable, "%s", e->reason);
	cr_assert(e->available, "%s", e->reason);
	cr_assert_null(find(list, n, "good"), "fakes only come from the path");
	tarn_backend_list_free(list, n);

	/* A seq on the path wins over the build tree's. */
	set("UNIDIST_PLUGIN_PATH", SHADOW_DIR);
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	e = find(list, n, "seq");
	cr_assert_not_null(e);
	cr_assert(eq(str, (char *)e->path, SHADOW_DIR "/seq.so"));
	cr_assert(eq(str, (char *)e->version, "shadow"));
	tarn_backend_list_free(list, n);
}

Test(loader_api, init_selects_the_plugin_path_copy_by_name)
{
	if (!built("seq"))
		cr_skip_test("the seq plugin is not built");
	set("UNIDIST_PLUGIN_PATH", SHADOW_DIR);
	set("UNIDIST_BACKEND", "seq");
	cr_assert(eq(int, tarn_init(NULL), 0), "%s", tarn_last_error());
	cr_assert(eq(str, (char *)tarn_backend_name(), "seq"));
	tarn_shutdown();
}

Test(loader_api, list_includes_the_fakes_from_the_plugin_path)
{
	const tarn_backend_info_t *e;
	tarn_backend_info_t *list;
	size_t n;

	set("UNIDIST_PLUGIN_PATH", FAKE_DIR);
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	e = find(list, n, "good");
	cr_assert_not_null(e);
	cr_assert(e->loadable && e->available, "%s", e->reason);
	e = find(list, n, "declines");
	cr_assert_not_null(e);
	cr_assert(e->loadable && !e->available);
	cr_assert_not_null(strstr(e->reason, "fake interconnect"));
	e = find(list, n, "nosym");
	cr_assert_not_null(e);
	cr_assert_not(e->loadable);
	tarn_backend_list_free(list, n);
}

Test(loader_api, init_with_a_plugin_whose_open_fails)
{
	const char *msg;
	int rc;

	set("UNIDIST_BACKEND", FAKE_DIR "/openfail.so");
	rc = tarn_init(NULL);
	msg = tarn_last_error();
	cr_assert(lt(int, rc, 0));
	cr_assert_not(tarn_is_initialized());
	cr_assert_null(tarn_backend_name());
	cr_assert_not_null(strstr(msg, "openfail"), "%s", msg);
	cr_assert_not_null(strstr(msg, "failed to start"), "%s", msg);
	cr_assert_not_null(strstr(msg, "the fake workers: they never start"),
			   "the plugin's own reason: %s", msg);
	cr_assert_null(strchr(msg, '\n'), "%s", msg);

	/* Nothing is left behind: another backend starts cleanly after. */
	set("UNIDIST_BACKEND", FAKE_DIR "/good.so");
	cr_assert(eq(int, tarn_init(NULL), 0), "%s", tarn_last_error());
	cr_assert(eq(str, (char *)tarn_backend_name(), "good"));
	cr_assert(eq(int, tarn_shutdown(), 0));
}

Test(loader_api, init_reports_the_loader_refusal)
{
	int rc;

	set("UNIDIST_BACKEND", FAKE_DIR "/badmajor.so");
	rc = tarn_init(NULL);
	cr_assert(eq(int, rc, TARN_EABI), "%s", tarn_last_error());
	cr_assert_not(tarn_is_initialized());
	cr_assert_not_null(strstr(tarn_last_error(), FAKE_DIR "/badmajor.so"));
	cr_assert_not_null(strstr(tarn_last_error(), "expected backend ABI major"));

	set("UNIDIST_BACKEND", FAKE_DIR "/wrongname.so");
	cr_assert(eq(int, tarn_init(NULL), TARN_EPLUGIN), "%s", tarn_last_error());
	cr_assert_not(tarn_is_initialized());
}

Test(loader_api, init_reports_an_unknown_name_with_the_choices)
{
	set("UNIDIST_PLUGIN_PATH", FAKE_DIR);
	set("UNIDIST_BACKEND", "nosuchbackend");
	cr_assert(eq(int, tarn_init(NULL), TARN_ENOENT), "%s", tarn_last_error());
	cr_assert_not_null(strstr(tarn_last_error(), "good"), "%s",
			   tarn_last_error());
}

Test(loader_api, init_reports_a_declining_query)
{
	set("UNIDIST_PLUGIN_PATH", FAKE_DIR);
	set("UNIDIST_BACKEND", "declines");
	cr_assert(eq(int, tarn_init(NULL), TARN_EUNAVAIL), "%s", tarn_last_error());
	cr_assert_not_null(strstr(tarn_last_error(), "fake interconnect"), "%s",
			   tarn_last_error());
	cr_assert_not(tarn_is_initialized());
}

Test(loader_api, a_newer_minor_plugin_runs)
{
	tarn_object_t *obj;
	tarn_ref_t ref;

	set("UNIDIST_BACKEND", FAKE_DIR "/newer.so");
	cr_assert(eq(int, tarn_init(NULL), 0), "%s", tarn_last_error());
	cr_assert(eq(int, tarn_put("ripple", 7, &ref), 0), "%s", tarn_last_error());
	cr_assert(eq(int, tarn_get(ref, 1.0, &obj), 0), "%s", tarn_last_error());
	cr_assert(eq(sz, tarn_object_size(obj), 7));
	cr_assert(eq(str, (char *)tarn_object_data(obj), "ripple"));
	tarn_object_release(obj);
	cr_assert(eq(int, tarn_ref_release(ref), 0));
	cr_assert(eq(int, tarn_shutdown(), 0));
}
