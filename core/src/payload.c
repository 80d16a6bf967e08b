/* SPDX-License-Identifier: MIT */
/*
 * The payload: one task call as bytes a backend can ship anywhere.
 *
 * Backends never look inside; only host->run_task() on the executing process
 * decodes it. Integers are in host byte order (a tarn cluster is one
 * architecture), and nothing is assumed aligned, so every field is read with
 * memcpy. Decoding checks every length against what is left, because the
 * bytes may have crossed a network.
 */
#include <glib.h>
#include <string.h>

#include "runtime.h"

#define PAYLOAD_MAGIC 0x50524e54u /* "TNRP" */
#define PAYLOAD_VERSION 1

struct wire_header {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;
	uint16_t name_len;
	uint8_t retry_on_error;
	uint8_t pad;
	int32_t max_retries;
	uint32_t num_returns;
	uint32_t nargs;
	double timeout;
	tarn_ref_t id;
	tarn_actor_t actor;
};

int tarn_payload_args_size(const char *name, const tarn_arg_t *args, size_t nargs,
			   size_t *len)
{
	size_t total = 0;

	for (size_t i = 0; i < nargs; i++) {
		const tarn_arg_t *a = &args[i];

		total += 1 + sizeof(uint64_t);
		switch (a->kind) {
		case TARN_ARG_REF:
			total += sizeof(tarn_ref_t);
			break;
		case TARN_ARG_SMALL:
			if (a->len > sizeof(a->u.small))
				return tarn_error(TARN_EINVAL,
						  "argument %zu of '%s': a small argument holds at most %zu bytes, got %zu",
						  i, name, sizeof(a->u.small), a->len);
			total += a->len;
			break;
		case TARN_ARG_BYTES:
			if (a->len && !a->u.data)
				return tarn_error(TARN_EINVAL,
						  "argument %zu of '%s': %zu bytes at NULL",
						  i, name, a->len);
			total += a->len;
			break;
		default:
			return tarn_error(TARN_EINVAL,
					  "argument %zu of '%s': unknown kind %d (allowed: TARN_ARG_BYTES, TARN_ARG_SMALL, TARN_ARG_REF)",
					  i, name, a->kind);
		}
	}
	*len = total;
	return 0;
}

int tarn_payload_size(const struct payload_in *in, size_t *len)
{
	size_t name_len = strlen(in->name), args_len;
	int rc;

	if (name_len > 2 * TARN_MAX_NAME + 1)
		return tarn_error(TARN_EINVAL, "name '%s' is too long", in->name);
	rc = tarn_payload_args_size(in->name, in->args, in->nargs, &args_len);
	if (rc)
		return rc;
	*len = tarn_payload_single_size(in, args_len);
	return 0;
}

size_t tarn_payload_single_size(const struct payload_in *in, size_t args_len)
{
	return sizeof(struct wire_header) + strlen(in->name) +
	       in->num_returns * sizeof(tarn_ref_t) + args_len;
}

static unsigned char *write_args(const tarn_arg_t *args, size_t nargs, unsigned char *p)
{
	for (size_t i = 0; i < nargs; i++) {
		const tarn_arg_t *a = &args[i];
		uint8_t kind = a->kind == TARN_ARG_REF ? TARN_ARG_REF
						       : TARN_ARG_BYTES;
		uint64_t n = a->kind == TARN_ARG_REF ? sizeof(tarn_ref_t)
						     : a->len;

		*p++ = kind;
		memcpy(p, &n, sizeof(n));
		p += sizeof(n);
		if (a->kind == TARN_ARG_REF)
			memcpy(p, &a->u.ref, sizeof(tarn_ref_t));
		else if (a->kind == TARN_ARG_SMALL)
			memcpy(p, a->u.small, n);
		else if (n)
			memcpy(p, a->u.data, n);
		p += n;
	}
	return p;
}

void tarn_payload_write(const struct payload_in *in, void *buf)
{
	struct wire_header h;
	size_t name_len = strlen(in->name);
	unsigned char *p = buf;

	memset(&h, 0, sizeof(h));
	h.magic = PAYLOAD_MAGIC;
	h.version = PAYLOAD_VERSION;
	h.kind = (uint16_t)in->kind;
	h.name_len = (uint16_t)name_len;
	h.retry_on_error = in->retry_on_error;
	h.max_retries = in->max_retries;
	h.num_returns = in->num_returns;
	h.nargs = (uint32_t)in->nargs;
	h.timeout = in->timeout;
	h.id = in->id;
	h.actor = in->actor;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, in->name, name_len);
	p += name_len;
	if (in->num_returns) {
		memcpy(p, in->returns, in->num_returns * sizeof(tarn_ref_t));
		p += in->num_returns * sizeof(tarn_ref_t);
	}
	write_args(in->args, in->nargs, p);
}

