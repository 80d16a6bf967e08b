/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: finds backend plugins, checks each against the ABI
 * before trusting anything in it, and keeps a private copy of its
 * descriptor.
 *
 * Where plugins are looked for, in this order (the first folder that has
 * <name>.so wins, even when that file is then refused: silently falling
 * through to another copy would hide the broken one from the user):
 *
 *   1. each folder of UNIDIST_PLUGIN_PATH (colon-separated), as <dir>/<name>.so
 *   2. the build tree, only when this libtarn is the one in the build tree,
 *      as TARN_BUILD_PLUGIN_DIR/<name>/<name>.so (meson puts each plugin in
 *      a folder of its own)
 *   3. TARN_INSTALL_PLUGIN_DIR/<name>.so
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "internal.h"

#define PLUGIN_SUFFIX ".so"

struct folder {
	char *dir;
	bool nested; /* build tree layout: <dir>/<name>/<name>.so */
};

/* What a refused plugin still told us, for tarn_backend_list(). */
struct probe {
	bool have_abi;
	uint32_t abi_major;
	uint32_t abi_minor;
	uint64_t caps; /* once the descriptor's layout is known to be ours */
};

static void folder_clear(gpointer data)
{
	struct folder *f = data;

	g_free(f->dir);
}

/*
 * The build tree's plugins are only for the build tree's libtarn: an
 * installed libtarn must never pick up whatever happens to lie in the
 * folder it was once built in.
 */
static bool running_from_build_tree(void)
{
	char real_lib[PATH_MAX], real_core[PATH_MAX];
	Dl_info info;
	char *dir;
	bool same;

	if (!dladdr((const void *)tarn_plugin_load, &info) || !info.dli_fname)
		return false;
	dir = g_path_get_dirname(info.dli_fname);
	same = realpath(dir, real_lib) &&
	       realpath(TARN_BUILD_CORE_DIR, real_core) &&
	       strcmp(real_lib, real_core) == 0;
	g_free(dir);
	return same;
}

static GArray *search_folders(void)
{
	GArray *folders = g_array_new(FALSE, TRUE, sizeof(struct folder));
	const char *path = tarn_config_value("UNIDIST_PLUGIN_PATH");
	struct folder f;

	g_array_set_clear_func(folders, folder_clear);
	if (path && *path) {
		char **dirs = g_strsplit(path, ":", -1);

		/* "a::b" and a trailing ':' name no folder; skip them. */
		for (char **d = dirs; *d; d++) {
			if (!**d)
				continue;
			f.dir = g_strdup(*d);
			f.nested = false;
			g_array_append_val(folders, f);
		}
		g_strfreev(dirs);
	}
	if (running_from_build_tree()) {
		f.dir = g_strdup(TARN_BUILD_PLUGIN_DIR);
		f.nested = true;
		g_array_append_val(folders, f);
	}
	f.dir = g_strdup(TARN_INSTALL_PLUGIN_DIR);
	f.nested = false;
	g_array_append_val(folders, f);
	return folders;
}

static char *candidate(const struct folder *f, const char *name)
{
	g_autofree char *file = g_strconcat(name, PLUGIN_SUFFIX, NULL);

	if (f->nested)
		return g_build_filename(f->dir, name, file, NULL);
	return g_build_filename(f->dir, file, NULL);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file a built-in name resolves to, or NULL. */
static char *find_plugin(GArray *folders, const char *name)
{
	for (guint i = 0; i < folders->len; i++) {
		char *path = candidate(&g_array_index(folders, struct folder, i),
				       name);

		if (is_file(path))
			return path;
		g_free(path);
	}
	return NULL;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the plugins in one folder, sorted (readdir order is arbitrary). */
static GPtrArray *scan_folder(const struct folder *f)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	struct dirent *e;
	DIR *d;

	d = opendir(f->dir);
	if (!d)
		return names;
	while ((e = readdir(d))) {
		char *name, *path;

		if (e->d_name[0] == '.')
			continue;
		if (f->nested) {
			name = g_strdup(e->d_name);
		} else {
			if (!g_str_has_suffix(e->d_name, PLUGIN_SUFFIX))
				continue;
			name = g_strndup(e->d_name, strlen(e->d_name) -
						    strlen(PLUGIN_SUFFIX));
		}
		path = candidate(f, name);
		if (is_file(path))
			g_ptr_array_add(names, name);
		else
			g_free(name);
		g_free(path);
	}
	closedir(d);
	g_ptr_array_sort(names, cmp_str);
	return names;
}

static char *folders_text(GArray *folders)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < folders->len; i++) {
		const struct folder *f = &g_array_index(folders, struct folder, i);

		if (i)
			g_string_append(s, ", ");
		g_string_append(s, f->dir);
		if (f->nested)
			g_string_append(s, "/<name>");
	}
	return g_string_free(s, FALSE);
}

