/* SPDX-License-Identifier: MIT */
#pragma once

/* The commands of guiloopctl; each returns the exit code (see ctl.h). */

#include "bus-call.h"

int cmd_exec(Client *c, char **args, int n);
int cmd_run(Client *c, char **args, int n);
int cmd_interrupt(Client *c, char **args, int n);
int cmd_shutdown(Client *c, char **args, int n);
int cmd_status(Client *c, char **args, int n);
int cmd_monitor(Client *c, char **args, int n);
int cmd_stacks(Client *c, char **args, int n);
int cmd_console(Client *c, char **args, int n);

/* Standard input to its end (one Ctrl-D on a terminal), checked as code. */
int read_code(int fd, char **out);

/* FILE as the daemon needs it: absolute, from guiloopctl's working directory. */
int absolute_path(const char *file, char **out);
