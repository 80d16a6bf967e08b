/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader, tested from inside libtarn: this executable links
 * libtarn's objects, so tarn_plugin_load() and friends are callable and
 * every refusal's code can be checked, not just its message. Each fake
 * plugin in plugins/ breaks one rule of <tarn/backend.h>.
 *
 * Linked statically, the loader never sees itself as the build tree's
 * libtarn, so only UNIDIST_PLUGIN_PATH and the install directory are
 * searched here; test_loader_api.c covers the build tree.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "internal.h"

#ifndef FAKE_DIR
#error "FAKE_DIR must name the folder of the fake plugins"
#endif
#ifndef SHADOW_DIR
#error "SHADOW_DIR must name the folder of the shadowing plugins"
#endif

static const char *const launcher_vars[] = {
	"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
};

static void clean_env(void)
{
	for (size_t i = 0; i < sizeof(launcher_vars) / sizeof(launcher_vars[0]); i++)
		unsetenv(launcher_vars[i]);
	tarn_config_set("UNIDIST_PLUGIN_PATH", NULL);
	unsetenv("UNIDIST_PLUGIN_PATH");
}

static void plugin_path(const char *dirs)
{
	int rc = tarn_config_set("UNIDIST_PLUGIN_PATH", dirs);

	cr_assert(eq(int, rc, 0), "tarn_config_set(UNIDIST_PLUGIN_PATH): %s",
		  tarn_last_error());
}

TestSuite(loader, .init = clean_env, .fini = clean_env);

static char *fake(const char *stem)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.so", FAKE_DIR, stem);
	return path;
}

/* The plugin's own descriptor, read the way no host should: for comparing. */
static const tarn_backend_desc_t *real_desc(void *dl)
{
	tarn_backend_entry_fn entry;

	entry = (tarn_backend_entry_fn)dlsym(dl, TARN_BACKEND_ENTRY);
	cr_assert_not_null(entry);
	return entry();
}

static bool resident(const char *path)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

	if (dl)
		dlclose(dl);
	return dl != NULL;
}

/*
 * Load @stem by path and expect refusal @code with a one-line message that
 * names the file and holds each of the NULL-terminated @needles; the
 * refused file must be unloaded again.
 */
static void expect_refusal(const char *stem, int code, ...)
{
	tarn_plugin_t *p = (tarn_plugin_t *)0x1;
	const char *path = fake(stem);
	const char *msg, *needle;
	va_list ap;
	int rc;

	rc = tarn_plugin_load(path, &p);
	msg = tarn_last_error();
	cr_assert(eq(str, (char *)tarn_err_name(rc), (char *)tarn_err_name(code)),
		  "%s: %s", stem, msg);
	cr_assert_null(p, "a refused plugin must not be handed out");
	cr_assert_null(strchr(msg, '\n'), "one line, got: %s", msg);
	cr_assert_not_null(strstr(msg, path), "names the file: %s", msg);
	cr_assert_not_null(strstr(msg, "expected"), "says what was expected: %s", msg);
	cr_assert_not_null(strstr(msg, "found"), "says what was found: %s", msg);
	va_start(ap, code);
	while ((needle = va_arg(ap, const char *)))
		cr_assert_not_null(strstr(msg, needle), "\"%s\" not in: %s",
				   needle, msg);
	va_end(ap);
	cr_assert_not(resident(path), "%s still loaded after refusal", path);
}

/* Refusals, in the order the checks run ----------------------------------- */

Test(loader, refuses_a_file_dlopen_cannot_load)
{
	expect_refusal("garbage", TARN_EPLUGIN,
		       "expected a shared object that dlopen() can load",
		       "found: ", NULL);
}

Test(loader, refuses_a_missing_file)
{
	tarn_plugin_t *p;
	int rc;

	rc = tarn_plugin_load(FAKE_DIR "/nothing-here.so", &p);
	cr_assert(eq(int, rc, TARN_EPLUGIN));
	cr_assert_null(p);
	cr_assert_not_null(strstr(tarn_last_error(), FAKE_DIR "/nothing-here.so"));
	cr_assert_not_null(strstr(tarn_last_error(), "No such file"),
			   "%s", tarn_last_error());
}

