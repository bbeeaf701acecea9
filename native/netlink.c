/*
 * petrel_netlink: the few system calls Node cannot make itself — an AF_NETLINK socket, and the
 * struct socket option TCP-MD5 needs (Petrel's one native boundary; no FFI library).
 *
 * Design: this file only moves bytes. Every rtnetlink message is built and parsed in TypeScript
 * (src/dataplane/netlink/codec.ts) into buffers the caller owns and reuses, so the hot path is one
 * sendmsg() per batch of messages and one recv() per kernel skb, with no allocation here.
 *   open(protocol, groups[], rcvbuf, nsPath|null) -> { fd, port, nsInode }
 *       socket + bind + SO_RCVBUF(FORCE) + group memberships, non-blocking, close-on-exec. With
 *       nsPath the socket is created inside that network namespace: setns() on the calling thread,
 *       socket(), setns() back. A socket keeps the namespace it was created in for its whole life.
 *   send(fd, buffer, length) -> bytes sent or -errno
 *   sendAsync(fd, buffer, length, callback) -> undefined; the sendmsg() runs on libuv's thread pool
 *       and callback(bytes sent or -errno) runs on the event loop. rtnetlink does a request's work
 *       inside the sender's sendmsg(), so this is what lets the caller encode the next chunk while
 *       the kernel applies this one. The buffer is referenced until the callback; the caller must
 *       not touch it (nor close the fd) before then.
 *   recv(fd, buffer) -> bytes received or -errno (-EAGAIN: nothing queued; -ENOBUFS: the kernel
 *       dropped messages because our receive buffer was full — the caller must resynchronise)
 *   poll(fd, callback) -> handle; callback() runs on the event loop whenever fd is readable
 *   pollStop(handle); close(fd); nsInodeOfPath(path) -> inode or -errno
 *   tcpSocket(family) -> fd or -errno: a non-blocking, close-on-exec TCP socket (family 4 or 6), for
 *       a connection that needs a socket option before connect() (src/bgp/session/tcp-md5.ts)
 *   setsockopt(fd, level, name, buffer) -> 0 or -errno: the option's bytes as given (struct
 *       tcp_md5sig is laid out in TypeScript, byte by byte, and tested there)
 * Errors are returned as negative errno values; the TypeScript side turns them into NetlinkError
 * (code NL_ERR_<NAME>, errno, operation). Nothing here throws from inside the poll callback: an
 * exception raised by the JS callback is handed to Node's uncaught-exception machinery.
 *
 * What burned us: the `netlink` npm package aborts the whole process from its poll handler when the
 * receive buffer overflows (an uncaught C++ exception). Here an overflow is just -ENOBUFS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <node_api.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

#define CHECK(call)                                                    \
  do {                                                                 \
    if ((call) != napi_ok) {                                           \
      napi_throw_error(env, "NL_ERR_NAPI", "N-API call failed: " #call); \
      return NULL;                                                     \
    }                                                                  \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "open(protocol, groups, rcvbuf, nsPath)");
    return NULL;
  }
  int32_t protocol, rcvbuf;
  if (get_int(env, argv[0], &protocol) || get_int(env, argv[2], &rcvbuf)) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "protocol and rcvbuf must be integers");
    return NULL;
  }
  uint32_t ngroups = 0;
  CHECK(napi_get_array_length(env, argv[1], &ngroups));
  napi_valuetype nstype;
  CHECK(napi_typeof(env, argv[3], &nstype));
  char nspath[4096] = {0};
  if (nstype == napi_string) {
    size_t len;
    CHECK(napi_get_value_string_utf8(env, argv[3], nspath, sizeof nspath, &len));
  }

  int fd = -1, err = 0;
  const char *op = "socket";
  if (nspath[0]) {
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return make_int(env, -errno);
    int target = open(nspath, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      err = errno;
      close(self);
      return make_int(env, -err);
    }
    if (setns(target, CLONE_NEWNET) < 0) {
      err = errno;
      close(self);
      close(target);
      return make_int(env, -err);
    }
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    if (fd < 0) err = errno;
    /* Back to where this thread was. Failing here would leave Node's main thread in another
     * namespace; that cannot be allowed to continue silently. */
    if (setns(self, CLONE_NEWNET) < 0) napi_fatal_error("petrel_netlink", NAPI_AUTO_LENGTH, "setns back to the original network namespace failed", NAPI_AUTO_LENGTH);
    close(self);
    close(target);
    if (fd < 0) return make_int(env, -err);
  } else {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    if (fd < 0) return make_int(env, -errno);
  }

  int one = 1;
  /* A large receive buffer: dumps and event bursts arrive faster than the event loop reads them.
   * SO_RCVBUFFORCE (root) ignores net.core.rmem_max; fall back to SO_RCVBUF otherwise. */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  int sndbuf = 4 * 1024 * 1024;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  /* Error replies carry only the header of the failed request, not all of it. */
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);

  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    op = "bind";
    goto fail;
  }
  for (uint32_t i = 0; i < ngroups; i++) {
    napi_value g;
    int32_t group;
    CHECK(napi_get_element(env, argv[1], i, &g));
    if (get_int(env, g, &group)) continue;
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      op = "setsockopt(NETLINK_ADD_MEMBERSHIP)";
      goto fail;
    }
  }
  socklen_t salen = sizeof sa;
  if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
    op = "getsockname";
    goto fail;
  }
  /* The namespace the socket really lives in (the safety check compares it with PID 1's). */
  int64_t inode = -1;
  int nsfd = ioctl(fd, SIOCGSKNS);
  if (nsfd >= 0) {
    struct stat st;
    if (fstat(nsfd, &st) == 0) inode = (int64_t)st.st_ino;
    close(nsfd);
  }
  napi_value res;
  CHECK(napi_create_object(env, &res));
  CHECK(napi_set_named_property(env, res, "fd", make_int(env, fd)));
  CHECK(napi_set_named_property(env, res, "port", make_int(env, sa.nl_pid)));
  CHECK(napi_set_named_property(env, res, "nsInode", make_int(env, inode)));
  return res;

