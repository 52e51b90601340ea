/* A TCP listener on every IPv4 address of the appliance (tcp_listen.h). */
#include "tcp_listen.h"

#include "../kernel/errno.h"
#include "../kernel/log.h"

int net_tcp_listen(uint16_t port, u8_t backlog, tcp_accept_fn accept, void *arg, const char *what,
                   struct tcp_pcb **out)
{
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    struct tcp_pcb *lpcb;
    err_t err;

    if (pcb == NULL) {
        return -ENOMEM;
    }
    err = tcp_bind(pcb, IP4_ADDR_ANY, port);
    if (err != ERR_OK) {
        LOG_ERROR(NET, "%s: cannot bind TCP port %u (lwIP error %d)", what, port, (int)err);
        tcp_abort(pcb);
        return -EIO;
    }
    lpcb = tcp_listen_with_backlog_and_err(pcb, backlog, &err);
    if (lpcb == NULL) {
        /* tcp_listen failed: pcb is still ours. */
        LOG_ERROR(NET, "%s: cannot listen on TCP port %u (lwIP error %d)", what, port, (int)err);
        tcp_abort(pcb);
        return -EIO;
    }
    tcp_arg(lpcb, arg);
    tcp_accept(lpcb, accept);
    if (out != NULL) {
        *out = lpcb;
    }
    return 0;
}
