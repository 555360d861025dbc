/* config.c — the Kubernetes client's configuration: the in-cluster
 * service account, or a kubeconfig file read with libyaml (see config.h).
 *
 * The kubeconfig fields read: current-context; contexts[].context.{cluster,
 * user, namespace}; clusters[].cluster.{server, certificate-authority,
 * certificate-authority-data, insecure-skip-tls-verify}; users[].user.
 * {token, tokenFile, client-certificate[-data], client-key[-data]}. Others
 * are ignored, except user.exec and user.auth-provider, which are refused
 * with a clear message instead of failing later with a 401. */
#include "k8s/config.h"
#include "base/util.h"

#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Reads the whole file at path into out (appended). 0 or -1 with errno. */
static int file_read(struct buf *out, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void buf_wipe(struct buf *b)
{
	if (b->cap)
		explicit_bzero(b->ptr, b->cap);
	buf_release(b);
}

static void str_wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void k8s_config_release(struct k8s_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->namespace);
	buf_release(&c->ca);
	str_wipe(c->token);
	free(c->token_file);
	buf_release(&c->cert);
	buf_wipe(&c->key);
	memset(c, 0, sizeof(*c));
	c->ca = c->cert = c->key = (struct buf)BUF_INIT;
}

static void config_init(struct k8s_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ca = c->cert = c->key = (struct buf)BUF_INIT;
}

int k8s_config_token(const struct k8s_config *c, char **out, struct err *e)
{
	*out = NULL;
	if (c->token) {
		*out = xstrdup(c->token);
		return 0;
	}
	if (!c->token_file)
		return 0;
	struct buf b = BUF_INIT;
	if (file_read(&b, c->token_file))
		return err_set(e, ERR_AUTH, "k8s_token", "cannot read the token file '%.150s': %s",
			       c->token_file, strerror(errno));
	size_t start = 0, end = b.len;
	while (start < end && strchr(" \t\r\n", b.ptr[start]))
		start++;
	while (end > start && strchr(" \t\r\n", b.ptr[end - 1]))
		end--;
	*out = xstrndup(b.ptr + start, end - start);
	buf_wipe(&b);
	return 0;
}

/* ---- in the cluster ---- */

int k8s_config_incluster(struct k8s_config *out, struct err *e)
{
	config_init(out);
	int rc = 0;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	/* for the tests only: they cannot write the real directory */
	const char *dir = getenv("PLUE_K8S_SA_DIR");
	if (!dir || !*dir)
		dir = K8S_SA_DIR;
	char *ca = xasprintf("%s/ca.crt", dir);
	char *ns = xasprintf("%s/namespace", dir);
	struct buf nsb = BUF_INIT;
	if (!host || !*host || !port || !*port) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "not in a Kubernetes cluster: KUBERNETES_SERVICE_HOST and "
			     "KUBERNETES_SERVICE_PORT are unset (give a kubeconfig)");
		goto done;
	}
	/* an IPv6 address goes in brackets */
	out->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port)
					: xasprintf("https://%s:%s", host, port);
	out->token_file = xasprintf("%s/token", dir);
	if (file_read(&out->ca, ca)) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "cannot read the service account's CA '%.150s': %s", ca,
			     strerror(errno));
		goto done;
	}
	char *probe = NULL;
	if ((rc = k8s_config_token(out, &probe, e)))
		goto done;
	str_wipe(probe);
	if (!file_read(&nsb, ns)) {
		size_t n = strcspn(nsb.ptr, " \t\r\n");
		if (n)
			out->namespace = xstrndup(nsb.ptr, n);
	}
done:
	buf_release(&nsb);
	free(ca);
	free(ns);
	if (rc)
		k8s_config_release(out);
	return rc;
}

/* ---- a kubeconfig ---- */

struct kc {
	yaml_document_t doc;
	const char *path;
	char *dir; /* the kubeconfig's directory, for relative paths */
};

