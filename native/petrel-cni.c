/*
 * petrel-cni: the CNI plugin binary that a container runtime executes from /opt/cni/bin.
 *
 * Design (docs/cni.md has the reasons): the runtime runs this program on the node itself, where no
 * Node.js may exist, once per ADD/DEL/CHECK/GC/STATUS. It is a small static executable that does no
 * networking of its own: it hands the CNI request (the CNI_* environment and the network
 * configuration from stdin) to the node's petrel agent over a Unix socket and prints the agent's
 * answer. The agent owns IPAM and every netlink write, so allocation, the pod's veth and the host
 * route are done by one process that already keeps the node's routes.
 *
 *   request  := "PCNI1" NUL { "KEY=VALUE" NUL }* NUL <stdin bytes>      (then shutdown(SHUT_WR))
 *   response := <exit status, ASCII digits> LF <bytes for stdout>        (until the agent closes)
 *
 * What it answers itself, without the agent:
 *   - VERSION (the versions the agent implements are fixed at build time, below);
 *   - a missing CNI_COMMAND (error 4) or an unreadable stdin (error 6);
 *   - the agent is not reachable: ADD/CHECK/GC get error 11 "try again later", STATUS error 50;
 *     DEL succeeds (the CNI spec wants DEL to succeed when resources are already gone) and leaves a
 *     marker in <stateDir>/cni/pending-del/ that the agent finishes (releases the address, removes
 *     the host veth if it is still there) when it starts.
 * The socket and state directories are read from the configuration's top-level "runDir" and
 * "stateDir" strings (`petrel install-cni` writes them), so several lab nodes on one machine each
 * reach their own agent. Defaults: /var/run/petrel and /var/lib/petrel.
 *
 * Bounded: stdin up to 1 MiB, the agent's answer up to 4 MiB and PETREL_CNI_TIMEOUT seconds
 * (default 60; a runtime's own timeout is usually longer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_STDIN (1 << 20)
#define MAX_ANSWER (4 << 20)
#define SUPPORTED "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

static const char *FORWARDED[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH", NULL};

static char cni_version[64] = "1.1.0";

/* Writes `s` as the body of a JSON string (RFC 8259 §7 escapes). */
static void json_escaped(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
}

/* Prints the CNI error object on stdout (CNI spec "Error") and returns exit status 1. */
static int fail(int code, const char *msg, const char *fmt, ...) {
  char details[1024] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(details, sizeof details, fmt, ap);
    va_end(ap);
  }
  printf("{\"cniVersion\":\"");
  json_escaped(stdout, cni_version);
  printf("\",\"code\":%d,\"msg\":\"", code);
  json_escaped(stdout, msg);
  printf("\"");
  if (details[0]) {
    printf(",\"details\":\"");
    json_escaped(stdout, details);
    printf("\"");
  }
  printf("}\n");
  return 1;
}

/* ---- a top-level string field of the JSON configuration -------------------------------------- */

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* Reads a JSON string at p (at the opening quote) into out (if out != NULL); returns the position
 * after the closing quote, or NULL when malformed or too long. \u escapes other than ASCII give NULL
 * (none of the fields read here needs them). */
static const char *read_string(const char *p, const char *end, char *out, size_t cap) {
  size_t n = 0;
  if (p >= end || *p != '"') return NULL;
  for (p++; p < end; p++) {
    char c = *p;
    if (c == '"') {
      if (out) out[n] = 0;
      return p + 1;
    }
    if (c == '\\') {
      if (++p >= end) return NULL;
      switch (*p) {
        case '"': case '\\': case '/': c = *p; break;
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': {
          if (end - p < 5) return NULL;
          unsigned v = 0;
          for (int i = 1; i <= 4; i++) {
            char h = p[i];
            v = v * 16 + (h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
            if (v > 0xffff) return NULL;
          }
          if (v == 0 || v > 0x7f) return NULL;
          c = (char)v;
          p += 4;
          break;
        }
        default: return NULL;
      }
    }
    if (out) {
      if (n + 1 >= cap) return NULL;
      out[n++] = c;
    }
  }
  return NULL;
}

