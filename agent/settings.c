/* settings: rd-agent's configuration table and identity files. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "privsep.h"
#include "util.h"

#define S(field) offsetof(struct agent_settings, field)

static const struct rd_setting agent_table[] = {
	{ "config", 'c', NULL, NULL, "RDESK_CONFIG", RD_CFG_STR, AGENT_DEFAULT_CONFIG, "FILE",
		"configuration file", S(config), 0, 0, RD_CFG_NO_INI },
	{ "server", 's', "server", "rendezvous", "RDESK_RENDEZVOUS", RD_CFG_STR, NULL, "HOST[:PORT]",
		"rendezvous server (port 21116 when omitted)", S(rendezvous), 0, 0, 0 },
	{ "key", 'k', "server", "key", "RDESK_KEY", RD_CFG_STR, NULL, "BASE64",
		"the rendezvous server's public key (rd-rendezvous --print-key)", S(key), 0, 0, 0 },
	{ "relay", 'r', "server", "relay", "RDESK_RELAY", RD_CFG_STR, NULL, "HOST[:PORT]",
		"relay server (default: the one the rendezvous server names)", S(relay), 0, 0, 0 },
	{ "register-interval", 0, "server", NULL, NULL, RD_CFG_INT, "15", "SECS",
		"seconds between RegisterPeer datagrams", S(register_interval), 1, 300, 0 },
	{ "force-relay", 0, "server", NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"never punch; always answer through the relay", S(force_relay), 0, 0, 0 },
	{ "id", 0, "agent", NULL, "RDESK_ID", RD_CFG_STR, NULL, "ID",
		"agent ID (default: the one enroll stored in the data directory)", S(id), 0, 0, 0 },
	{ "data-dir", 'd', "agent", NULL, NULL, RD_CFG_STR, AGENT_DEFAULT_DATA_DIR, "DIR",
		"key pair, ID, uuid and password hash", S(data_dir), 0, 0, 0 },
	{ "direct-port", 0, "agent", NULL, NULL, RD_CFG_INT, "0", "PORT",
		"TCP port of the direct listener (0 = off; usual 21118)", S(direct_port), 0, 65535, 0 },
	{ "direct-bind", 0, "agent", NULL, NULL, RD_CFG_STR, "::", "ADDR",
		"address of the direct listener", S(direct_bind), 0, 0, 0 },
	{ "allow-unencrypted", 0, "agent", NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"accept controllers that decline encryption on direct, LAN or punched paths (never over a relay)", S(allow_unencrypted), 0, 0, 0 },
	{ "control-socket", 0, "agent", NULL, NULL, RD_CFG_STR, NULL, "PATH",
		"status socket (default $RUNTIME_DIRECTORY/control.sock or DATA_DIR/control.sock)",
		S(control_socket), 0, 0, 0 },
	{ "log-level", 'l', "agent", NULL, NULL, RD_CFG_STR, "info", "LEVEL",
		"error, warn, notice, info or debug", S(log_level), 0, 0, 0 },
	{ "helper", 0, "agent", NULL, "RDESK_HELPER", RD_CFG_STR, PRIVSEP_DEFAULT_SOCKET, "PATH",
		"socket of rd-agent-helper, which opens devices for us (none: open them here; "
		"the default socket, when absent, means none)", S(helper), 0, 0, 0 },
	{ "sandbox", 0, "agent", NULL, NULL, RD_CFG_BOOL, "yes", NULL,
		"put the agent under its seccomp filter once started (no: for debugging only)",
		S(sandbox), 0, 0, 0 },
	{ "capture-backend", 0, "capture", "backend", NULL, RD_CFG_STR, "auto", "NAME",
		"auto, x11, drm, pipewire or testsrc", S(capture_backend), 0, 0, 0 },
	{ "display", 0, "capture", NULL, "RDESK_DISPLAY", RD_CFG_STR, NULL, "NAME",
		"X display (:0), DRM card or PipeWire node (default: $DISPLAY)", S(display), 0, 0, 0 },
	{ "input-backend", 0, "input", "backend", NULL, RD_CFG_STR, "auto", "NAME",
		"auto (follows the capture backend), xdo, uinput or none", S(input_backend), 0, 0, 0 },
	{ "view-only", 0, "input", NULL, NULL, RD_CFG_BOOL, "no", NULL,
		"refuse remote keyboard, mouse and clipboard writes", S(view_only), 0, 0, 0 },
	{ "clipboard-max", 0, "input", NULL, NULL, RD_CFG_INT, "262144", "BYTES",
		"largest clipboard text passed either way", S(clipboard_max), 0, 4194304, 0 },
	{ "codec", 0, "video", NULL, NULL, RD_CFG_STR, "auto", "NAME",
		"auto (the controller's preference), h264 or vp9", S(codec), 0, 0, 0 },
	{ "fps", 0, "video", NULL, NULL, RD_CFG_INT, "30", "N", "frames per second", S(fps), 1, 120, 0 },
	{ "quality", 0, "video", NULL, NULL, RD_CFG_INT, "50", "1-100", "picture quality",
		S(quality), 1, 100, 0 },
	{ "audio", 0, "audio", "enabled", NULL, RD_CFG_BOOL, "yes", NULL,
		"send the host's sound to controllers that want it", S(audio_enabled), 0, 0, 0 },
	{ "audio-source", 0, "audio", "source", NULL, RD_CFG_STR, NULL, "NODE",
		"PipeWire sink whose monitor is captured, by name or id (default: the default sink)",
		S(audio_source), 0, 0, 0 },
	{ "audio-bitrate", 0, "audio", "bitrate", NULL, RD_CFG_INT, "64", "KBITS",
		"Opus bitrate in kbit/s", S(audio_bitrate), 6, 510, 0 },
	{ "audio-frame", 0, "audio", "frame", NULL, RD_CFG_INT, "20", "MS",
		"Opus frame length in ms: 10 or 20", S(audio_frame_ms), 10, 20, 0 },
	{ "audio-application", 0, "audio", "application", NULL, RD_CFG_STR, "lowdelay", "MODE",
		"Opus mode: lowdelay (restricted low delay) or audio", S(audio_application), 0, 0, 0 },
	{ "json", 0, NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "machine-readable output",
		S(json), 0, 0, 0 },
	{ "help", 'h', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "this help", S(help), 0, 0, 0 },
	{ "version", 'V', NULL, NULL, NULL, RD_CFG_ACTION, NULL, NULL, "print the version",
		S(version), 0, 0, 0 },
};

const struct rd_config agent_config = {
	.prog = "rd-agent",
	.default_section = "agent",
	.config_setting = "config",
	.table = agent_table,
	.n = RD_ARRAY_LEN(agent_table),
};

/* Where a value came from, for error messages: the environment variable,
 * FILE:LINE of the INI key, or the flag. */
