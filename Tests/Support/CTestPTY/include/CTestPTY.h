// Test support: start a program on a new pseudo-terminal, as a person's terminal would run it.
#ifndef CTESTPTY_H
#define CTESTPTY_H
#include <sys/types.h>

/// Forks with a new pty as the child's controlling terminal and stdio, then execs `path`.
/// Returns the child's pid (or -1) and stores the master side in `*master_fd`.
pid_t lgc_spawn_on_pty(const char *path, char *const argv[], char *const envp[], int columns, int *master_fd);

#endif