/* The scalar value of key in the mapping node, or NULL. */
static yaml_node_t *map_get(struct kc *kc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&kc->doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(&kc->doc, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *map_str(struct kc *kc, yaml_node_t *map, const char *key)
{
	const char *s = scalar(map_get(kc, map, key));
	return s && *s ? s : NULL;
}

/* The `inner` mapping of the entry of list (clusters, users, contexts)
 * whose name is name: clusters: [{name: x, cluster: {...}}]. */
static yaml_node_t *named(struct kc *kc, const char *list, const char *name, const char *inner)
{
	yaml_node_t *seq = map_get(kc, yaml_document_get_root_node(&kc->doc), list);
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *entry = yaml_document_get_node(&kc->doc, *i);
		const char *n = map_str(kc, entry, "name");
		if (n && !strcmp(n, name)) {
			yaml_node_t *in = map_get(kc, entry, inner);
			return in && in->type == YAML_MAPPING_NODE ? in : NULL;
		}
	}
	return NULL;
}

/* A path from the kubeconfig: absolute, or relative to its directory. */
static char *kc_path(struct kc *kc, const char *p)
{
	return p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", kc->dir, p);
}

/* Fills out from field-data (base64 PEM) or field (a file). what names it
 * in messages. 0 when neither is set. */
static int kc_blob(struct kc *kc, yaml_node_t *map, const char *field, struct buf *out,
		   const char *what, struct err *e)
{
	char *data_key = xasprintf("%s-data", field);
	const char *data = map_str(kc, map, data_key);
	const char *file = map_str(kc, map, field);
	int rc = 0;
	if (data) {
		size_t len = strlen(data), got = 0;
		buf_grow(out, len);
		if (sodium_base642bin((unsigned char *)out->ptr, out->cap, data, len, " \t\r\n",
				      &got, NULL, sodium_base64_VARIANT_ORIGINAL)) {
			rc = err_set(e, ERR_INVALID, "k8s_config",
				     "kubeconfig '%.120s': %s is not valid base64", kc->path,
				     data_key);
			goto done;
		}
		buf_setlen(out, got);
	} else if (file) {
		char *p = kc_path(kc, file);
		if (file_read(out, p))
			rc = err_set(e, ERR_INVALID, "k8s_config",
				     "kubeconfig '%.100s': cannot read the %s '%.100s': %s",
				     kc->path, what, p, strerror(errno));
		free(p);
	}
done:
	free(data_key);
	return rc;
}

int k8s_config_load(struct k8s_config *out, const char *path, struct err *e)
{
	config_init(out);
	struct kc kc = { .path = path };
	int rc = 0;
	bool loaded = false;
	yaml_parser_t parser;
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_INVALID, "k8s_config",
			       "cannot open the kubeconfig '%.150s': %s", path, strerror(errno));
	char *copy = xstrdup(path);
	kc.dir = xstrdup(dirname(copy));
	free(copy);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &kc.doc)) {
		rc = err_set(e, ERR_INVALID, "k8s_config", "kubeconfig '%.120s':%zu:%zu: %s", path,
			     parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			     parser.problem ? parser.problem : "cannot parse");
		goto done;
	}
	loaded = true;
	yaml_node_t *root = yaml_document_get_root_node(&kc.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		rc = err_set(e, ERR_INVALID, "k8s_config", "kubeconfig '%.150s' is not a mapping",
			     path);
		goto done;
	}
	const char *current = map_str(&kc, root, "current-context");
	if (!current) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "kubeconfig '%.150s' has no current-context", path);
		goto done;
	}
	yaml_node_t *ctx = named(&kc, "contexts", current, "context");
	if (!ctx) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "kubeconfig '%.120s': no context named '%.60s'", path, current);
		goto done;
	}
	const char *cname = map_str(&kc, ctx, "cluster");
	const char *uname = map_str(&kc, ctx, "user");
	const char *ns = map_str(&kc, ctx, "namespace");
	yaml_node_t *cluster = cname ? named(&kc, "clusters", cname, "cluster") : NULL;
	if (!cluster) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "kubeconfig '%.120s': context '%.40s' names no known cluster '%.40s'",
			     path, current, cname ? cname : "");
		goto done;
	}
	const char *server = map_str(&kc, cluster, "server");
	if (!server || (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "kubeconfig '%.120s': cluster '%.40s' has no http(s) server", path,
			     cname);
		goto done;
	}
	size_t slen = strlen(server);
	while (slen && server[slen - 1] == '/')
		slen--;
	out->server = xstrndup(server, slen);
	if (ns)
		out->namespace = xstrdup(ns);
	const char *insecure = map_str(&kc, cluster, "insecure-skip-tls-verify");
	out->insecure = insecure && !strcmp(insecure, "true");
	if ((rc = kc_blob(&kc, cluster, "certificate-authority", &out->ca, "certificate authority",
			  e)))
		goto done;
	yaml_node_t *user = uname ? named(&kc, "users", uname, "user") : NULL;
	if (uname && !user) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "kubeconfig '%.120s': context '%.40s' names no known user '%.40s'",
			     path, current, uname);
		goto done;
	}
	if (user && (map_get(&kc, user, "exec") || map_get(&kc, user, "auth-provider"))) {
		rc = err_set(e, ERR_INVALID, "k8s_config",
			     "kubeconfig '%.100s': user '%.40s' gets its credentials from a "
			     "plugin, which plue does not run; give a token, tokenFile or "
			     "client certificate",
			     path, uname);
		goto done;
	}
	if (user) {
		const char *token = map_str(&kc, user, "token");
		const char *token_file = map_str(&kc, user, "tokenFile");
		if (token)
			out->token = xstrdup(token);
		else if (token_file)
			out->token_file = kc_path(&kc, token_file);
		if ((rc = kc_blob(&kc, user, "client-certificate", &out->cert, "client certificate",
				  e)) ||
		    (rc = kc_blob(&kc, user, "client-key", &out->key, "client key", e)))
			goto done;
		if (!out->cert.len != !out->key.len) {
			rc = err_set(e, ERR_INVALID, "k8s_config",
				     "kubeconfig '%.120s': user '%.40s' has a client certificate "
				     "without its key, or a key without its certificate",
				     path, uname);
			goto done;
		}
	}
done:
	if (loaded)
		yaml_document_delete(&kc.doc);
	yaml_parser_delete(&parser);
	fclose(f);
	free(kc.dir);
	if (rc)
		k8s_config_release(out);
	return rc;
}