Test(loader, refuses_unresolved_symbols_at_load_time)
{
	/* RTLD_NOW: a missing dependency is found now, not mid-run. */
	expect_refusal("unresolved", TARN_EPLUGIN,
		       "undefined symbol: fake_symbol_nobody_defines", NULL);
}

Test(loader, refuses_a_plugin_without_entry_symbol)
{
	expect_refusal("nosym", TARN_EPLUGIN,
		       "expected the symbol tarn_backend_entry()",
		       "found no such symbol", NULL);
}

Test(loader, refuses_a_null_descriptor)
{
	expect_refusal("nullentry", TARN_EPLUGIN,
		       "expected tarn_backend_entry() to return a descriptor",
		       "found NULL", NULL);
}

Test(loader, refuses_another_abi_major)
{
	char expected[64], found[64];

	snprintf(expected, sizeof(expected), "expected backend ABI major %d",
		 TARN_BACKEND_ABI_MAJOR);
	snprintf(found, sizeof(found), "found ABI %d.0",
		 TARN_BACKEND_ABI_MAJOR + 1);
	expect_refusal("badmajor", TARN_EABI, expected, found, NULL);
}

Test(loader, refuses_a_descriptor_smaller_than_1_0)
{
	char expected[96], found[64];

	snprintf(expected, sizeof(expected),
		 "expected a descriptor size of at least %zu bytes",
		 TARN_BACKEND_DESC_V1_0_SIZE);
	snprintf(found, sizeof(found), "found size %zu",
		 offsetof(tarn_backend_desc_t, cluster_info));
	expect_refusal("small", TARN_EABI, expected, found, NULL);
}

Test(loader, refuses_a_name_that_is_not_the_file_stem)
{
	expect_refusal("wrongname", TARN_EPLUGIN,
		       "expected the name \"wrongname\"",
		       "found \"rightname\"", NULL);
}

Test(loader, refuses_null_mandatory_functions_naming_all_of_them)
{
	expect_refusal("nullfn", TARN_EPLUGIN,
		       "expected every mandatory function to be set",
		       "found NULL: submit, release", NULL);
}

Test(loader, actors_capability_makes_actor_functions_mandatory)
{
	expect_refusal("actorsnofn", TARN_EPLUGIN,
		       "actor_create (mandatory with capability actors)",
		       "actor_kill (mandatory with capability actors)", NULL);
}

Test(loader, multi_process_capability_makes_worker_loop_mandatory)
{
	tarn_plugin_t *p;

	expect_refusal("multinofn", TARN_EPLUGIN,
		       "found NULL: worker_loop (mandatory with capability multi-process)",
		       NULL);
	/* It does have load_library: only what is missing is named. */
	tarn_plugin_load(fake("multinofn"), &p);
	cr_assert_null(strstr(tarn_last_error(), "load_library"), "%s",
		       tarn_last_error());
}

Test(loader, a_refused_plugin_found_by_name_is_not_skipped)
{
	tarn_plugin_t *p;
	int rc;

	/* A working copy further down the path must not hide a broken one. */
	plugin_path(FAKE_DIR ":" SHADOW_DIR);
	rc = tarn_plugin_load("nosym", &p);
	cr_assert(eq(int, rc, TARN_EPLUGIN));
	cr_assert_not_null(strstr(tarn_last_error(), fake("nosym")), "%s",
			   tarn_last_error());
}

Test(loader, refuses_an_empty_name)
{
	tarn_plugin_t *p;

	cr_assert(eq(int, tarn_plugin_load("", &p), TARN_EINVAL));
	cr_assert(eq(int, tarn_plugin_load(NULL, &p), TARN_EINVAL));
	cr_assert(eq(int, tarn_plugin_load("good", NULL), TARN_EINVAL));
}

/* Unknown names ------------------------------------------------------------ */

