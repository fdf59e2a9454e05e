#include "stop_signal.h"
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int sig) {
    (void)sig;
    if (stop_requested) _exit(130);
    stop_requested = 1;
}

void sf_install_stop_signal_handlers(void) {
    struct sigaction sa;
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
}

int sf_stop_requested(void) { return stop_requested; }
