/* SPDX-License-Identifier: MIT */
/*
 * YAML plans. The document is loaded whole (libyaml's document API keeps
 * each node's line and column) and mapped onto tarn_node_spec_t, so a YAML
 * plan and a C plan go through the same checks in tarn_plan_add(). Every
 * error is "FILE:LINE:COLUMN: what (expected ...)".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "planner.h"

struct ctx {
	const char *file;
	yaml_document_t doc;
	GPtrArray *keep; /* expanded strings, alive until parsing ends */
};

/* ${NAME} and ${NAME:-default} from the environment, for paths. */
static const char *expand(struct ctx *c, const char *s)
{
	GString *o;
	const char *p = s;

	if (!strstr(s, "${"))
		return s;
	o = g_string_new(NULL);
	while (*p) {
		const char *end;

		if (p[0] != '$' || p[1] != '{' || !(end = strchr(p, '}'))) {
			g_string_append_c(o, *p++);
			continue;
		}
		{
			char *inner = g_strndup(p + 2, (gsize)(end - p - 2));
			char *dflt = strstr(inner, ":-");
			const char *v;

			if (dflt) {
				*dflt = 0;
				dflt += 2;
			}
			v = g_getenv(inner);
			g_string_append(o, v && *v ? v : dflt ? dflt : "");
			g_free(inner);
		}
		p = end + 1;
	}
	g_ptr_array_add(c->keep, o->str);
	return g_string_free(o, FALSE);
}

static int err_at(struct ctx *c, yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int err_at(struct ctx *c, yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	rc = planner_set_error(TARN_EINVAL, "%s:%zu:%zu: %s", c->file,
			       n ? n->start_mark.line + 1 : 1,
			       n ? n->start_mark.column + 1 : 1, msg);
	g_free(msg);
	return rc;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						 : NULL;
}

static int get_str(struct ctx *c, yaml_node_t *v, const char *key,
		   const char **out)
{
	*out = scalar(v);
	if (!*out)
		return err_at(c, v, "'%s' must be a string (expected a scalar)",
			      key);
	return 0;
}

static int get_u64(struct ctx *c, yaml_node_t *v, const char *key,
		   uint64_t max, uint64_t *out)
{
	const char *s = scalar(v);
	char *end;
	unsigned long long x;
	uint64_t mult = 1;

	if (!s || !*s || *s == '-')
		return err_at(c, v, "'%s' must be a whole number (expected 0..%llu)",
			      key, (unsigned long long)max);
	errno = 0;
	x = strtoull(s, &end, 10);
	if (!strcmp(end, "KiB") || !strcmp(end, "K"))
		mult = 1024;
	else if (!strcmp(end, "MiB") || !strcmp(end, "M"))
		mult = 1024 * 1024;
	else if (!strcmp(end, "GiB") || !strcmp(end, "G"))
		mult = 1024ull * 1024 * 1024;
	else if (*end)
		mult = 0;
	if (errno || !mult || x > max / mult)
		return err_at(c, v, "'%s: %s' is not a whole number in range (expected 0..%llu%s)",
			      key, s, (unsigned long long)max,
			      !strcmp(key, "memory") ? ", with an optional KiB, MiB or GiB suffix" : "");
	*out = x * mult;
	return 0;
}

static int get_double(struct ctx *c, yaml_node_t *v, const char *key,
		      double *out)
{
	const char *s = scalar(v);
	char *end;

	if (!s)
		return err_at(c, v, "'%s' must be a number", key);
	*out = g_ascii_strtod(s, &end);
	if (*end || end == s || *out < 0)
		return err_at(c, v, "'%s: %s' is not a number (expected a number >= 0)",
			      key, s);
	return 0;
}

static int get_bool(struct ctx *c, yaml_node_t *v, const char *key,
		    bool *out)
{
	const char *s = scalar(v);

	if (s && (!g_ascii_strcasecmp(s, "true") ||
		  !g_ascii_strcasecmp(s, "yes") || !strcmp(s, "1"))) {
		*out = true;
		return 0;
	}
	if (s && (!g_ascii_strcasecmp(s, "false") ||
		  !g_ascii_strcasecmp(s, "no") || !strcmp(s, "0"))) {
		*out = false;
		return 0;
	}
	return err_at(c, v, "'%s: %s' is not a boolean (expected true or false)",
		      key, s ? s : "(not a scalar)");
}

static int get_choice(struct ctx *c, yaml_node_t *v, const char *key,
		      const char *const *choices, int *out)
{
	const char *s = scalar(v);
	GString *all;

	for (int i = 0; s && choices[i]; i++)
		if (!strcmp(s, choices[i])) {
			*out = i;
			return 0;
		}
	all = g_string_new(NULL);
	for (int i = 0; choices[i]; i++)
		g_string_append_printf(all, "%s%s", i ? ", " : "", choices[i]);
	err_at(c, v, "'%s: %s' is not allowed (expected one of: %s)", key,
	       s ? s : "(not a scalar)", all->str);
	g_string_free(all, TRUE);
	return TARN_EINVAL;
}

/* key: {field: N, delimiter: ","} | {bytes: [OFFSET, LENGTH]} | whole */
static int get_key(struct ctx *c, yaml_node_t *v, tarn_key_t *k)
{
	const char *s = scalar(v);

	memset(k, 0, sizeof(*k));
	if (s && !strcmp(s, "line"))
		return 0;
	if (!v || v->type != YAML_MAPPING_NODE)
		return err_at(c, v, "'key' must be a mapping (expected {field: N, delimiter: \",\"}, {bytes: [OFFSET, LENGTH]} or line)");
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(&c->doc, p->value);
		const char *name = scalar(kn);
		uint64_t x;
		const char *d;

		if (name && !strcmp(name, "field")) {
			if (get_u64(c, vn, "field", 65535, &x))
				return TARN_EINVAL;
			if (!x)
				return err_at(c, vn, "'field' counts from 1 (expected 1..65535)");
			k->field = (uint32_t)x;
			if (!k->delimiter)
				k->delimiter = ',';
		} else if (name && !strcmp(name, "delimiter")) {
			if (get_str(c, vn, "delimiter", &d))
				return TARN_EINVAL;
			if (!strcmp(d, "\\t") || !strcmp(d, "tab"))
				d = "\t";
			if (strlen(d) != 1)
				return err_at(c, vn, "'delimiter: %s' must be one character (expected e.g. \",\" or \"\\t\")",
					      d);
			k->delimiter = d[0];
		} else if (name && !strcmp(name, "bytes")) {
			yaml_node_t *a, *b;

			if (vn->type != YAML_SEQUENCE_NODE ||
			    vn->data.sequence.items.top -
					    vn->data.sequence.items.start !=
				    2)
				return err_at(c, vn, "'bytes' must be [OFFSET, LENGTH]");
			a = yaml_document_get_node(
				&c->doc, vn->data.sequence.items.start[0]);
			b = yaml_document_get_node(
				&c->doc, vn->data.sequence.items.start[1]);
			if (get_u64(c, a, "offset", UINT32_MAX, &x))
				return TARN_EINVAL;
			k->offset = (uint32_t)x;
			if (get_u64(c, b, "length", UINT32_MAX, &x))
				return TARN_EINVAL;
			if (!x)
				return err_at(c, b, "key length must be at least 1");
			k->length = (uint32_t)x;
		} else {
			return err_at(c, kn, "unknown key field '%s' (expected field, delimiter or bytes)",
				      name ? name : "?");
		}
	}
	return 0;
}