static int unknown_backend(GArray *folders, const char *name)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) known = g_string_new(NULL);
	g_autofree char *where = folders_text(folders);
	const char *hint = "";

	for (guint i = 0; i < folders->len; i++) {
		GPtrArray *names = scan_folder(&g_array_index(folders,
							      struct folder, i));

		for (guint j = 0; j < names->len; j++) {
			char *n = g_ptr_array_index(names, j);

			if (g_hash_table_contains(seen, n))
				continue;
			n = g_strdup(n);
			g_hash_table_add(seen, n);
			g_ptr_array_add(all, n);
		}
		g_ptr_array_unref(names);
	}
	g_ptr_array_sort(all, cmp_str);
	for (guint i = 0; i < all->len; i++)
		g_string_append_printf(known, "%s%s", i ? ", " : "",
				       (char *)g_ptr_array_index(all, i));
	if (!all->len)
		g_string_append(known, "(none found)");
	if (g_str_has_suffix(name, PLUGIN_SUFFIX))
		hint = " (a path needs a '/', as in ./name.so)";
	return tarn_error(TARN_ENOENT,
			  "unknown backend \"%s\"%s: expected one of: %s, or a path to a plugin .so; found no %s%s in %s",
			  name, hint, known->str, name, PLUGIN_SUFFIX, where);
}

/* The name a plugin file must carry: its base name without ".so". */
static char *file_stem(const char *path)
{
	char *base = g_path_get_basename(path);

	if (g_str_has_suffix(base, PLUGIN_SUFFIX) &&
	    strlen(base) > strlen(PLUGIN_SUFFIX))
		base[strlen(base) - strlen(PLUGIN_SUFFIX)] = '\0';
	return base;
}

/* dlerror() text on one line, without the file name it usually repeats. */
static char *dl_reason(const char *path)
{
	const char *err = dlerror();
	size_t len = strlen(path);
	char *s;

	if (!err)
		return g_strdup("unknown dlopen() error");
	if (strncmp(err, path, len) == 0 && err[len] == ':' && err[len + 1] == ' ')
		err += len + 2;
	s = g_strdup(err);
	g_strdelimit(s, "\r\n", ' ');
	return s;
}

struct fn_rule {
	size_t offset;
	const char *name;
	uint64_t cap; /* 0: mandatory for every plugin */
};

#define RULE(fn, cap) { offsetof(tarn_backend_desc_t, fn), #fn, cap }
static const struct fn_rule fn_rules[] = {
	RULE(query, 0),
	RULE(open, 0),
	RULE(close, 0),
	RULE(submit, 0),
	RULE(create, 0),
	RULE(seal, 0),
	RULE(fetch, 0),
	RULE(unpin, 0),
	RULE(wait, 0),
	RULE(release, 0),
	RULE(cluster_info, 0),
	RULE(worker_loop, TARN_CAP_MULTI_PROCESS),
	RULE(load_library, TARN_CAP_MULTI_PROCESS),
	RULE(actor_create, TARN_CAP_ACTORS),
	RULE(actor_kill, TARN_CAP_ACTORS),
};
#undef RULE

/* Every missing mandatory function on one line, or NULL when none is. */
static char *missing_functions(const tarn_backend_desc_t *desc)
{
	GString *s = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(fn_rules); i++) {
		const struct fn_rule *r = &fn_rules[i];
		void (*fn)(void);

		if (r->cap && !(desc->caps & r->cap))
			continue;
		memcpy(&fn, (const char *)desc + r->offset, sizeof(fn));
		if (fn)
			continue;
		if (!s)
			s = g_string_new(NULL);
		else
			g_string_append(s, ", ");
		g_string_append(s, r->name);
		if (r->cap)
			g_string_append_printf(s, " (mandatory with capability %s)",
					       tarn_backend_cap_name(r->cap));
	}
	return s ? g_string_free(s, FALSE) : NULL;
}

/*
 * dlopen @path and run every check in the order the ABI documents. On
 * success *@out owns the handle; on failure the handle is closed again and
 * @pr (when given) says what could still be learnt.
 */
static int load_file(const char *path, const char *stem, tarn_plugin_t **out,
		     struct probe *pr)
{
	const char *what = "backend plugin";
	const tarn_backend_desc_t *d;
	tarn_backend_entry_fn entry;
	tarn_plugin_t *p = NULL;
	char *missing;
	void *sym;
	void *dl;
	int rc;

	dlerror();
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		g_autofree char *why = dl_reason(path);

