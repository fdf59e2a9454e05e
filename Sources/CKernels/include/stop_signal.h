#ifndef STOP_SIGNAL_H
#define STOP_SIGNAL_H
/* Ctrl-C (SIGINT) and SIGTERM set a flag instead of killing the process, so the trainer can
   finish its step, save a checkpoint and exit. A second signal exits at once (status 130). */
void sf_install_stop_signal_handlers(void);
int sf_stop_requested(void);
#endif
