/* enroll: write the configuration and create the agent's identity. Running it
 * again with the same values changes no byte and no file time. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "json.h"
#include "login.h"
#include "net.h"
#include "settings.h"
#include "util.h"

static bool ini__is_section(const char *line, size_t len, char *name, size_t namesz)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != '[')
		return false;
	const char *end = memchr(line + i, ']', len - i);
	if (!end)
		return false;
	size_t n = (size_t)(end - (line + i + 1));
	if (n >= namesz)
		n = namesz - 1;
	memcpy(name, line + i + 1, n);
	name[n] = 0;
	return true;
}

static bool ini__is_key(const char *line, size_t len, const char *key)
{
	size_t i = 0, k = strlen(key);
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i < k || strncmp(line + i, key, k) != 0)
		return false;
	i += k;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && (line[i] == '=' || line[i] == ':');
}

static void ini__append(char **out, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*out = xrealloc(*out, *cap);
	}
	memcpy(*out + *len, p, n);
	*len += n;
	(*out)[*len] = 0;
}

char *cli_ini_set(const char *text, const char *section, const char *key, const char *value)
{
	char *out = NULL, cur[64] = "", kv[1024];
	size_t len = 0, cap = 0;
	bool done = false, in_sec = false;
	size_t insert_at = 0; /* end of the last non-blank line of the section */
	int kvn = snprintf(kv, sizeof(kv), "%s = %s\n", key, value);
	ini__append(&out, &len, &cap, "", 0);
	for (const char *p = text; *p && !done;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (ini__is_section(p, n, cur, sizeof(cur))) {
			in_sec = strcmp(cur, section) == 0;
			ini__append(&out, &len, &cap, p, n);
			if (in_sec)
				insert_at = len;
		} else if (in_sec && ini__is_key(p, n, key)) {
			ini__append(&out, &len, &cap, kv, (size_t)kvn);
			ini__append(&out, &len, &cap, p + n, strlen(p + n));
			return out;
		} else {
			ini__append(&out, &len, &cap, p, n);
			if (in_sec && strspn(p, " \t\r\n") < n)
				insert_at = len;
		}
		if (!nl && n && out[len - 1] != '\n')
			ini__append(&out, &len, &cap, "\n", 1);
		p += n;
	}
	if (insert_at) {
		/* The section exists: add the key after its last line. */
		char *tail = xstrdup(out + insert_at);
		len = insert_at;
		ini__append(&out, &len, &cap, kv, (size_t)kvn);
		ini__append(&out, &len, &cap, tail, strlen(tail));
		free(tail);
		return out;
	}
	char hdr[96];
	int hn = snprintf(hdr, sizeof(hdr), "%s[%s]\n", len ? "\n" : "", section);
	ini__append(&out, &len, &cap, hdr, (size_t)hn);
	ini__append(&out, &len, &cap, kv, (size_t)kvn);
	return out;
}

struct enroll_out {
	char id[AGENT_ID_MAX];
	char pk_b64[RD_B64_PK_LEN + 1];
	char fp[RD_FINGERPRINT_LEN];
	bool config_changed, id_created, id_changed, key_created, uuid_created, password_changed;
};

