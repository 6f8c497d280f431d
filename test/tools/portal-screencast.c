/* portal-screencast: a ScreenCast backend (org.freedesktop.impl.portal.
 * ScreenCast) for xdg-desktop-portal in the portal lab test. It grants one
 * monitor stream, the PipeWire node given on the command line, without a
 * dialog, and keeps sessions restorable: Start returns restore_data (the
 * frontend turns it into a restore token for the client) and SelectSources
 * prints whether the frontend handed such data back.
 *
 *   portal-screencast BUSNAME NODE WxH [SECONDS]
 *
 * NODE is a node id, or @FILE: the id is read from FILE at each Start (the
 * test publishes a fresh producer for each capture).
 * Prints one line per event: "ready", "create_session APP", "select_sources
 * types=T cursor_mode=C persist_mode=P restore=yes|no", "start node=N",
 * "session_closed PATH". Ends after SECONDS (default 300) or on SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#define IMPL_PATH "/org/freedesktop/portal/desktop"
#define IMPL_IF "org.freedesktop.impl.portal.ScreenCast"
#define SESSION_PREFIX "/org/freedesktop/portal/desktop/session"
#define RESTORE_VENDOR "rdesk-test"

static const char *node_arg;
static int width, height;
static uint32_t persist_asked;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Skip the request handle, session handle and app id; return the app id. */
static int read_head(sd_bus_message *m, bool parent, const char **app)
{
	const char *handle, *session, *parent_window;
	int r = sd_bus_message_read(m, "oos", &handle, &session, app);
	if (r >= 0 && parent)
		r = sd_bus_message_read(m, "s", &parent_window);
	return r;
}

static int reply_empty(sd_bus_message *m)
{
	return sd_bus_reply_method_return(m, "ua{sv}", 0, 0);
}

static int method_create_session(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	(void)ud;
	(void)err;
	const char *app;
	int r = read_head(m, false, &app);
	if (r < 0)
		return r;
	printf("create_session app=\"%s\"\n", app);
	fflush(stdout);
	return reply_empty(m);
}

static int method_select_sources(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	(void)ud;
	(void)err;
	const char *app, *key;
	uint32_t types = 0, cursor = 0, persist = 0;
	bool restore = false;
	int r = read_head(m, false, &app);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &key)) < 0)
			break;
		if (strcmp(key, "types") == 0) {
			r = sd_bus_message_read(m, "v", "u", &types);
		} else if (strcmp(key, "cursor_mode") == 0) {
			r = sd_bus_message_read(m, "v", "u", &cursor);
		} else if (strcmp(key, "persist_mode") == 0) {
			r = sd_bus_message_read(m, "v", "u", &persist);
		} else if (strcmp(key, "restore_data") == 0) {
			const char *vendor;
			uint32_t version;
			r = sd_bus_message_enter_container(m, 'v', "(suv)");
			if (r > 0)
				r = sd_bus_message_read(m, "(suv)", &vendor, &version, "s", &key);
			if (r > 0)
				restore = strcmp(vendor, RESTORE_VENDOR) == 0 && version == 1;
			if (r > 0)
				r = sd_bus_message_exit_container(m);
		} else {
			r = sd_bus_message_skip(m, "v");
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	if (r < 0)
		return r;
	persist_asked = persist;
	printf("select_sources types=%u cursor_mode=%u persist_mode=%u restore=%s\n", types,
		cursor, persist, restore ? "yes" : "no");
	fflush(stdout);
	return reply_empty(m);
}

static int method_start(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	(void)ud;
	(void)err;
	const char *app;
	sd_bus_message *reply = NULL;
	uint32_t node_id = 0;
	if (node_arg[0] == '@') {
		FILE *f = fopen(node_arg + 1, "r");
		if (!f || fscanf(f, "%u", &node_id) != 1)
			fprintf(stderr, "portal-screencast: no node id in %s\n", node_arg + 1);
		if (f)
			fclose(f);
	} else {
		node_id = (uint32_t)strtoul(node_arg, NULL, 10);
	}
	int r = read_head(m, true, &app);
	if (r >= 0)
		r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_append(reply, "u", 0);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(reply, "{sv}", "streams", "a(ua{sv})", 1, node_id, 2,
			"size", "(ii)", width, height, "source_type", "u", 1);
	if (r >= 0 && persist_asked)
		r = sd_bus_message_append(reply, "{sv}{sv}", "persist_mode", "u", persist_asked,
			"restore_data", "(suv)", RESTORE_VENDOR, 1, "s", "monitor-0");
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	printf("start node=%u\n", node_id);
	fflush(stdout);
	return r < 0 ? r : 1;
}

static int get_u32(sd_bus *bus, const char *path, const char *iface, const char *prop,
	sd_bus_message *reply, void *ud, sd_bus_error *err)
{
	(void)bus;
	(void)path;
	(void)iface;
	(void)err;
	uint32_t v = strcmp(prop, "AvailableSourceTypes") == 0 ? 1 :
		strcmp(prop, "AvailableCursorModes") == 0 ? 3 : 4;
	(void)ud;
	return sd_bus_message_append(reply, "u", v);
}

static int method_session_close(sd_bus_message *m, void *ud, sd_bus_error *err)
{
	(void)ud;
	(void)err;
	printf("session_closed %s\n", sd_bus_message_get_path(m));
	fflush(stdout);
	return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable screencast_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("CreateSession", "oosa{sv}", "ua{sv}", method_create_session, 0),
	SD_BUS_METHOD("SelectSources", "oosa{sv}", "ua{sv}", method_select_sources, 0),
	SD_BUS_METHOD("Start", "ooss" "a{sv}", "ua{sv}", method_start, 0),
	SD_BUS_PROPERTY("AvailableSourceTypes", "u", get_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("AvailableCursorModes", "u", get_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("version", "u", get_u32, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable session_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Close", "", "", method_session_close, 0),
	SD_BUS_VTABLE_END,
};

int main(int argc, char **argv)
{
	if (argc < 4 || sscanf(argv[3], "%dx%d", &width, &height) != 2) {
		fprintf(stderr, "usage: portal-screencast BUSNAME NODE|@FILE WxH [SECONDS]\n");
		return 2;
	}
	node_arg = argv[2];
	double seconds = argc > 4 ? atof(argv[4]) : 300;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	sd_bus *bus = NULL;
	int r = sd_bus_open_user(&bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, IMPL_PATH, IMPL_IF, screencast_vtable, NULL);
	if (r >= 0)
		r = sd_bus_add_fallback_vtable(bus, NULL, SESSION_PREFIX,
			"org.freedesktop.impl.portal.Session", session_vtable, NULL, NULL);
	if (r >= 0)
		r = sd_bus_request_name(bus, argv[1], 0);
	if (r < 0) {
		fprintf(stderr, "portal-screencast: %s\n", strerror(-r));
		sd_bus_unref(bus);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			fprintf(stderr, "portal-screencast: %s\n", strerror(-r));
			break;
		}
		if (r > 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= seconds)
			break;
		r = sd_bus_wait(bus, 500000);
		if (r < 0 && r != -EINTR)
			break;
	}
	sd_bus_flush_close_unref(bus);
	return 0;
}