fail:
  err = errno;
  close(fd);
  {
    napi_value res, opv;
    CHECK(napi_create_object(env, &res));
    CHECK(napi_set_named_property(env, res, "errno", make_int(env, err)));
    CHECK(napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &opv));
    CHECK(napi_set_named_property(env, res, "op", opv));
    return res;
  }
}

static int get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok) return -1;
    return t == napi_uint8_array ? 0 : -1;
  }
  return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, length;
  void *data;
  size_t cap;
  if (argc < 3 || get_int(env, argv[0], &fd) || get_buffer(env, argv[1], &data, &cap) || get_int(env, argv[2], &length) || length < 0 || (size_t)length > cap) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "send(fd, Uint8Array, length)");
    return NULL;
  }
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  struct iovec iov = {data, (size_t)length};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof kernel;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ssize_t n;
  do n = sendmsg(fd, &mh, 0); while (n < 0 && errno == EINTR);
  return make_int(env, n < 0 ? -errno : n);
}

typedef struct {
  napi_async_work work;
  napi_ref buf_ref;
  napi_ref cb_ref;
  int fd;
  void *data;
  size_t len;
  ssize_t result;
} send_job;

static void send_execute(napi_env env, void *p) {
  send_job *j = p;
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  struct iovec iov = {j->data, j->len};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_name = &kernel;
  mh.msg_namelen = sizeof kernel;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ssize_t n;
  do n = sendmsg(j->fd, &mh, 0); while (n < 0 && errno == EINTR);
  j->result = n < 0 ? -errno : n;
}

static void send_complete(napi_env env, napi_status status, void *p) {
  send_job *j = p;
  napi_value cb = NULL, recv, arg;
  napi_get_reference_value(env, j->cb_ref, &cb);
  napi_get_undefined(env, &recv);
  napi_create_int64(env, status == napi_ok ? (int64_t)j->result : -ECANCELED, &arg);
  napi_delete_reference(env, j->cb_ref);
  napi_delete_reference(env, j->buf_ref);
  napi_delete_async_work(env, j->work);
  free(j);
  if (cb) napi_call_function(env, recv, cb, 1, &arg, NULL);
}

static napi_value js_send_async(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, length;
  void *data;
  size_t cap;
  napi_valuetype t = napi_undefined;
  if (argc >= 4) napi_typeof(env, argv[3], &t);
  if (argc < 4 || get_int(env, argv[0], &fd) || get_buffer(env, argv[1], &data, &cap) || get_int(env, argv[2], &length) || length < 0 || (size_t)length > cap || t != napi_function) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "sendAsync(fd, Uint8Array, length, callback)");
    return NULL;
  }
  send_job *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, "NL_ERR_NOMEM", "sendAsync: out of memory");
    return NULL;
  }
  j->fd = fd;
  j->data = data;
  j->len = (size_t)length;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "petrel_netlink_send", NAPI_AUTO_LENGTH, &name));
  if (napi_create_reference(env, argv[1], 1, &j->buf_ref) != napi_ok || napi_create_reference(env, argv[3], 1, &j->cb_ref) != napi_ok ||
      napi_create_async_work(env, NULL, name, send_execute, send_complete, j, &j->work) != napi_ok || napi_queue_async_work(env, j->work) != napi_ok) {
    if (j->work) napi_delete_async_work(env, j->work);
    if (j->cb_ref) napi_delete_reference(env, j->cb_ref);
    if (j->buf_ref) napi_delete_reference(env, j->buf_ref);
    free(j);
    napi_throw_error(env, "NL_ERR_ASYNC", "sendAsync: could not queue the send");
    return NULL;
  }
  return NULL;
}

static napi_value js_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  void *data;
  size_t cap;
  if (argc < 2 || get_int(env, argv[0], &fd) || get_buffer(env, argv[1], &data, &cap)) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "recv(fd, Uint8Array)");
    return NULL;
  }
  ssize_t n;
  do n = recv(fd, data, cap, MSG_DONTWAIT); while (n < 0 && errno == EINTR);
  if (n > 0 && (size_t)n > cap) return make_int(env, -EMSGSIZE);
  return make_int(env, n < 0 ? -errno : n);
}

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  int active;
  int errors; /* consecutive error wake-ups; restarts stop after 1000 (a socket that only errs) */
} poller_t;