/* Skips one JSON value; returns the position after it or NULL. Nesting is bounded. */
static const char *skip_value(const char *p, const char *end) {
  int depth = 0;
  p = skip_ws(p, end);
  do {
    if (p >= end) return NULL;
    if (*p == '"') {
      if (!(p = read_string(p, end, NULL, 0))) return NULL;
    } else if (*p == '{' || *p == '[') {
      if (++depth > 64) return NULL;
      p++;
    } else if (*p == '}' || *p == ']') {
      if (--depth < 0) return NULL;
      p++;
    } else if (depth == 0) {
      while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') p++;
    } else {
      p++;
    }
  } while (depth > 0);
  return p;
}

/* Finds the top-level string field `key` of the object in [p, end); 1 = found (into out). */
static int top_level_string(const char *p, const char *end, const char *key, char *out, size_t cap) {
  char name[128];
  p = skip_ws(p, end);
  if (p >= end || *p != '{') return 0;
  p++;
  for (int fields = 0; fields < 4096; fields++) {
    p = skip_ws(p, end);
    if (p < end && *p == '}') return 0;
    const char *after = read_string(p, end, name, sizeof name);
    if (!after) { /* a key longer than any of ours: skip it */
      if (!(after = read_string(p, end, NULL, 0))) return 0;
      name[0] = 0;
    }
    p = skip_ws(after, end);
    if (p >= end || *p != ':') return 0;
    p = skip_ws(p + 1, end);
    if (strcmp(name, key) == 0 && p < end && *p == '"') return read_string(p, end, out, cap) != NULL;
    if (!(p = skip_value(p, end))) return 0;
    p = skip_ws(p, end);
    if (p < end && *p == ',') { p++; continue; }
    return 0;
  }
  return 0;
}

/* ---- I/O ------------------------------------------------------------------------------------- */

static int write_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static char *read_stdin(size_t *len) {
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  if (!b) return NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_STDIN) { free(b); errno = EFBIG; return NULL; }
      cap *= 2;
      char *nb = realloc(b, cap);
      if (!nb) { free(b); return NULL; }
      b = nb;
    }
    ssize_t r = read(0, b + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      free(b);
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  *len = n;
  return b;
}

/* The pending-DEL marker: <stateDir>/cni/pending-del/<containerid>.<ifname>, written atomically. */
static void leave_del_marker(const char *state_dir) {
  const char *id = getenv("CNI_CONTAINERID");
  const char *ifname = getenv("CNI_IFNAME");
  if (!id || !*id) return;
  char dir[3072], path[4096], tmp[4200], name[512];
  snprintf(name, sizeof name, "%.200s.%.60s", id, ifname && *ifname ? ifname : "eth0");
  for (char *c = name; *c; c++) if (*c == '/' || *c == '\n') *c = '_';
  snprintf(dir, sizeof dir, "%s/cni", state_dir);
  mkdir(state_dir, 0700);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/cni/pending-del", state_dir);
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  for (int i = 0; FORWARDED[i]; i++) {
    const char *v = getenv(FORWARDED[i]);
    if (v) fprintf(f, "%s=%s\n", FORWARDED[i], v);
  }
  if (fflush(f) == 0 && fsync(fileno(f)) == 0 && fclose(f) == 0) rename(tmp, path);
  else unlink(tmp);
}

static int agent_unreachable(const char *cmd, const char *state_dir, const char *sock, const char *why) {
  if (strcmp(cmd, "DEL") == 0) {
    leave_del_marker(state_dir);
    return 0;
  }
  if (strcmp(cmd, "STATUS") == 0) return fail(50, "the petrel agent is not available", "%s: %s", sock, why);
  return fail(11, "the petrel agent is not reachable; try again later", "%s: %s", sock, why);
}