static void settings__where(const struct agent_settings *st, const char *name, const char *value,
	char *out, size_t outsz)
{
	const struct rd_setting *s = NULL;
	for (size_t i = 0; i < RD_ARRAY_LEN(agent_table); i++)
		if (!strcmp(agent_table[i].name, name))
			s = &agent_table[i];
	char env[96];
	const char *ev = s ? getenv(rd_config_env_name(s, env, sizeof(env))) : NULL;
	if (ev && value && !strcmp(ev, value)) {
		snprintf(out, outsz, "%s", env);
		return;
	}
	const char *key = s && s->key ? s->key : name;
	const char *sec = s && s->section ? s->section : "agent";
	FILE *f = st->config ? fopen(st->config, "r") : NULL;
	char line[1024], cur[64] = "agent";
	for (int n = 1; f && fgets(line, sizeof(line), f); n++) {
		char *p = line + strspn(line, " \t");
		if (*p == '[') {
			snprintf(cur, sizeof(cur), "%.*s", (int)strcspn(p + 1, "]"), p + 1);
			continue;
		}
		size_t k = strlen(key);
		if (!strcmp(cur, sec) && !strncmp(p, key, k) && strchr(" \t=:", p[k])) {
			snprintf(out, outsz, "%s:%d: [%s] %s", st->config, n, sec, key);
			fclose(f);
			return;
		}
	}
	if (f)
		fclose(f);
	snprintf(out, outsz, "--%s", name);
}