static void on_closed(uv_handle_t *h) { free(h->data); }

static void on_readable(uv_poll_t *h, int status, int events) {
  poller_t *p = (poller_t *)h->data;
  napi_env env = p->env;
  /* libuv stops a poll handle when epoll reports POLLERR — which is how a netlink receive-buffer
   * overflow (ENOBUFS in sk_err) shows up. Restart it: the JS side reads, sees -ENOBUFS (which
   * clears the error) and resynchronises. Without this, events silently stopped after the first
   * overflow. */
  if (status < 0 && p->active) {
    if (++p->errors <= 1000) uv_poll_start(&p->handle, UV_READABLE, on_readable);
  } else {
    p->errors = 0;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, result;
  if (napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL && napi_get_global(env, &global) == napi_ok) {
    napi_value arg = make_int(env, status);
    if (napi_call_function(env, global, cb, 1, &arg, &result) == napi_pending_exception) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
      napi_fatal_exception(env, ex);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)data; (void)hint; /* freed by uv_close in pollStop, or lives as long as the loop */
}

static napi_value js_poll(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 2 || get_int(env, argv[0], &fd)) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "poll(fd, callback)");
    return NULL;
  }
  struct uv_loop_s *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, "NL_ERR_ENOMEM", "out of memory");
    return NULL;
  }
  p->env = env;
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback));
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc == 0) {
    p->handle.data = p;
    rc = uv_poll_start(&p->handle, UV_READABLE, on_readable);
  }
  if (rc != 0) {
    napi_delete_reference(env, p->callback);
    free(p);
    return make_int(env, rc);
  }
  p->active = 1;
  /* A netlink socket alone does not keep the process alive: pending requests hold their own timers. */
  uv_unref((uv_handle_t *)&p->handle);
  napi_value ext;
  CHECK(napi_create_external(env, p, poller_finalize, NULL, &ext));
  return ext;
}

static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  poller_t *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&p) != napi_ok || !p) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "pollStop(handle)");
    return NULL;
  }
  if (p->active) {
    p->active = 0;
    uv_poll_stop(&p->handle);
    napi_delete_reference(env, p->callback);
    uv_close((uv_handle_t *)&p->handle, on_closed);
  }
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || get_int(env, argv[0], &fd)) return NULL;
  return make_int(env, close(fd) < 0 ? -errno : 0);
}

static napi_value js_ns_inode_of_path(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) return NULL;
  struct stat st;
  return make_int(env, stat(path, &st) < 0 ? -errno : (int64_t)st.st_ino);
}

static napi_value js_tcp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t family;
  if (argc < 1 || get_int(env, argv[0], &family) || (family != 4 && family != 6)) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "tcpSocket(family 4 or 6)");
    return NULL;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return make_int(env, fd < 0 ? -errno : fd);
}

static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, level, name;
  void *data;
  size_t len;
  if (argc < 4 || get_int(env, argv[0], &fd) || get_int(env, argv[1], &level) || get_int(env, argv[2], &name) ||
      get_buffer(env, argv[3], &data, &len)) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "setsockopt(fd, level, name, Uint8Array)");
    return NULL;
  }
  return make_int(env, setsockopt(fd, level, name, data, (socklen_t)len) < 0 ? -errno : 0);
}

/* attachFilter(fd, program) -> 0 or -errno: SO_ATTACH_FILTER with a classic BPF program given as its
 * struct sock_filter array (8 bytes per instruction, host order). struct sock_fprog holds a pointer,
 * which a byte buffer from JavaScript cannot carry: hence its own call. */
static napi_value js_attach_filter(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  void *data;
  size_t len;
  if (argc < 2 || get_int(env, argv[0], &fd) || get_buffer(env, argv[1], &data, &len) || len == 0 ||
      len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    napi_throw_type_error(env, "NL_ERR_ARGS", "attachFilter(fd, Uint8Array of struct sock_filter)");
    return NULL;
  }
  struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)data};
  return make_int(env, setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"open", 0, js_open, 0, 0, 0, napi_default, 0},
      {"send", 0, js_send, 0, 0, 0, napi_default, 0},
      {"sendAsync", 0, js_send_async, 0, 0, 0, napi_default, 0},
      {"recv", 0, js_recv, 0, 0, 0, napi_default, 0},
      {"poll", 0, js_poll, 0, 0, 0, napi_default, 0},
      {"pollStop", 0, js_poll_stop, 0, 0, 0, napi_default, 0},
      {"close", 0, js_close, 0, 0, 0, napi_default, 0},
      {"nsInodeOfPath", 0, js_ns_inode_of_path, 0, 0, 0, napi_default, 0},
      {"tcpSocket", 0, js_tcp_socket, 0, 0, 0, napi_default, 0},
      {"setsockopt", 0, js_setsockopt, 0, 0, 0, napi_default, 0},
      {"attachFilter", 0, js_attach_filter, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