Test(loader, unknown_name_lists_the_backends_that_exist)
{
	const char *msg;
	tarn_plugin_t *p;
	int rc;

	plugin_path(FAKE_DIR);
	rc = tarn_plugin_load("nosuchbackend", &p);
	msg = tarn_last_error();
	cr_assert(eq(int, rc, TARN_ENOENT), "%s", msg);
	cr_assert_null(p);
	cr_assert_null(strchr(msg, '\n'), "%s", msg);
	cr_assert_not_null(strstr(msg, "unknown backend \"nosuchbackend\""), "%s", msg);
	/* Sorted, including files that would be refused: they exist. */
	cr_assert_not_null(strstr(msg, "expected one of: actorsnofn, badmajor, declines, garbage, good, "),
			   "%s", msg);
	cr_assert_not_null(strstr(msg, "found no nosuchbackend.so in " FAKE_DIR ", "),
			   "%s", msg);
	cr_assert_not_null(strstr(msg, TARN_INSTALL_PLUGIN_DIR), "%s", msg);
}

Test(loader, unknown_name_that_looks_like_a_file_gets_a_hint)
{
	tarn_plugin_t *p;

	plugin_path(FAKE_DIR);
	cr_assert(eq(int, tarn_plugin_load("good.so", &p), TARN_ENOENT));
	cr_assert_not_null(strstr(tarn_last_error(), "a path needs a '/'"),
			   "%s", tarn_last_error());
}

/* Accepted plugins ------------------------------------------------------ */

Test(loader, loads_a_good_plugin_by_name_and_by_path)
{
	tarn_plugin_t *p;
	int rc;

	plugin_path(FAKE_DIR);
	rc = tarn_plugin_load("good", &p);
	cr_assert(eq(int, rc, 0), "%s", tarn_last_error());
	cr_assert(eq(str, p->name, "good"));
	cr_assert(eq(str, p->path, fake("good")));
	cr_assert(eq(str, (char *)p->desc.version, "1.0.0"));
	cr_assert(eq(u64, p->desc.caps, TARN_CAP_DETERMINISTIC));
	cr_assert_not_null(p->desc.query);
	cr_assert_null(p->desc.put, "put is optional and this plugin has none");
	tarn_plugin_unload(p);
	cr_assert_not(resident(fake("good")), "unload must dlclose");

	rc = tarn_plugin_load(fake("good"), &p);
	cr_assert(eq(int, rc, 0), "%s", tarn_last_error());
	cr_assert(eq(str, p->name, "good"));
	tarn_plugin_unload(p);
	tarn_plugin_unload(NULL);
}

static const char *test_config_get(tarn_host_t *host, const char *name)
{
	(void)host;
	(void)name;
	return "";
}

static void test_log(tarn_host_t *host, int level, const char *msg)
{
	(void)host;
	(void)level;
	cr_log_info("plugin says: %s", msg);
}

static const tarn_host_services_t test_services = {
	.abi_major = TARN_BACKEND_ABI_MAJOR,
	.abi_minor = TARN_BACKEND_ABI_MINOR,
	.size = sizeof(tarn_host_services_t),
	.config_get = test_config_get,
	.log = test_log,
};

