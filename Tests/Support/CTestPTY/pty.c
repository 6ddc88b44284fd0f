#include "CTestPTY.h"
#define _GNU_SOURCE
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

pid_t lgc_spawn_on_pty(const char *path, char *const argv[], char *const envp[], int columns, int *master_fd) {
    struct winsize size;
    memset(&size, 0, sizeof size);
    size.ws_row = 40;
    size.ws_col = (unsigned short)columns;
    pid_t pid = forkpty(master_fd, NULL, NULL, &size);
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec. Other tests' ptys opened in this
        // multithreaded process must not leak into the child: they would tie terminals together.
        closefrom(3);
        // Test threads (libdispatch workers) block signals, and a blocked mask survives exec: the
        // child would never see the SIGINT that Ctrl-C on its terminal sends. Start it as a login would.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        execve(path, argv, envp);
        _exit(127);
    }
    return pid;
}