/* The first line of FILE ("-": stdin) into pw (sodium-allocated by the caller). */
static int enroll__read_password(const char *file, char *pw, size_t pwsz)
{
	int fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? RD_ERR_NOTFOUND : RD_ERR_IO;
	size_t len = 0;
	int rc = RD_OK;
	while (!memchr(pw, '\n', len)) {
		if (len + 1 >= pwsz) {
			rc = RD_ERR_TOOBIG;
			break;
		}
		ssize_t n = read(fd, pw + len, pwsz - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = RD_ERR_IO;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	pw[len] = 0;
	pw[strcspn(pw, "\r\n")] = 0;
	if (rc == RD_OK && !pw[0])
		rc = RD_ERR_INVAL;
	return rc;
}

/* Store the password's hash unless the stored one already matches it, so a
 * second run leaves the file (and its salt) alone. */
static int enroll__password(const char *data_dir, const char *pw, bool *changed)
{
	struct login_password cur;
	if (login_password_load(data_dir, &cur) == RD_OK) {
		uint8_t h1[32];
		rd_pw_hash1(pw, cur.salt, h1);
		bool same = sodium_memcmp(h1, cur.h1, sizeof(h1)) == 0;
		sodium_memzero(h1, sizeof(h1));
		login_password_wipe(&cur);
		if (same)
			return RD_OK;
	}
	int rc = login_password_store(data_dir, pw);
	if (rc < 0)
		fprintf(stderr, "rd-agent enroll: %s/%s: %s\n", data_dir, LOGIN_PW_FILE, rd_strerror(rc));
	else
		*changed = true;
	return rc;
}

/* Take --password-file FILE (or =FILE) out of argv; the rest goes to the
 * settings parser. Returns the new argc, or -1 when the value is missing. */
static int enroll__take_password_file(int argc, char **argv, const char **file)
{
	int out = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--password-file") == 0) {
			if (i + 1 >= argc)
				return -1;
			*file = argv[++i];
		} else if (strncmp(argv[i], "--password-file=", 16) == 0) {
			*file = argv[i] + 16;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

/* The configuration enroll would write, checked; nothing is written here. */
static int enroll__config_text(const char *path, const struct agent_settings *fl, char **out,
	bool *changed)
{
	char *old = NULL, err[512];
	size_t oldlen = 0;
	int rc = rd_read_file(path, 1 << 20, &old, &oldlen);
	bool existed = rc == RD_OK;
	if (rc == RD_ERR_NOTFOUND)
		old = xstrdup("# rd-agent configuration, see rd-agent --help\n");
	else if (rc < 0) {
		fprintf(stderr, "rd-agent: cannot read %s: %s\n", path, rd_strerror(rc));
		return rc;
	}
	const struct { const char *sec, *key, *val; } sets[] = {
		{ "server", "rendezvous", fl->rendezvous }, { "server", "key", fl->key },
		{ "server", "relay", fl->relay }, { "agent", "data-dir", fl->data_dir },
		{ "capture", "backend", fl->capture_backend }, { "capture", "display", fl->display },
		{ "video", "codec", fl->codec },
	};
	char *text = xstrdup(old);
	for (size_t i = 0; i < RD_ARRAY_LEN(sets); i++) {
		if (!sets[i].val)
			continue;
		char *next = cli_ini_set(text, sets[i].sec, sets[i].key, sets[i].val);
		free(text);
		text = next;
	}
	*changed = strcmp(text, old) != 0;
	free(old);
	/* Both the file as it is and as it would be must load. */
	struct agent_settings probe = { 0 };
	rc = existed ? rd_config_load_ini(&agent_config, &probe, path, err, sizeof(err)) : RD_OK;
	rd_config_free(&agent_config, &probe);
	if (rc == RD_OK) {
		rc = rd_config_load_ini_string(&agent_config, &probe, text, path, err, sizeof(err));
		rd_config_free(&agent_config, &probe);
	}
	if (rc < 0) {
		fprintf(stderr, "rd-agent: %s\n", err);
		free(text);
		return rc;
	}
	*out = text;
	return RD_OK;
}

/* The data folder the enrolled agent will use exists and is writable (the
 * flag, else the environment, else the configuration about to be written). */
static int enroll__data_dir_ready(const struct agent_settings *fl, const char *path, const char *text)
{
	struct agent_settings probe = { 0 };
	char err[512];
	const char *env = getenv("RDESK_DATA_DIR");
	int rc = rd_config_load_ini_string(&agent_config, &probe, text, path, err, sizeof(err));
	const char *dir = fl->data_dir ? fl->data_dir : env && *env ? env : probe.data_dir;
	if (rc == RD_OK && dir) {
		if ((rc = rd_mkdir_p(dir, 0700)) == RD_OK && access(dir, W_OK | X_OK) < 0)
			rc = errno == EACCES || errno == EROFS ? RD_ERR_PERM : RD_ERR_IO;
		if (rc < 0)
			fprintf(stderr, "rd-agent enroll: data folder %s: %s; nothing written\n", dir,
				rd_strerror(rc));
	}
	rd_config_free(&agent_config, &probe);
	return rc;
}

static int enroll__identity(const struct agent_settings *st, const char *want_id, struct enroll_out *o)
{
	int rc = rd_mkdir_p(st->data_dir, 0700);
	if (rc < 0) {
		fprintf(stderr, "rd-agent: cannot create %s: %s\n", st->data_dir, rd_strerror(rc));
		return rc;
	}
	struct rd_keypair kp;
	rc = rd_key_load_or_create(st->data_dir, &kp, false, &o->key_created);
	if (rc < 0) {
		fprintf(stderr, "rd-agent: key pair in %s: %s\n", st->data_dir, rd_strerror(rc));
		return rc;
	}
	rd_pk_to_b64(kp.pk, o->pk_b64);
	rd_pk_fingerprint(kp.pk, o->fp);
	rd_keypair_wipe(&kp);
	uint8_t uuid[AGENT_UUID_LEN];
	rc = settings_uuid_load_or_create(st->data_dir, uuid, &o->uuid_created);
	if (rc < 0) {
		fprintf(stderr, "rd-agent: uuid in %s: %s\n", st->data_dir, rd_strerror(rc));
		return rc;
	}
	char cur[AGENT_ID_MAX] = "";
	rc = settings_id_load(st->data_dir, cur);
	if (rc < 0 && rc != RD_ERR_NOTFOUND) {
		fprintf(stderr, "rd-agent: %s/id: %s\n", st->data_dir, rd_strerror(rc));
		return rc;
	}
	if (want_id && strcmp(want_id, cur) != 0) {
		o->id_changed = rc == RD_OK;
		o->id_created = rc != RD_OK;
		rd_strlcpy(cur, want_id, sizeof(cur));
	} else if (rc == RD_ERR_NOTFOUND) {
		settings_id_generate(cur);
		o->id_created = true;
	}
	if ((o->id_created || o->id_changed) && (rc = settings_id_store(st->data_dir, cur)) < 0) {
		fprintf(stderr, "rd-agent: cannot write %s/id: %s\n", st->data_dir, rd_strerror(rc));
		return rc;
	}
	/* An [agent] id in the file wins over the stored one at run time. */
	rd_strlcpy(o->id, st->id && *st->id && !want_id ? st->id : cur, sizeof(o->id));
	return RD_OK;
}

static bool enroll__valid_server(const char *s)
{
	struct rd_sockaddr a;
	if (rd_net_addr_parse_numeric(s, 21116, &a) == RD_OK)
		return true;
	/* A host name: letters, digits, dots and dashes, optional :port. */
	size_t n = strcspn(s, ":");
	if (n == 0 || n > 253 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
		return false;
	if (!s[n])
		return true;
	char *end = NULL;
	long port = strtol(s + n + 1, &end, 10);
	return end && !*end && port > 0 && port < 65536;
}

static void enroll__print(const struct agent_settings *st, const char *path, const struct enroll_out *o)
{
	if (!st->json) {
		printf("%s\n", o->id);
		return;
	}
	struct rd_buf b;
	struct rd_json j;
	rd_buf_init(&b, 0);
	rd_json_init(&j, &b);
	rd_json_obj(&j, NULL);
	rd_json_str(&j, "id", o->id);
	rd_json_str(&j, "server", st->rendezvous);
	rd_json_str(&j, "relay", st->relay ? st->relay : "");
	rd_json_str(&j, "config", path);
	rd_json_str(&j, "data_dir", st->data_dir);
	rd_json_str(&j, "public_key", o->pk_b64);
	rd_json_str(&j, "fingerprint", o->fp);
	rd_json_bool(&j, "changed", o->config_changed || o->id_created || o->id_changed ||
		o->key_created || o->uuid_created || o->password_changed);
	rd_json_end(&j, '}');
	printf("%.*s\n", (int)rd_buf_size(&b), (const char *)rd_buf_ptr(&b));
	rd_buf_free(&b);
}

/* The flags enroll needs, checked before anything is written: 0 or exit 2. */
static int enroll__check_flags(const struct agent_settings *fl)
{
	uint8_t pk[RD_PK_LEN];
	if (!fl->rendezvous || !fl->key) {
		fprintf(stderr, "usage: rd-agent enroll --server HOST[:PORT] --key BASE64 [--relay HOST[:PORT]] "
			"[--id ID] [--password-file FILE|-] [--config FILE] [--json]\n");
		return 2;
	}
	if (rd_pk_from_b64(fl->key, pk) < 0) {
		fprintf(stderr, "rd-agent enroll: --key: not a base64 Ed25519 public key\n");
		return 2;
	}
	if (!enroll__valid_server(fl->rendezvous) || (fl->relay && !enroll__valid_server(fl->relay))) {
		fprintf(stderr, "rd-agent enroll: --server/--relay: expected HOST[:PORT]\n");
		return 2;
	}
	if (fl->id && !settings_id_valid(fl->id)) {
		fprintf(stderr, "rd-agent enroll: --id: \"%s\" is not a valid ID (6-16 digits, or a letter "
			"then 5-15 letters, digits, '_' or '-')\n", fl->id);
		return 2;
	}
	return 0;
}

int cli_enroll(int argc, char **argv)
{
	struct agent_settings fl = { 0 }, st = { 0 };
	char err[512];
	int argi = 0, rc, status = 1;
	const char *pwfile = NULL;
	char *pw = NULL;
	char **copy = xcalloc((size_t)argc + 1, sizeof(char *));
	memcpy(copy, argv, (size_t)argc * sizeof(char *));
	int nargs = enroll__take_password_file(argc, copy, &pwfile);
	if (nargs < 0) {
		free(copy);
		fprintf(stderr, "rd-agent enroll: --password-file needs a FILE (- for stdin)\n");
		status = 2;
		goto out;
	}
	rc = rd_config_parse_flags(&agent_config, &fl, nargs, copy, &argi, err, sizeof(err));
	free(copy);
	if (rc < 0 || argi != nargs) {
		fprintf(stderr, "rd-agent enroll: %s\n", rc < 0 ? err : "unexpected argument");
		status = 2;
		goto out;
	}
	if ((status = enroll__check_flags(&fl)) != 0)
		goto out;
	status = 1;
	/* The password is read before anything is written: a bad file changes nothing. */
	if (pwfile) {
		pw = sodium_malloc(LOGIN_PW_MAX + 1);
		rc = pw ? enroll__read_password(pwfile, pw, LOGIN_PW_MAX + 1) : RD_ERR_NOMEM;
		if (rc < 0) {
			fprintf(stderr, "rd-agent enroll: --password-file %s: %s\n", pwfile,
				rc == RD_ERR_INVAL ? "empty password" : rc == RD_ERR_TOOBIG ? "password too long"
				: rd_strerror(rc));
			goto out;
		}
	}
	const char *path = fl.config ? fl.config : getenv("RDESK_CONFIG");
	if (!path || !*path)
		path = AGENT_DEFAULT_CONFIG;
	struct enroll_out o = { 0 };
	/* Everything is checked before the first write: the configuration as it
	 * would be, and the data folder it names. */
	char *text = NULL;
	if (enroll__config_text(path, &fl, &text, &o.config_changed) < 0)
		goto out;
	rc = enroll__data_dir_ready(&fl, path, text);
	if (rc == RD_OK && o.config_changed && (rc = rd_write_file_atomic(path, text, strlen(text), 0644)) < 0)
		fprintf(stderr, "rd-agent: cannot write %s: %s; nothing written\n", path, rd_strerror(rc));
	free(text);
	if (rc < 0)
		goto out;
	/* Now the effective settings: file as written, environment, flags. */
	char *cargv[] = { argv[0], "--config", (char *)path, NULL };
	if (settings_load(&st, 3, cargv, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "rd-agent: %s\n", err);
		goto out;
	}
	if (fl.data_dir) {
		free(st.data_dir);
		st.data_dir = xstrdup(fl.data_dir);
	}
	st.json = fl.json;
	if (enroll__identity(&st, fl.id, &o) < 0)
		goto out;
	if (pw && enroll__password(st.data_dir, pw, &o.password_changed) < 0)
		goto out;
	enroll__print(&st, path, &o);
	status = 0;
out:
	if (pw)
		sodium_free(pw);
	settings_free(&st);
	rd_config_free(&agent_config, &fl);
	return status;
}
