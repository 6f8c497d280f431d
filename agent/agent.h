/* agent: the daemon. One libev loop; the rendezvous client, the reachability
 * jobs, the direct listener, the sessions and the control socket all hang
 * off it, each given an ops table and this agent as its user data: only
 * agent.c wires them. */
#ifndef RD_AGENT_AGENT_H
#define RD_AGENT_AGENT_H

/* `rd-agent run`: argv[0] is "run". Returns the exit status. */
int agent_main(int argc, char **argv);

#endif