int main(void) {
  const char *cmd = getenv("CNI_COMMAND");
  size_t in_len = 0;
  char *in = read_stdin(&in_len);
  if (in) top_level_string(in, in + in_len, "cniVersion", cni_version, sizeof cni_version);
  if (!cmd || !*cmd) return fail(4, "CNI_COMMAND is not set", "the runtime must set CNI_COMMAND (ADD, DEL, CHECK, GC, STATUS or VERSION)");
  if (strcmp(cmd, "VERSION") == 0) {
    printf("{\"cniVersion\":\"");
    json_escaped(stdout, cni_version);
    printf("\",\"supportedVersions\":" SUPPORTED "}\n");
    return 0;
  }
  if (!in) return fail(6, "cannot read the network configuration on stdin", "%s", strerror(errno));
  const char *first = skip_ws(in, in + in_len);
  if (first >= in + in_len || *first != '{') return fail(6, "the network configuration on stdin must be a JSON object", NULL);

  char run_dir[2048] = "/var/run/petrel", state_dir[2048] = "/var/lib/petrel", sock[2200];
  top_level_string(in, in + in_len, "runDir", run_dir, sizeof run_dir);
  top_level_string(in, in + in_len, "stateDir", state_dir, sizeof state_dir);
  snprintf(sock, sizeof sock, "%s/cni.sock", run_dir);

  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(sock) >= sizeof sa.sun_path) return fail(7, "runDir is too long for a Unix socket path", "%s", sock);
  strcpy(sa.sun_path, sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(11, "cannot create a Unix socket", "%s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return agent_unreachable(cmd, state_dir, sock, strerror(errno));

  /* The request. A write error means the agent went away: same as unreachable. */
  char *env = malloc(65536 + 8);
  size_t el = 0;
  if (!env) return fail(11, "out of memory", NULL);
  memcpy(env, "PCNI1", 6);
  el = 6;
  for (int i = 0; FORWARDED[i]; i++) {
    const char *v = getenv(FORWARDED[i]);
    if (!v) continue;
    int n = snprintf(env + el, 65536 - el, "%s=%s", FORWARDED[i], v);
    if (n < 0 || (size_t)n + 1 >= 65536 - el) return fail(4, "a CNI_* environment variable is too long", "%s", FORWARDED[i]);
    el += (size_t)n + 1;
  }
  env[el++] = 0;
  if (write_all(fd, env, el) < 0 || write_all(fd, in, in_len) < 0) return agent_unreachable(cmd, state_dir, sock, strerror(errno));
  shutdown(fd, SHUT_WR);

  /* The answer, bounded in size and time. */
  const char *t = getenv("PETREL_CNI_TIMEOUT");
  long timeout_ms = (t && atol(t) > 0 ? atol(t) : 60) * 1000;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  size_t cap = 65536, n = 0;
  char *ans = malloc(cap);
  if (!ans) return fail(11, "out of memory", NULL);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left <= 0) return fail(11, "the petrel agent did not answer in time; try again later", "%s: no answer after %ld ms", sock, timeout_ms);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return fail(11, "poll failed", "%s", strerror(errno));
    if (pr == 0) continue;
    if (n == cap) {
      if (cap >= MAX_ANSWER) return fail(11, "the petrel agent's answer is too large", "%s", sock);
      cap *= 2;
      char *nb = realloc(ans, cap);
      if (!nb) return fail(11, "out of memory", NULL);
      ans = nb;
    }
    ssize_t r = read(fd, ans + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return agent_unreachable(cmd, state_dir, sock, strerror(errno));
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  char *nl = memchr(ans, '\n', n);
  if (!nl || nl == ans || nl - ans > 3) return agent_unreachable(cmd, state_dir, sock, "the agent closed the connection without an answer");
  int status = 0;
  for (char *c = ans; c < nl; c++) {
    if (*c < '0' || *c > '9') return agent_unreachable(cmd, state_dir, sock, "malformed answer");
    status = status * 10 + (*c - '0');
  }
  size_t body = n - (size_t)(nl + 1 - ans);
  if (body > 0 && write_all(1, nl + 1, body) < 0) return 1;
  return status;
}