static bool settings__check(struct agent_settings *st, char *err, size_t errlen)
{
	static const char *const backends[] = { "auto", "x11", "drm", "pipewire", "testsrc" };
	static const char *const codecs[] = { "auto", "h264", "vp9" };
	char where[600];
	bool ok = false;
	for (size_t i = 0; i < RD_ARRAY_LEN(backends); i++)
		ok |= !strcmp(st->capture_backend, backends[i]);
	if (!ok) {
		settings__where(st, "capture-backend", st->capture_backend, where, sizeof(where));
		snprintf(err, errlen, "%s: unknown capture backend \"%.40s\" (auto, x11, drm, pipewire, "
			"testsrc)", where, st->capture_backend);
		return false;
	}
	static const char *const inputs[] = { "auto", "xdo", "uinput", "none" };
	ok = false;
	for (size_t i = 0; i < RD_ARRAY_LEN(inputs); i++)
		ok |= !strcmp(st->input_backend, inputs[i]);
	if (!ok) {
		snprintf(err, errlen, "[input] backend: unknown backend \"%.40s\"", st->input_backend);
		return false;
	}
	ok = false;
	for (size_t i = 0; i < RD_ARRAY_LEN(codecs); i++)
		ok |= !strcmp(st->codec, codecs[i]);
	if (!ok) {
		settings__where(st, "codec", st->codec, where, sizeof(where));
		snprintf(err, errlen, "%s: unknown codec \"%.40s\" (auto, h264, vp9)", where, st->codec);
		return false;
	}
	if (st->audio_frame_ms != 10 && st->audio_frame_ms != 20) {
		settings__where(st, "audio-frame", NULL, where, sizeof(where));
		snprintf(err, errlen, "%s: audio frame must be 10 or 20 ms", where);
		return false;
	}
	if (strcmp(st->audio_application, "lowdelay") != 0 && strcmp(st->audio_application, "audio") != 0) {
		settings__where(st, "audio-application", st->audio_application, where, sizeof(where));
		snprintf(err, errlen, "%s: unknown audio application \"%.40s\" (lowdelay, audio)", where,
			st->audio_application);
		return false;
	}
	if (st->id && *st->id && !settings_id_valid(st->id)) {
		settings__where(st, "id", st->id, where, sizeof(where));
		snprintf(err, errlen, "%s: \"%.40s\" is not a valid ID", where, st->id);
		return false;
	}
	enum rd_log_level lvl;
	if (rd_log_level_parse(st->log_level, &lvl) < 0) {
		settings__where(st, "log-level", st->log_level, where, sizeof(where));
		snprintf(err, errlen, "%s: unknown log level \"%.40s\"", where, st->log_level);
		return false;
	}
	return true;
}

int settings_load(struct agent_settings *st, int argc, char **argv, int *argi, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	int rc = rd_config_load(&agent_config, st, argc, argv, argi, err, errlen);
	if (rc < 0)
		return rc;
	if (!settings__check(st, err, errlen))
		return RD_ERR_CONFIG;
	return RD_OK;
}

void settings_free(struct agent_settings *st)
{
	rd_config_free(&agent_config, st);
}