int tarn_payload_encode(const struct payload_in *in, void **buf, size_t *len)
{
	size_t total;
	void *out;
	int rc = tarn_payload_size(in, &total);

	if (rc)
		return rc;
	out = g_try_malloc(total);
	if (!out)
		return tarn_error(TARN_ENOMEM, "cannot allocate %zu bytes for the arguments of '%s'",
				  total, in->name);
	tarn_payload_write(in, out);
	*buf = out;
	*len = total;
	return 0;
}

/*
 * Decode @nargs arguments from @p into @args (NULL: only check them);
 * returns where they end, or NULL when they overrun @end or are malformed.
 */
static const unsigned char *read_args(const unsigned char *p, const unsigned char *end,
				      uint32_t nargs, struct payload_arg *args)
{
	for (uint32_t i = 0; i < nargs; i++) {
		uint64_t n;
		int kind;

		if ((size_t)(end - p) < 1 + sizeof(n))
			return NULL;
		kind = *p++;
		memcpy(&n, p, sizeof(n));
		p += sizeof(n);
		if ((uint64_t)(end - p) < n)
			return NULL;
		if (kind == TARN_ARG_REF) {
			if (n != sizeof(tarn_ref_t))
				return NULL;
		} else if (kind != TARN_ARG_BYTES) {
			return NULL;
		}
		if (args) {
			struct payload_arg *a = &args[i];

			a->kind = kind;
			if (kind == TARN_ARG_REF) {
				memcpy(&a->ref, p, sizeof(tarn_ref_t));
			} else {
				a->data = p;
				a->len = n;
			}
		}
		p += n;
	}
	return p;
}

int tarn_payload_decode_into(const void *buf, size_t len, void *space, size_t cap,
			     struct payload **out)
{
	const unsigned char *p = buf, *end = p + len;
	struct wire_header h;
	struct payload *pl;
	size_t need;

	if (!buf || len < sizeof(h))
		return tarn_error(TARN_EPROTO, "task payload of %zu bytes is shorter than its header",
				  len);
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	if (h.magic != PAYLOAD_MAGIC || h.version != PAYLOAD_VERSION)
		return tarn_error(TARN_EPROTO,
				  "task payload has magic %#x version %u, expected %#x version %u",
				  h.magic, h.version, PAYLOAD_MAGIC, PAYLOAD_VERSION);
	if (h.name_len > 2 * TARN_MAX_NAME + 1 || h.num_returns > TARN_MAX_RETURNS ||
	    (size_t)(end - p) < h.name_len + (size_t)h.num_returns * sizeof(tarn_ref_t))
		return tarn_error(TARN_EPROTO, "task payload truncated or corrupt (name %u bytes, %u returns)",
				  h.name_len, h.num_returns);
	/* Each argument takes at least 9 bytes: bound nargs before allocating. */
	if (h.nargs > len / 9)
		return tarn_error(TARN_EPROTO, "task payload claims %u arguments in %zu bytes",
				  h.nargs, len);

	need = sizeof(*pl) + h.num_returns * sizeof(tarn_ref_t) +
	       h.nargs * sizeof(struct payload_arg);
	if (need <= cap) {
		pl = space;
		memset(pl, 0, need);
	} else {
		pl = g_try_malloc0(need);
	}
	if (!pl)
		return tarn_error(TARN_ENOMEM, "cannot decode a task payload of %zu bytes", len);
	pl->returns = (tarn_ref_t *)(pl + 1);
	pl->args = (struct payload_arg *)(pl->returns + h.num_returns);
	pl->kind = h.kind;
	memcpy(pl->name, p, h.name_len);
	pl->name[h.name_len] = '\0';
	p += h.name_len;
	pl->id = h.id;
	pl->actor = h.actor;
	pl->max_retries = h.max_retries;
	pl->retry_on_error = h.retry_on_error;
	pl->timeout = h.timeout;
	pl->num_returns = h.num_returns;
	pl->nargs = h.nargs;
	memcpy(pl->returns, p, h.num_returns * sizeof(tarn_ref_t));
	p += h.num_returns * sizeof(tarn_ref_t);
	p = read_args(p, end, h.nargs, pl->args);
	if (p != end)
		goto corrupt;
	*out = pl;
	return 0;
corrupt:
	if ((void *)pl != space)
		g_free(pl);
	return tarn_error(TARN_EPROTO, "task payload for '%.*s' is truncated or corrupt",
			  (int)h.name_len, (const char *)buf + sizeof(h));
}

int tarn_payload_decode(const void *buf, size_t len, struct payload **out)
{
	return tarn_payload_decode_into(buf, len, NULL, 0, out);
}

/* Multi-call payloads ---------------------------------------------------- */

#define MULTI_MAGIC 0x4d524e54u /* "TNRM" */
#define MULTI_VERSION 1

