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

int tarn_payload_size(const struct payload_in *in, size_t *len)
{
	size_t name_len = strlen(in->name), total;

	if (name_len > 2 * TARN_MAX_NAME + 1)
		return tarn_error(TARN_EINVAL, "name '%s' is too long", in->name);
	total = sizeof(struct wire_header) + name_len + in->num_returns * sizeof(tarn_ref_t);
	for (size_t i = 0; i < in->nargs; i++) {
		const tarn_arg_t *a = &in->args[i];

		total += 1 + sizeof(uint64_t);
		switch (a->kind) {
		case TARN_ARG_REF:
			total += sizeof(tarn_ref_t);
			break;
		case TARN_ARG_SMALL:
			if (a->len > sizeof(a->u.small))
				return tarn_error(TARN_EINVAL,
						  "argument %zu of '%s': a small argument holds at most %zu bytes, got %zu",
						  i, in->name, sizeof(a->u.small), a->len);
			total += a->len;
			break;
		case TARN_ARG_BYTES:
			if (a->len && !a->u.data)
				return tarn_error(TARN_EINVAL,
						  "argument %zu of '%s': %zu bytes at NULL",
						  i, in->name, a->len);
			total += a->len;
			break;
		default:
			return tarn_error(TARN_EINVAL,
					  "argument %zu of '%s': unknown kind %d (allowed: TARN_ARG_BYTES, TARN_ARG_SMALL, TARN_ARG_REF)",
					  i, in->name, a->kind);
		}
	}

	*len = total;
	return 0;
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
	for (size_t i = 0; i < in->nargs; i++) {
		const tarn_arg_t *a = &in->args[i];
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
	for (uint32_t i = 0; i < h.nargs; i++) {
		struct payload_arg *a = &pl->args[i];
		uint64_t n;

		if ((size_t)(end - p) < 1 + sizeof(n))
			goto corrupt;
		a->kind = *p++;
		memcpy(&n, p, sizeof(n));
		p += sizeof(n);
		if ((uint64_t)(end - p) < n)
			goto corrupt;
		if (a->kind == TARN_ARG_REF) {
			if (n != sizeof(tarn_ref_t))
				goto corrupt;
			memcpy(&a->ref, p, sizeof(tarn_ref_t));
		} else if (a->kind == TARN_ARG_BYTES) {
			a->data = p;
			a->len = n;
		} else {
			goto corrupt;
		}
		p += n;
	}
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