		return tarn_error(TARN_EPLUGIN,
				  "%s %s: expected a shared object that dlopen() can load, found: %s",
				  what, path, why);
	}

	dlerror();
	sym = dlsym(dl, TARN_BACKEND_ENTRY);
	if (!sym) {
		rc = tarn_error(TARN_EPLUGIN,
				"%s %s: expected the symbol " TARN_BACKEND_ENTRY
				"(), found no such symbol (not a tarn backend, or the entry is not marked TARN_BACKEND_EXPORT)",
				what, path);
		goto refuse;
	}
	entry = (tarn_backend_entry_fn)sym;
	d = entry();
	if (!d) {
		rc = tarn_error(TARN_EPLUGIN,
				"%s %s: expected " TARN_BACKEND_ENTRY
				"() to return a descriptor, found NULL",
				what, path);
		goto refuse;
	}

	/* Past this point only fields whose place every major shares are read. */
	if (pr) {
		pr->have_abi = true;
		pr->abi_major = d->abi_major;
		pr->abi_minor = d->abi_minor;
	}
	if (d->abi_major != TARN_BACKEND_ABI_MAJOR) {
		rc = tarn_error(TARN_EABI,
				"%s %s: expected backend ABI major %d (this tarn speaks %d.%d), found ABI %u.%u",
				what, path, TARN_BACKEND_ABI_MAJOR,
				TARN_BACKEND_ABI_MAJOR, TARN_BACKEND_ABI_MINOR,
				d->abi_major, d->abi_minor);
		goto refuse;
	}
	if (d->size < TARN_BACKEND_DESC_V1_0_SIZE) {
		rc = tarn_error(TARN_EABI,
				"%s %s: expected a descriptor size of at least %zu bytes (ABI %d.0), found size %u",
				what, path, TARN_BACKEND_DESC_V1_0_SIZE,
				TARN_BACKEND_ABI_MAJOR, d->size);
		goto refuse;
	}

	/*
	 * Copy only what the plugin says it has: fields appended after its
	 * minor stay zero (absent), and a newer plugin's extra fields, which
	 * this host does not know, are never read.
	 */
	p = g_new0(tarn_plugin_t, 1);
	memcpy(&p->desc, d, MIN((size_t)d->size, sizeof(p->desc)));
	if (pr)
		pr->caps = p->desc.caps;

	if (!p->desc.name || strcmp(p->desc.name, stem) != 0) {
		rc = tarn_error(TARN_EPLUGIN,
				"%s %s: expected the name \"%s\" (the file stem), found %s%s%s",
				what, path, stem, p->desc.name ? "\"" : "",
				p->desc.name ? p->desc.name : "NULL",
				p->desc.name ? "\"" : "");
		goto refuse;
	}
	missing = missing_functions(&p->desc);
	if (missing) {
		rc = tarn_error(TARN_EPLUGIN,
				"%s %s: expected every mandatory function to be set, found NULL: %s",
				what, path, missing);
		g_free(missing);
		goto refuse;
	}

	p->dl = dl;
	p->path = g_strdup(path);
	p->name = g_strdup(stem);
	*out = p;
	return 0;

refuse:
	g_free(p);
	dlclose(dl);
	return rc;
}

int tarn_plugin_load(const char *name_or_path, tarn_plugin_t **out)
{
	g_autoptr(GArray) folders = NULL;
	g_autofree char *path = NULL;
	g_autofree char *stem = NULL;

	if (!out)
		return tarn_error(TARN_EINVAL, "tarn_plugin_load: out is NULL");
	*out = NULL;
	if (!name_or_path || !*name_or_path)
		return tarn_error(TARN_EINVAL,
				  "backend name is empty: expected a built-in name or a path to a plugin .so");

	if (strchr(name_or_path, '/')) {
		stem = file_stem(name_or_path);
		return load_file(name_or_path, stem, out, NULL);
	}

	folders = search_folders();
	path = find_plugin(folders, name_or_path);
	if (!path)
		return unknown_backend(folders, name_or_path);
	return load_file(path, name_or_path, out, NULL);
}

void tarn_plugin_unload(tarn_plugin_t *p)
{
	if (!p)
		return;
	dlclose(p->dl);
	g_free(p->path);
	g_free(p->name);
	g_free(p);
}

const char *tarn_plugin_default(void)
{
	/* Set by Open MPI, PMIx, and MPICH-style PMI launchers respectively. */
	static const char *const launcher_vars[] = {
		"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
	};
	g_autoptr(GArray) folders = NULL;
	char *path;

	for (size_t i = 0; i < G_N_ELEMENTS(launcher_vars); i++)
		if (getenv(launcher_vars[i]))
			return "mpi";

	/*
	 * procpool is the intended default on one machine, but a build (or
	 * an installation) may not have it yet; seq always ships, and a
	 * working slow default beats a refusal to start.
	 */
	folders = search_folders();
	path = find_plugin(folders, "procpool");
	if (path) {
		g_free(path);
		return "procpool";
	}
	return "seq";
}