static const char *const kinds[] = {"", "source", "partition", "compute",
				    "consolidate", "union", "limit", "sort",
				    "sink", NULL};
static const char *const formats[] = {"lines", "records", NULL};
static const char *const methods[] = {"files", "rows", "hash", "range",
				      "function", NULL};
static const char *const modes[] = {"copy", "link", "manifest", NULL};

/* Which keys each kind takes (besides name, kind, input, inputs). */
static const char *const node_keys[] = {
	NULL,
	"glob format record_size",
	"by npartitions dimension nested key function args cpus gpus memory",
	"function args cpus gpus memory format record_size",
	"dimensions",
	"",
	"rows",
	"key cpus memory",
	"path mode",
};

static int input_ids(struct ctx *c, tarn_plan_t *plan, yaml_node_t *v,
		     GArray *ids)
{
	yaml_node_t *one[1] = {v};
	size_t n = 0;

	if (v->type == YAML_SCALAR_NODE) {
		n = 1;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		n = (size_t)(v->data.sequence.items.top -
			     v->data.sequence.items.start);
	} else {
		return err_at(c, v, "'inputs' must be a node name or a list of them");
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *x =
			v->type == YAML_SCALAR_NODE ?
				one[0] :
				yaml_document_get_node(
					&c->doc, v->data.sequence.items.start[i]);
		const char *s = scalar(x);
		int id = -1;

		for (guint j = 0; s && j < plan->nodes->len; j++)
			if (!strcmp(((struct pnode *)plan->nodes->pdata[j])->name,
				    s))
				id = (int)j;
		if (id < 0)
			return err_at(c, x, "input '%s' is not a node defined above (expected the name of an earlier node)",
				      s ? s : "(not a scalar)");
		g_array_append_val(ids, id);
	}
	return 0;
}

