/* cli: the verbs besides `run` (enroll, password set, id, status). Each
 * returns the process exit status. */
#ifndef RD_AGENT_CLI_H
#define RD_AGENT_CLI_H

int cli_enroll(int argc, char **argv);
int cli_password(int argc, char **argv);
int cli_id(int argc, char **argv);
int cli_status(int argc, char **argv);

/* Set key in [section] of an INI text, keeping everything else (comments,
 * order, other keys). Returns a malloc'd new text. */
char *cli_ini_set(const char *text, const char *section, const char *key, const char *value);

#endif
