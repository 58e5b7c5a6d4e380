/*
 * netlink_kernel_shim — lets libusb hear the emulated printer's kernel uevents.
 *
 * umockdev's preload turns a NETLINK_KOBJECT_UEVENT socket into a Unix socket in the
 * testbed ($UMOCKDEV_DIR/eventN) and stamps every message received on it as coming from
 * the udev daemon (nl_groups 2). libusb's netlink monitor (linux_netlink.c) takes only
 * kernel messages (nl_groups 1, nl_pid 0): under plain umockdev it never hears a device
 * come or go. emulated_printer.c sends kernel-format uevents ("add@/devices/...", then
 * KEY=value strings, as lib/kobject_uevent.c does); this library, preloaded before
 * umockdev's, restamps those (and only those: udev's start with "libudev") as the
 * kernel's. Build: cc -shared -fPIC -o netlink_kernel_shim.so netlink_kernel_shim.c -ldl
 * Use: LD_PRELOAD=./netlink_kernel_shim.so:libumockdev-preload.so.0
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    static ssize_t (*next)(int, struct msghdr *, int);
    if (!next)
        next = (ssize_t(*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
    ssize_t n = next(fd, msg, flags);
    if (n > 0 && msg->msg_name && msg->msg_namelen >= sizeof(struct sockaddr_nl) && msg->msg_iovlen > 0) {
        struct sockaddr_nl *nl = msg->msg_name;
        const char *data = msg->msg_iov[0].iov_base;
        if (nl->nl_family == AF_NETLINK && nl->nl_groups == 2 && strncmp(data, "libudev", 7) != 0 &&
            strchr(data, '@')) {
            nl->nl_groups = 1;
            nl->nl_pid = 0;
        }
    }
    return n;
}