static int parse_node(struct ctx *c, tarn_plan_t *plan, yaml_node_t *m)
{
	tarn_node_spec_t s = TARN_NODE_SPEC_INIT;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int));
	GPtrArray *dims = g_ptr_array_new();
	yaml_node_t *kind_node = NULL;
	uint64_t x;
	int rc = 0, id;

	if (m->type != YAML_MAPPING_NODE) {
		rc = err_at(c, m, "a node must be a mapping (expected name:, kind: and the kind's keys)");
		goto out;
	}
	/* kind first: it decides which keys are allowed. */
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(&c->doc, p->key));

		if (k && !strcmp(k, "kind"))
			kind_node = yaml_document_get_node(&c->doc, p->value);
	}
	if (!kind_node) {
		rc = err_at(c, m, "node without 'kind' (expected one of: source, partition, compute, consolidate, union, limit, sort, sink)");
		goto out;
	}
	rc = get_choice(c, kind_node, "kind", kinds + 1, &s.kind);
	if (rc)
		goto out;
	s.kind++;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top && !rc; p++) {
		yaml_node_t *kn = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		const char *k = scalar(kn);
		char **allowed;
		bool ok = false;

		if (!k) {
			rc = err_at(c, kn, "keys must be strings");
			break;
		}
		if (!strcmp(k, "kind"))
			continue;
		if (!strcmp(k, "name")) {
			rc = get_str(c, v, k, &s.name);
			continue;
		}
		if (!strcmp(k, "input") || !strcmp(k, "inputs")) {
			rc = input_ids(c, plan, v, ids);
			continue;
		}
		allowed = g_strsplit(node_keys[s.kind], " ", -1);
		for (char **a = allowed; *a; a++)
			ok |= !strcmp(*a, k);
		if (!ok) {
			rc = err_at(c, kn, "unknown key '%s' for a %s node (expected name, kind, input%s%s)",
				    k, kinds[s.kind],
				    *node_keys[s.kind] ? " or one of: " : "",
				    node_keys[s.kind]);
			g_strfreev(allowed);
			break;
		}
		g_strfreev(allowed);
		if (!strcmp(k, "glob")) {
			rc = get_str(c, v, k, &s.glob);
			if (!rc)
				s.glob = expand(c, s.glob);
		}
		else if (!strcmp(k, "format"))
			rc = get_choice(c, v, k, formats, &s.format);
		else if (!strcmp(k, "record_size")) {
			rc = get_u64(c, v, k, 1u << 24, &x);
			s.record_size = (uint32_t)x;
			if (!rc && !s.format)
				s.format = TARN_FORMAT_RECORDS;
		} else if (!strcmp(k, "by"))
			rc = get_choice(c, v, k, methods, &s.by);
		else if (!strcmp(k, "npartitions")) {
			rc = get_u64(c, v, k, 100000, &x);
			s.npartitions = (uint32_t)x;
		} else if (!strcmp(k, "dimension"))
			rc = get_str(c, v, k, &s.dimension);
		else if (!strcmp(k, "nested"))
			rc = get_bool(c, v, k, &s.nested);
		else if (!strcmp(k, "key"))
			rc = get_key(c, v, &s.key);
		else if (!strcmp(k, "function"))
			rc = get_str(c, v, k, &s.function);
		else if (!strcmp(k, "args"))
			rc = get_str(c, v, k, &s.args);
		else if (!strcmp(k, "cpus"))
			rc = get_double(c, v, k, &s.cpus);
		else if (!strcmp(k, "gpus"))
			rc = get_double(c, v, k, &s.gpus);
		else if (!strcmp(k, "memory"))
			rc = get_u64(c, v, k, UINT64_MAX, &s.memory);
		else if (!strcmp(k, "rows"))
			rc = get_u64(c, v, k, UINT64_MAX, &s.rows);
		else if (!strcmp(k, "path")) {
			rc = get_str(c, v, k, &s.path);
			if (!rc)
				s.path = expand(c, s.path);
		}
		else if (!strcmp(k, "mode"))
			rc = get_choice(c, v, k, modes, &s.mode);
		else if (!strcmp(k, "dimensions")) {
			if (v->type != YAML_SEQUENCE_NODE) {
				rc = err_at(c, v, "'dimensions' must be a list of dimension names (expected e.g. [part] or [])");
				break;
			}
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top && !rc; i++) {
				const char *d;

				rc = get_str(c, yaml_document_get_node(&c->doc, *i),
					     "dimensions", &d);
				if (!rc)
					g_ptr_array_add(dims, (char *)d);
			}
		}
	}
	if (rc)
		goto out;
	if (!s.name) {
		rc = err_at(c, m, "%s node without 'name' (expected a unique name)",
			    kinds[s.kind]);
		goto out;
	}
	g_ptr_array_add(dims, NULL);
	s.inputs = (int *)(void *)ids->data;
	s.num_inputs = ids->len;
	s.dimensions = (const char *const *)dims->pdata;
	rc = tarn_plan_add(plan, &s, &id);
	if (rc) {
		char *why = g_strdup(tarn_planner_last_error());

		err_at(c, m, "%s", why);
		g_free(why);
		goto out;
	}
	((struct pnode *)plan->nodes->pdata[id])->line =
		(int)m->start_mark.line + 1;
	((struct pnode *)plan->nodes->pdata[id])->column =
		(int)m->start_mark.column + 1;