TARN_API const char *tarn_backend_cap_name(uint64_t bit)
{
	switch (bit) {
	case TARN_CAP_MULTI_PROCESS:
		return "multi-process";
	case TARN_CAP_MULTI_NODE:
		return "multi-node";
	case TARN_CAP_ACTORS:
		return "actors";
	case TARN_CAP_ZERO_COPY:
		return "zero-copy";
	case TARN_CAP_SPAWN:
		return "spawn";
	case TARN_CAP_PREEMPT:
		return "preempt";
	case TARN_CAP_FAULT_TOLERANT:
		return "fault-tolerant";
	case TARN_CAP_DETERMINISTIC:
		return "deterministic";
	default:
		return NULL;
	}
}

static char *one_line(const char *s)
{
	char *copy = g_strdup(s ? s : "");

	g_strdelimit(copy, "\r\n", ' ');
	return copy;
}

/* Load, check and query one plugin; never start it. */
static void describe(const char *path, const char *name,
		     tarn_backend_info_t *bi)
{
	const tarn_host_services_t *host = tarn_host_services_get();
	char reason[512] = "";
	struct probe pr = { 0 };
	tarn_plugin_t *p;
	int rc;

	bi->name = g_strdup(name);
	bi->path = g_strdup(path);
	rc = load_file(path, name, &p, &pr);
	if (rc) {
		bi->version = g_strdup("");
		bi->description = g_strdup("");
		bi->abi_major = pr.have_abi ? pr.abi_major : 0;
		bi->abi_minor = pr.have_abi ? pr.abi_minor : 0;
		/* "claims actors but has no actor_create" needs the claim shown. */
		bi->caps = pr.caps;
		bi->reason = one_line(tarn_last_error());
		return;
	}

	/* The strings live in the plugin: copy them before it is closed. */
	bi->version = one_line(p->desc.version);
	bi->description = one_line(p->desc.description);
	bi->abi_major = p->desc.abi_major;
	bi->abi_minor = p->desc.abi_minor;
	bi->caps = p->desc.caps;
	bi->loadable = true;

	rc = p->desc.query(host, reason, sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	bi->available = rc == 0;
	if (rc == 0)
		bi->reason = g_strdup("");
	else if (reason[0])
		bi->reason = one_line(reason);
	else
		bi->reason = g_strdup_printf("query() returned %s without a reason",
					     tarn_err_name(rc));
	tarn_plugin_unload(p);
}

static gint cmp_info(gconstpointer a, gconstpointer b)
{
	const tarn_backend_info_t *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * One entry per name, the file tarn_plugin_load() would pick for it: a
 * plugin shadowed by one of the same name in an earlier folder is not
 * listed, since nothing can select it by name (only by path).
 */
TARN_API int tarn_backend_list(tarn_backend_info_t **out, size_t *n)
{
	g_autoptr(GHashTable) seen = NULL;
	g_autoptr(GArray) folders = NULL;
	g_autofree char *saved = NULL;
	GArray *infos;

	if (!out || !n)
		return tarn_error(TARN_EINVAL, "tarn_backend_list: out or n is NULL");
	*out = NULL;
	*n = 0;

	/* Refused plugins set the error message; a successful list must not. */
	saved = g_strdup(tarn_last_error());
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	infos = g_array_new(FALSE, TRUE, sizeof(tarn_backend_info_t));
	folders = search_folders();
	for (guint i = 0; i < folders->len; i++) {
		const struct folder *f = &g_array_index(folders, struct folder, i);
		GPtrArray *names = scan_folder(f);

		for (guint j = 0; j < names->len; j++) {
			const char *name = g_ptr_array_index(names, j);
			tarn_backend_info_t bi = { 0 };
			char *path;

			if (g_hash_table_contains(seen, name))
				continue;
			g_hash_table_add(seen, g_strdup(name));
			path = candidate(f, name);
			describe(path, name, &bi);
			g_free(path);
			g_array_append_val(infos, bi);
		}
		g_ptr_array_unref(names);
	}
	g_array_sort(infos, cmp_info);
	tarn_error(0, "%s", saved);

	*n = infos->len;
	if (!infos->len) {
		g_array_free(infos, TRUE);
		return 0;
	}
	*out = (tarn_backend_info_t *)(void *)g_array_free(infos, FALSE);
	return 0;
}

TARN_API void tarn_backend_list_free(tarn_backend_info_t *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		g_free((char *)list[i].name);
		g_free((char *)list[i].path);
		g_free((char *)list[i].version);
		g_free((char *)list[i].description);
		g_free((char *)list[i].reason);
	}
	g_free(list);
}