bool settings_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n < 6 || n > 16)
		return false;
	bool digits = true;
	for (size_t i = 0; i < n; i++)
		digits &= isdigit((unsigned char)id[i]) != 0;
	if (digits)
		return true;
	if (!isalpha((unsigned char)id[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!isalnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

void settings_id_generate(char out[AGENT_ID_MAX])
{
	snprintf(out, AGENT_ID_MAX, "%u", 1000000000u + randombytes_uniform(1000000000u));
}

static int settings__path(const char *dir, const char *name, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= outsz) ? RD_ERR_TOOBIG : RD_OK;
}

int settings_id_load(const char *data_dir, char out[AGENT_ID_MAX])
{
	char path[4096], *text = NULL;
	size_t len = 0;
	int rc = settings__path(data_dir, "id", path, sizeof(path));
	if (rc < 0)
		return rc;
	rc = rd_read_file(path, 256, &text, &len);
	if (rc < 0)
		return rc == RD_ERR_IO && errno == ENOENT ? RD_ERR_NOTFOUND : rc;
	text[strcspn(text, "\r\n")] = 0;
	if (!settings_id_valid(text)) {
		free(text);
		return RD_ERR_CONFIG;
	}
	rd_strlcpy(out, text, AGENT_ID_MAX);
	free(text);
	return RD_OK;
}

int settings_id_store(const char *data_dir, const char *id)
{
	char path[4096], line[AGENT_ID_MAX + 2];
	int rc = settings__path(data_dir, "id", path, sizeof(path));
	if (rc < 0)
		return rc;
	int n = snprintf(line, sizeof(line), "%s\n", id);
	return rd_write_file_atomic(path, line, (size_t)n, 0644);
}

int settings_id_effective(const struct agent_settings *st, char out[AGENT_ID_MAX])
{
	if (st->id && *st->id) {
		rd_strlcpy(out, st->id, AGENT_ID_MAX);
		return RD_OK;
	}
	return settings_id_load(st->data_dir, out);
}

int settings_uuid_load_or_create(const char *data_dir, uint8_t uuid[AGENT_UUID_LEN], bool *created)
{
	char path[4096], *text = NULL;
	size_t len = 0, bin = 0;
	*created = false;
	int rc = settings__path(data_dir, "uuid", path, sizeof(path));
	if (rc < 0)
		return rc;
	rc = rd_read_file(path, 256, &text, &len);
	if (rc == RD_OK) {
		text[strcspn(text, "\r\n")] = 0;
		rc = sodium_hex2bin(uuid, AGENT_UUID_LEN, text, strlen(text), NULL, &bin, NULL) == 0 &&
			bin == AGENT_UUID_LEN ? RD_OK : RD_ERR_CONFIG;
		free(text);
		return rc;
	}
	if (!(rc == RD_ERR_IO && errno == ENOENT) && rc != RD_ERR_NOTFOUND)
		return rc;
	char hex[AGENT_UUID_LEN * 2 + 2];
	randombytes_buf(uuid, AGENT_UUID_LEN);
	sodium_bin2hex(hex, sizeof(hex), uuid, AGENT_UUID_LEN);
	strcat(hex, "\n");
	rc = rd_write_file_atomic(path, hex, strlen(hex), 0600);
	if (rc == RD_OK)
		*created = true;
	return rc;
}

const char *settings_legacy_dir(const char *data_dir)
{
	struct stat st;
	if (!data_dir || strcmp(data_dir, AGENT_DEFAULT_DATA_DIR) != 0)
		return NULL;
	if (stat(AGENT_DEFAULT_DATA_DIR "/id", &st) == 0 || errno != ENOENT)
		return NULL;
	return access(AGENT_LEGACY_DATA_DIR "/id", R_OK) == 0 ? AGENT_LEGACY_DATA_DIR : NULL;
}

int settings_control_path(const struct agent_settings *st, char *out, size_t outsz)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	int n;
	if (st->control_socket && *st->control_socket)
		n = snprintf(out, outsz, "%s", st->control_socket);
	else if (rt && *rt)
		n = snprintf(out, outsz, "%.*s/control.sock", (int)strcspn(rt, ":"), rt);
	else
		n = snprintf(out, outsz, "%s/control.sock", st->data_dir);
	return (n < 0 || (size_t)n >= outsz) ? RD_ERR_TOOBIG : RD_OK;
}