out:
	g_array_free(ids, TRUE);
	g_ptr_array_free(dims, TRUE);
	return rc;
}

TARN_PLANNER_API int tarn_plan_load_yaml(const char *path, tarn_plan_t **out)
{
	struct ctx c = {.file = path};
	yaml_parser_t parser;
	yaml_node_t *root, *nodes = NULL;
	tarn_plan_t *plan = NULL;
	char *dir;
	FILE *f;
	int rc = 0;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return planner_set_error(TARN_EIO, "%s: cannot open the plan: %s",
					 path, strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &c.doc)) {
		rc = planner_set_error(TARN_EINVAL, "%s:%zu:%zu: YAML syntax: %s%s%s",
				       path, parser.problem_mark.line + 1,
				       parser.problem_mark.column + 1,
				       parser.problem ? parser.problem : "error",
				       parser.context ? " " : "",
				       parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		fclose(f);
		return rc;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	c.keep = g_ptr_array_new_with_free_func(g_free);
	root = yaml_document_get_root_node(&c.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = err_at(&c, root, "a plan must be a mapping (expected name:, libraries: and nodes:)");
		goto out;
	}
	tarn_plan_create(NULL, &plan);
	plan->file = g_strdup(path);
	dir = g_path_get_dirname(path);
	tarn_plan_set_base_dir(plan, dir);
	g_free(dir);
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && !rc; p++) {
		yaml_node_t *kn = yaml_document_get_node(&c.doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c.doc, p->value);
		const char *k = scalar(kn), *s;

		if (k && !strcmp(k, "name")) {
			rc = get_str(&c, v, k, &s);
			if (!rc) {
				g_free(plan->name);
				plan->name = g_strdup(s);
			}
		} else if (k && !strcmp(k, "libraries")) {
			if (v->type == YAML_SCALAR_NODE) {
				tarn_plan_add_library(plan, expand(&c, scalar(v)));
				continue;
			}
			if (v->type != YAML_SEQUENCE_NODE) {
				rc = err_at(&c, v, "'libraries' must be a list of .so paths");
				break;
			}
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top && !rc; i++) {
				rc = get_str(&c, yaml_document_get_node(&c.doc, *i),
					     "libraries", &s);
				if (!rc)
					tarn_plan_add_library(plan, expand(&c, s));
			}
		} else if (k && !strcmp(k, "nodes")) {
			nodes = v;
		} else {
			rc = err_at(&c, kn, "unknown key '%s' (expected name, libraries or nodes)",
				    k ? k : "?");
		}
	}
	if (rc)
		goto out;
	if (!nodes || nodes->type != YAML_SEQUENCE_NODE ||
	    nodes->data.sequence.items.top == nodes->data.sequence.items.start) {
		rc = err_at(&c, nodes ? nodes : root, "'nodes' must be a non-empty list of nodes");
		goto out;
	}
	for (yaml_node_item_t *i = nodes->data.sequence.items.start;
	     i < nodes->data.sequence.items.top && !rc; i++)
		rc = parse_node(&c, plan, yaml_document_get_node(&c.doc, *i));
out:
	yaml_document_delete(&c.doc);
	g_ptr_array_free(c.keep, TRUE);
	if (rc) {
		tarn_plan_destroy(plan);
		return rc;
	}
	if (!*plan->name) {
		char *b = g_path_get_basename(path);
		char *dot = strrchr(b, '.');

		if (dot)
			*dot = 0;
		g_free(plan->name);
		plan->name = b;
	}
	*out = plan;
	return 0;
}