Test(loader, accepts_a_newer_minor_reading_only_the_known_prefix)
{
	const tarn_backend_desc_t *real;
	tarn_open_info_t info = { .size = sizeof(info) };
	tarn_obj_view_t view = { 0 };
	tarn_ref_t ref = { .origin = 0, .seq = 1 };
	tarn_backend_t *be;
	tarn_plugin_t *p;
	int rc;

	rc = tarn_plugin_load(fake("newer"), &p);
	cr_assert(eq(int, rc, 0), "%s", tarn_last_error());
	real = real_desc(p->dl);
	cr_assert(gt(u32, real->size, (uint32_t)sizeof(tarn_backend_desc_t)),
		  "the fake must really be larger than this host's table");
	cr_assert(eq(u32, p->desc.abi_minor, TARN_BACKEND_ABI_MINOR + 1));
	cr_assert(eq(u32, p->desc.size, real->size));
	cr_assert(eq(int, memcmp(&p->desc, real, sizeof(p->desc)), 0),
		  "every field this host knows is copied as the plugin set it");
	cr_assert(eq(str, (char *)p->desc.description,
		     "fake plugin from a newer minor ABI"));
	cr_assert(eq(u64, p->desc.caps,
		     TARN_CAP_DETERMINISTIC | TARN_CAP_ZERO_COPY));

	/* The optional put is there, and it is the plugin's working one. */
	cr_assert_not_null(p->desc.put);
	rc = p->desc.open(&test_services, &info, &be);
	cr_assert(eq(int, rc, 0));
	cr_assert(eq(int, p->desc.put(be, ref, "pond", 5, 0), 0));
	cr_assert(eq(int, p->desc.fetch(be, ref, 0, &view), 0));
	cr_assert(eq(sz, view.len, 5));
	cr_assert(eq(str, (char *)view.data, "pond"));
	p->desc.unpin(be, &view);
	cr_assert(eq(int, p->desc.release(be, ref), 0));
	cr_assert(eq(int, p->desc.close(be), 0));
	tarn_plugin_unload(p);
}

Test(loader, an_older_plugin_reads_as_null_past_its_size)
{
	const tarn_backend_desc_t *real;
	const unsigned char *bytes;
	tarn_plugin_t *p;
	int rc;

	rc = tarn_plugin_load(fake("old"), &p);
	cr_assert(eq(int, rc, 0), "%s", tarn_last_error());
	real = real_desc(p->dl);
	cr_assert(eq(u32, p->desc.size, (uint32_t)TARN_BACKEND_DESC_V1_0_SIZE));
	cr_assert(eq(int, memcmp(&p->desc, real, TARN_BACKEND_DESC_V1_0_SIZE), 0));
	cr_assert_null(p->desc.put);
	/*
	 * The fake keeps non-NULL junk right after its 1.0 table. Once a
	 * later minor appends fields, they lie there and must read as zero.
	 */
	bytes = (const unsigned char *)&p->desc;
	for (size_t i = TARN_BACKEND_DESC_V1_0_SIZE; i < sizeof(p->desc); i++)
		cr_assert(eq(u8, bytes[i], 0), "byte %zu past the plugin's size", i);
	tarn_plugin_unload(p);
}

/* Search order ------------------------------------------------------------ */

Test(loader, earlier_plugin_path_folder_wins)
{
	tarn_plugin_t *p;

	plugin_path(SHADOW_DIR ":" FAKE_DIR);
	cr_assert(eq(int, tarn_plugin_load("good", &p), 0), "%s", tarn_last_error());
	cr_assert(eq(str, p->path, SHADOW_DIR "/good.so"));
	cr_assert(eq(str, (char *)p->desc.version, "shadow"));
	tarn_plugin_unload(p);

	plugin_path(FAKE_DIR ":" SHADOW_DIR);
	cr_assert(eq(int, tarn_plugin_load("good", &p), 0), "%s", tarn_last_error());
	cr_assert(eq(str, p->path, FAKE_DIR "/good.so"));
	cr_assert(eq(str, (char *)p->desc.version, "1.0.0"));
	tarn_plugin_unload(p);
}

Test(loader, empty_plugin_path_entries_are_skipped)
{
	tarn_plugin_t *p;

	plugin_path("::" FAKE_DIR ":");
	cr_assert(eq(int, tarn_plugin_load("good", &p), 0), "%s", tarn_last_error());
	cr_assert(eq(str, p->path, FAKE_DIR "/good.so"));
	tarn_plugin_unload(p);
}

Test(loader, plugin_path_from_the_environment)
{
	tarn_plugin_t *p;

	setenv("UNIDIST_PLUGIN_PATH", SHADOW_DIR, 1);
	cr_assert(eq(int, tarn_plugin_load("good", &p), 0), "%s", tarn_last_error());
	cr_assert(eq(str, p->path, SHADOW_DIR "/good.so"));
	tarn_plugin_unload(p);
}

