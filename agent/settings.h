/* settings: rd-agent's configuration table (INI /etc/rdesk/agent.ini, RDESK_*
 * variables, flags) and the identity files in the data directory. */
#ifndef RD_AGENT_SETTINGS_H
#define RD_AGENT_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define AGENT_DEFAULT_CONFIG "/etc/rdesk/agent.ini"
#define AGENT_DEFAULT_DATA_DIR "/var/lib/rdesk-agent"
/* Where earlier builds kept it: below the rendezvous server's state folder,
 * which systemd makes private to that server's dynamic user. */
#define AGENT_LEGACY_DATA_DIR "/var/lib/rdesk/agent"
#define AGENT_RUNTIME_DIR "/run/rd-agent"         /* RuntimeDirectory of the unit */
#define AGENT_ID_MAX 32
#define AGENT_UUID_LEN 16

struct agent_settings {
	char *config;
	/* [server] */
	char *rendezvous;
	char *key;
	char *relay;
	long register_interval;
	bool force_relay;
	/* [agent] */
	char *id;
	char *data_dir;
	long direct_port;
	char *direct_bind;
	bool allow_unencrypted;
	char *control_socket;
	char *log_level;
	char *helper;
	bool sandbox;
	/* [capture] */
	char *capture_backend;
	char *display;
	/* [input] */
	char *input_backend;
	bool view_only;
	long clipboard_max;
	/* [video] */
	char *codec;
	long fps;
	long quality;
	/* [audio] */
	bool audio_enabled;
	char *audio_source;
	long audio_bitrate;
	long audio_frame_ms;
	char *audio_application;
	/* flags */
	bool json;
	bool help;
	bool version;
};

extern const struct rd_config agent_config;

/* Full load (defaults, file, environment, flags); argv[0] is the verb. */
int settings_load(struct agent_settings *st, int argc, char **argv, int *argi, char *err, size_t errlen);
void settings_free(struct agent_settings *st);

/* A valid agent ID: 6-16 digits, or a letter followed by 5-15 of [A-Za-z0-9_-]. */
bool settings_id_valid(const char *id);
/* Random 10-digit ID in [1000000000, 2000000000). */
void settings_id_generate(char out[AGENT_ID_MAX]);
/* DATA_DIR/id (one line). RD_ERR_NOTFOUND when absent, RD_ERR_CONFIG when invalid. */
int settings_id_load(const char *data_dir, char out[AGENT_ID_MAX]);
int settings_id_store(const char *data_dir, const char *id);
/* The ID in effect: [agent] id when set, else DATA_DIR/id. */
int settings_id_effective(const struct agent_settings *st, char out[AGENT_ID_MAX]);
/* DATA_DIR/uuid: 16 random bytes as hex, made once. */
int settings_uuid_load_or_create(const char *data_dir, uint8_t uuid[AGENT_UUID_LEN], bool *created);
/* The folder an earlier version left the agent's state in, when DATA_DIR is
 * the default and holds no ID while AGENT_LEGACY_DATA_DIR/id exists and is
 * readable; else NULL. The daemon only says so: moving it needs root. */
const char *settings_legacy_dir(const char *data_dir);
/* Control socket path: control-socket, else $RUNTIME_DIRECTORY/control.sock,
 * else DATA_DIR/control.sock. */
int settings_control_path(const struct agent_settings *st, char *out, size_t outsz);

#endif