struct wire_multi {
	uint32_t magic;
	uint16_t version;
	uint16_t name_len;
	uint8_t retry_on_error;
	uint8_t pad[3];
	int32_t max_retries;
	uint32_t ncalls;
	uint32_t num_returns;
	uint32_t nargs;
	uint32_t pad2;
	tarn_ref_t id;
};

size_t tarn_payload_multi_size(const struct payload_multi_in *in, size_t args_len)
{
	return sizeof(struct wire_multi) + strlen(in->name) +
	       (size_t)in->ncalls * in->num_returns * sizeof(tarn_ref_t) + args_len;
}

void tarn_payload_multi_write(const struct payload_multi_in *in, void *buf)
{
	struct wire_multi h;
	size_t name_len = strlen(in->name);
	size_t rets = (size_t)in->ncalls * in->num_returns * sizeof(tarn_ref_t);
	unsigned char *p = buf;

	memset(&h, 0, sizeof(h));
	h.magic = MULTI_MAGIC;
	h.version = MULTI_VERSION;
	h.name_len = (uint16_t)name_len;
	h.retry_on_error = in->retry_on_error;
	h.max_retries = in->max_retries;
	h.ncalls = in->ncalls;
	h.num_returns = in->num_returns;
	h.nargs = in->nargs;
	h.id = in->id;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, in->name, name_len);
	p += name_len;
	if (rets)
		memcpy(p, in->returns, rets);
	p += rets;
	for (uint32_t c = 0; c < in->ncalls; c++)
		p = write_args(in->nargs ? in->args + (size_t)c * in->nargs : NULL, in->nargs, p);
}

bool tarn_payload_is_multi(const void *buf, size_t len)
{
	uint32_t magic;

	if (!buf || len < sizeof(struct wire_multi))
		return false;
	memcpy(&magic, buf, sizeof(magic));
	return magic == MULTI_MAGIC;
}

int tarn_payload_multi_open(const void *buf, size_t len, struct payload_multi *m)
{
	const unsigned char *p = buf, *end = p + len;
	struct wire_multi h;
	size_t rets;

	if (!tarn_payload_is_multi(buf, len))
		return tarn_error(TARN_EPROTO, "multi-call payload of %zu bytes has no header",
				  len);
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	if (h.version != MULTI_VERSION)
		return tarn_error(TARN_EPROTO, "multi-call payload has version %u, expected %u",
				  h.version, MULTI_VERSION);
	rets = (size_t)h.ncalls * h.num_returns * sizeof(tarn_ref_t);
	if (h.name_len > 2 * TARN_MAX_NAME + 1 || h.num_returns > TARN_MAX_RETURNS ||
	    h.ncalls == 0 || h.nargs > len / 9 || (size_t)(end - p) < h.name_len ||
	    (size_t)(end - p) - h.name_len < rets)
		return tarn_error(TARN_EPROTO,
				  "multi-call payload truncated or corrupt (%u calls of %u arguments and %u returns in %zu bytes)",
				  h.ncalls, h.nargs, h.num_returns, len);
	memset(m, 0, sizeof(*m));
	memcpy(m->name, p, h.name_len);
	p += h.name_len;
	m->id = h.id;
	m->max_retries = h.max_retries;
	m->retry_on_error = h.retry_on_error;
	m->ncalls = h.ncalls;
	m->num_returns = h.num_returns;
	m->nargs = h.nargs;
	m->returns = p;
	p += rets;
	m->next = p;
	m->end = end;
	/* Every call checked now: next() cannot fail half way through. */
	for (uint32_t c = 0; c < h.ncalls && p; c++)
		p = read_args(p, end, h.nargs, NULL);
	if (p != end)
		return tarn_error(TARN_EPROTO, "multi-call payload for '%s' is truncated or corrupt",
				  m->name);
	return 0;
}

void tarn_payload_multi_fill(const struct payload_multi *m, struct payload *pl)
{
	pl->kind = TARN_TASK_PLAIN;
	memcpy(pl->name, m->name, sizeof(pl->name));
	pl->id = m->id;
	memset(&pl->actor, 0, sizeof(pl->actor));
	pl->max_retries = m->max_retries;
	pl->retry_on_error = m->retry_on_error;
	pl->timeout = 0;
	pl->num_returns = m->num_returns;
	pl->nargs = m->nargs;
}

bool tarn_payload_multi_next(struct payload_multi *m, struct payload *pl)
{
	if (m->done == m->ncalls)
		return false;
	memcpy(pl->returns, m->returns + (size_t)m->done * m->num_returns * sizeof(tarn_ref_t),
	       m->num_returns * sizeof(tarn_ref_t));
	m->next = read_args(m->next, m->end, m->nargs, pl->args);
	m->done++;
	return true;
}