/* Whether an installation of tarn on this machine has plugin @name. */
static bool installed(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.so", TARN_INSTALL_PLUGIN_DIR, name);
	f = fopen(path, "r");
	if (f)
		fclose(f);
	return f != NULL;
}

Test(loader, build_tree_is_only_for_the_build_trees_libtarn)
{
	tarn_plugin_t *p;

	/*
	 * This libtarn is linked into the test, not the build tree's, so the
	 * seq plugin built next to core/ must not be found by name.
	 */
	if (installed("seq"))
		cr_skip_test("a seq plugin is installed in " TARN_INSTALL_PLUGIN_DIR);
	cr_assert(eq(int, tarn_plugin_load("seq", &p), TARN_ENOENT), "%s",
		  tarn_last_error());
	cr_assert_null(strstr(tarn_last_error(), TARN_BUILD_PLUGIN_DIR), "%s",
		       tarn_last_error());
}

/* Default backend ------------------------------------------------------------ */

Test(loader, default_is_mpi_under_a_launcher)
{
	const char *local = installed("procpool") ? "procpool" : "seq";

	for (size_t i = 0; i < sizeof(launcher_vars) / sizeof(launcher_vars[0]); i++) {
		clean_env();
		cr_assert(eq(str, (char *)tarn_plugin_default(), (char *)local));
		setenv(launcher_vars[i], "0", 1);
		cr_assert(eq(str, (char *)tarn_plugin_default(), "mpi"),
			  "with %s set", launcher_vars[i]);
	}
}

Test(loader, default_is_procpool_when_it_can_be_found)
{
	if (installed("procpool"))
		cr_skip_test("procpool is installed: it is always found");
	plugin_path(FAKE_DIR);
	cr_assert(eq(str, (char *)tarn_plugin_default(), "seq"));
	plugin_path(SHADOW_DIR);
	cr_assert(eq(str, (char *)tarn_plugin_default(), "procpool"));
}

/* Capability names ------------------------------------------------------------ */

Test(loader, every_capability_bit_has_a_name)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} caps[] = {
		{ TARN_CAP_MULTI_PROCESS, "multi-process" },
		{ TARN_CAP_MULTI_NODE, "multi-node" },
		{ TARN_CAP_ACTORS, "actors" },
		{ TARN_CAP_ZERO_COPY, "zero-copy" },
		{ TARN_CAP_SPAWN, "spawn" },
		{ TARN_CAP_PREEMPT, "preempt" },
		{ TARN_CAP_FAULT_TOLERANT, "fault-tolerant" },
		{ TARN_CAP_DETERMINISTIC, "deterministic" },
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		cr_assert(eq(str, (char *)tarn_backend_cap_name(caps[i].bit),
			     (char *)caps[i].name));
	cr_assert_null(tarn_backend_cap_name(0));
	cr_assert_null(tarn_backend_cap_name(UINT64_C(1) << 40));
	cr_assert_null(tarn_backend_cap_name(TARN_CAP_ACTORS | TARN_CAP_SPAWN));
}

/* tarn_backend_list --------------------------------------------------------- */

static const tarn_backend_info_t *entry(const tarn_backend_info_t *list,
					size_t n, const char *name)
{
	const tarn_backend_info_t *found = NULL;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].name, name) == 0) {
			cr_assert_null(found, "%s listed twice", name);
			found = &list[i];
		}
	}
	cr_assert_not_null(found, "%s not listed", name);
	return found;
}

Test(loader, list_describes_every_fake)
{
	static const char *const refused[] = {
		"actorsnofn", "badmajor", "garbage", "multinofn", "nosym",
		"nullentry", "nullfn", "small", "unresolved", "wrongname",
	};
	const tarn_backend_info_t *e;
	tarn_backend_info_t *list;
	size_t n;

	plugin_path(FAKE_DIR);
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	for (size_t i = 1; i < n; i++)
		cr_assert(lt(str, (char *)list[i - 1].name, (char *)list[i].name),
			  "sorted by name");

	e = entry(list, n, "good");
	cr_assert(eq(str, (char *)e->path, fake("good")));
	cr_assert(eq(str, (char *)e->version, "1.0.0"));
	cr_assert(eq(str, (char *)e->description, "fake plugin that passes every check"));
	cr_assert(eq(u32, e->abi_major, TARN_BACKEND_ABI_MAJOR));
	cr_assert(eq(u32, e->abi_minor, TARN_BACKEND_ABI_MINOR));
	cr_assert(eq(u64, e->caps, TARN_CAP_DETERMINISTIC));
	cr_assert(e->loadable);
	cr_assert(e->available);
	cr_assert(eq(str, (char *)e->reason, ""));

	e = entry(list, n, "declines");
	cr_assert(e->loadable);
	cr_assert_not(e->available);
	cr_assert(eq(str, (char *)e->reason,
		     "needs the fake interconnect, found none on this host"));
	cr_assert(eq(u64, e->caps, TARN_CAP_MULTI_NODE | TARN_CAP_SPAWN));

	e = entry(list, n, "newer");
	cr_assert(e->loadable && e->available);
	cr_assert(eq(u32, e->abi_minor, TARN_BACKEND_ABI_MINOR + 1));

	e = entry(list, n, "openfail");
	cr_assert(e->loadable && e->available, "query() is not open()");

	e = entry(list, n, "badmajor");
	cr_assert_not(e->loadable);
	cr_assert(eq(u32, e->abi_major, TARN_BACKEND_ABI_MAJOR + 1),
		  "a refused plugin's ABI is still reported");
	cr_assert_not_null(strstr(e->reason, "expected backend ABI major"));
	cr_assert(eq(u64, e->caps, 0), "caps of another major mean nothing");

	e = entry(list, n, "actorsnofn");
	cr_assert(eq(u64, e->caps, TARN_CAP_ACTORS),
		  "the claim that makes it refused is shown");

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		e = entry(list, n, refused[i]);
		cr_assert_not(e->loadable, "%s", refused[i]);
		cr_assert_not(e->available, "%s", refused[i]);
		cr_assert(eq(str, (char *)e->version, ""), "%s", refused[i]);
		cr_assert_not_null(strstr(e->reason, e->path), "%s: %s",
				   refused[i], e->reason);
		cr_assert_not(resident(e->path), "%s left loaded", refused[i]);
	}
	tarn_backend_list_free(list, n);
}

Test(loader, list_shows_the_plugin_a_name_selects)
{
	tarn_backend_info_t *list;
	const tarn_backend_info_t *e;
	size_t n;

	plugin_path(SHADOW_DIR ":" FAKE_DIR);
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	e = entry(list, n, "good");
	cr_assert(eq(str, (char *)e->path, SHADOW_DIR "/good.so"));
	cr_assert(eq(str, (char *)e->version, "shadow"));
	entry(list, n, "nosym");
	entry(list, n, "procpool");
	tarn_backend_list_free(list, n);
}

Test(loader, list_keeps_the_callers_last_error)
{
	tarn_backend_info_t *list;
	size_t n;

	plugin_path(FAKE_DIR);
	tarn_error(TARN_EIO, "an earlier failure");
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	cr_assert(gt(sz, n, 0));
	cr_assert(eq(str, (char *)tarn_last_error(), "an earlier failure"));
	tarn_backend_list_free(list, n);
}

Test(loader, list_of_an_empty_folder)
{
	tarn_backend_info_t *list = (tarn_backend_info_t *)0x1;
	size_t n = 99;

	plugin_path("/nonexistent/tarn-plugins");
	cr_assert(eq(int, tarn_backend_list(&list, &n), 0));
	/* Only the install directory is left; it may hold real plugins. */
	for (size_t i = 0; i < n; i++)
		cr_assert_not_null(strstr(list[i].path, TARN_INSTALL_PLUGIN_DIR));
	cr_assert(n > 0 || list == NULL);
	tarn_backend_list_free(list, n);
	tarn_backend_list_free(NULL, 0);
	cr_assert(eq(int, tarn_backend_list(NULL, &n), TARN_EINVAL));
}
