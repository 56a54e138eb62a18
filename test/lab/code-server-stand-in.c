/* Stand-in of code-server's server, built by vps-provision's test lab (test/lab/code-server-stand-in.ts)
 * and shipped as /usr/lib/code-server/lib/node, the program the real package runs. It reads the
 * config the real one reads ($CODE_SERVER_CONFIG, else $XDG_CONFIG_HOME/code-server/config.yaml, else
 * ~/.config/code-server/config.yaml; written with a random password when missing, like the real one)
 * and answers HTTP on its bind-addr the way code-server's login does:
 *   GET|HEAD /healthz        200 {"status":"alive"} without a login
 *   GET /login               the login page (a form POSTing `password`)
 *   POST /login              right password: 302 to ./ with the cookie code-server-session=<hash>;
 *                            wrong: the login page again, "Incorrect password"
 *   anything else            with a valid cookie the app page; without, 302 to ./login
 * `hashed-password` is the SHA-256 (hex) of the password, compared as code-server's legacy method
 * does, and the cookie is that hash (as in code-server). Not mimicked: argon2 hashes (refused, exit 1),
 * TLS (`cert:` other than false is refused, exit 1), the editor itself, rate limiting. A plain
 * `password:` works too, but its cookie is its SHA-256 (the real one uses argon2 there).
 * `--version` prints "<version> standin with Code <code version>". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef STANDIN_VERSION
#define STANDIN_VERSION "0.0.0"
#endif
#ifndef STANDIN_CODE_VERSION
#define STANDIN_CODE_VERSION "0.0.0"
#endif

/* ---- SHA-256 (FIPS 180-4) ---- */
static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void sha256_hex(const char *msg, size_t len, char out[65]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char buf[128];
  size_t i = 0;
  for (; i + 64 <= len; i += 64) block(h, (const unsigned char *)msg + i);
  size_t rest = len - i;
  memset(buf, 0, sizeof buf);
  memcpy(buf, msg + i, rest);
  buf[rest] = 0x80;
  size_t total = rest + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int j = 0; j < 8; j++) buf[total - 1 - j] = (unsigned char)(bits >> (8 * j));
  block(h, buf);
  if (total == 128) block(h, buf + 64);
  for (int j = 0; j < 8; j++) sprintf(out + 8 * j, "%08x", h[j]);
  out[64] = '\0';
}

/* ---- config ---- */
static char bind_addr[256] = "127.0.0.1:8080", auth[32] = "password", password[512] = "", hashed[512] = "",
            cert[512] = "false", config_path[4096];

static void trim_value(char *v) {
  size_t n = strlen(v);
  while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == '\r' || v[n - 1] == ' ')) v[--n] = '\0';
  if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
    memmove(v, v + 1, n - 2);
    v[n - 2] = '\0';
  }
}

static void set(char *dst, size_t size, const char *v) { snprintf(dst, size, "%s", v); }

static int write_default_config(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", config_path);
  for (char *p = dir + 1; *p; p++)
    if (*p == '/') { *p = '\0'; mkdir(dir, 0755); *p = '/'; }
  unsigned char r[12];
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) return -1;
  close(fd);
  for (int i = 0; i < 12; i++) sprintf(password + 2 * i, "%02x", r[i]);
  FILE *f = fopen(config_path, "w");
  if (!f) return -1;
  fprintf(f, "bind-addr: 127.0.0.1:8080\nauth: password\npassword: %s\ncert: false\n", password);
  fclose(f);
  printf("Wrote default config file to %s\n", config_path);
  return 0;
}

static int read_config(void) {
  const char *explicit = getenv("CODE_SERVER_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
  if (explicit && *explicit) set(config_path, sizeof config_path, explicit);
  else if (xdg && *xdg) snprintf(config_path, sizeof config_path, "%s/code-server/config.yaml", xdg);
  else snprintf(config_path, sizeof config_path, "%s/.config/code-server/config.yaml", home ? home : "/");
  FILE *f = fopen(config_path, "r");
  if (!f) {
    if (errno != ENOENT || write_default_config() != 0) {
      fprintf(stderr, "error: cannot read %s: %s\n", config_path, strerror(errno));
      return -1;
    }
    return 0;
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (line[0] == '#' || !colon) continue;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ') v++;
    trim_value(v);
    if (!strcmp(line, "bind-addr")) set(bind_addr, sizeof bind_addr, v);
    else if (!strcmp(line, "auth")) set(auth, sizeof auth, v);
    else if (!strcmp(line, "password")) set(password, sizeof password, v);
    else if (!strcmp(line, "hashed-password")) set(hashed, sizeof hashed, v);
    else if (!strcmp(line, "cert")) set(cert, sizeof cert, v);
  }
  fclose(f);
  return 0;
}

/* ---- HTTP ---- */
static int from_hex(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* application/x-www-form-urlencoded value of `name` in `body`, decoded into out. */
static int form_value(const char *body, const char *name, char *out, size_t size) {
  size_t nl = strlen(name);
  for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
    if (strncmp(p, name, nl) || p[nl] != '=') continue;
    size_t o = 0;
    for (const char *q = p + nl + 1; *q && *q != '&' && o + 1 < size; q++) {
      if (*q == '+') out[o++] = ' ';
      else if (*q == '%' && from_hex(q[1]) >= 0 && from_hex(q[2]) >= 0) {
        out[o++] = (char)(from_hex(q[1]) * 16 + from_hex(q[2]));
        q += 2;
      } else out[o++] = *q;
    }
    out[o] = '\0';
    return 0;
  }
  return -1;
}

/* What a valid session cookie holds: the hashed-password, else the password's SHA-256. */
static void session_value(char out[513]) {
  if (hashed[0]) set(out, 513, hashed);
  else sha256_hex(password, strlen(password), out);
}

static int password_ok(const char *given) {
  char h[65];
  sha256_hex(given, strlen(given), h);
  if (hashed[0]) return strcmp(h, hashed) == 0;
  return password[0] && strcmp(given, password) == 0;
}

static int cookie_ok(const char *headers) {
  if (!strcmp(auth, "none")) return 1;
  char want[513];
  session_value(want);
  for (const char *p = strcasestr(headers, "\r\nCookie:"); p; p = strcasestr(p + 1, "\r\nCookie:")) {
    const char *end = strstr(p + 2, "\r\n");
    for (const char *c = strstr(p, "code-server-session="); c && (!end || c < end); c = strstr(c + 1, "code-server-session=")) {
      const char *v = c + strlen("code-server-session=");
      size_t n = strcspn(v, ";\r\n");
      if (n == strlen(want) && !strncmp(v, want, n)) return 1;
    }
  }
  return 0;
}

static void send_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void respond(int fd, int head, const char *status, const char *extra, const char *type, const char *body) {
  char hdr[2048];
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                   status, type, strlen(body), extra ? extra : "");
  send_all(fd, hdr, (size_t)n);
  if (!head) send_all(fd, body, strlen(body));
}

static void login_page(int fd, int head, const char *error) {
  char page[8192];
  snprintf(page, sizeof page,
           "<!DOCTYPE html><html><head><title>code-server login</title></head><body>"
           "<div class=\"login-form\"><h1>Welcome to code-server</h1>"
           "<p>Please log in below. Check the config file at %s for the password.</p>"
           "<form method=\"post\" action=\"login\"><input type=\"password\" name=\"password\" required>"
           "<button type=\"submit\">Submit</button></form>%s%s%s</div></body></html>\n",
           config_path, error ? "<div class=\"error\">" : "", error ? error : "", error ? "</div>" : "");
  respond(fd, head, "200 OK", NULL, "text/html; charset=utf-8", page);
}

static void handle(int fd) {
  static char req[32768];
  size_t len = 0;
  char *body = NULL;
  size_t want = 0;
  for (;;) {
    ssize_t r = read(fd, req + len, sizeof req - 1 - len);
    if (r <= 0) break;
    len += (size_t)r;
    req[len] = '\0';
    if (!body && (body = strstr(req, "\r\n\r\n"))) {
      body += 4;
      const char *cl = strcasestr(req, "\r\nContent-Length:");
      want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    }
    if (body && (size_t)(req + len - body) >= want) break;
    if (len + 1 >= sizeof req) break;
  }
  if (!body) return;
  body[-2] = '\0'; /* headers end here: "...\r\n" */
  char method[8] = "", path[1024] = "";
  if (sscanf(req, "%7s %1023s", method, path) != 2) return;
  char *q = strchr(path, '?');
  if (q) *q = '\0';
  int head = !strcmp(method, "HEAD");
  int authed = cookie_ok(req);
  if (!strcmp(path, "/healthz")) {
    respond(fd, head, "200 OK", NULL, "application/json", "{\"status\":\"alive\",\"lastHeartbeat\":0}\n");
  } else if (!strcmp(path, "/login") && !strcmp(method, "POST")) {
    char given[512] = "";
    if (form_value(body, "password", given, sizeof given) == 0 && password_ok(given)) {
      char cookie[700], value[513];
      session_value(value);
      snprintf(cookie, sizeof cookie,
               "Location: ./\r\nSet-Cookie: code-server-session=%s; Path=/; HttpOnly; SameSite=Lax\r\n", value);
      respond(fd, 0, "302 Found", cookie, "text/plain", "Found. Redirecting to ./\n");
    } else {
      printf("Failed login attempt\n");
      fflush(stdout);
      login_page(fd, 0, given[0] ? "Incorrect password" : "Missing password");
    }
  } else if (!strcmp(path, "/login")) {
    if (authed) respond(fd, head, "302 Found", "Location: ./\r\n", "text/plain", "Found. Redirecting to ./\n");
    else login_page(fd, head, NULL);
  } else if (authed) {
    respond(fd, head, "200 OK", NULL, "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>code-server</title></head>"
            "<body><div id=\"workbench\">code-server " STANDIN_VERSION " (stand-in): the editor would load here</div></body></html>\n");
  } else {
    respond(fd, head, "302 Found", "Location: ./login\r\n", "text/plain", "Found. Redirecting to ./login\n");
  }
}

int main(int argc, char *argv[]) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
      printf("%s standin with Code %s\n", STANDIN_VERSION, STANDIN_CODE_VERSION);
      return 0;
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  if (read_config() != 0) return 1;
  if (strcmp(cert, "false") && cert[0]) {
    fprintf(stderr, "error: cert: %s: TLS is not implemented by this test stand-in\n", cert);
    return 1;
  }
  if (strstr(hashed, "$argon")) {
    fprintf(stderr, "error: argon2 hashed-password is not implemented by this test stand-in\n");
    return 1;
  }
  if (!strcmp(auth, "password") && !password[0] && !hashed[0]) {
    fprintf(stderr, "error: auth is password but neither password nor hashed-password is set\n");
    return 1;
  }
  char host[256];
  set(host, sizeof host, bind_addr);
  char *colon = strrchr(host, ':');
  if (!colon) {
    fprintf(stderr, "error: bind-addr %s has no port\n", bind_addr);
    return 1;
  }
  *colon = '\0';
  const char *port = colon + 1;
  char *h = host;
  if (h[0] == '[') {
    h++;
    h[strlen(h) - 1] = '\0';
  }
  struct addrinfo hints = {0}, *ai;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  int rc = getaddrinfo(h, port, &hints, &ai);
  if (rc != 0) {
    fprintf(stderr, "error: bind-addr %s: %s\n", bind_addr, gai_strerror(rc));
    return 1;
  }
  int s = socket(ai->ai_family, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s < 0 || bind(s, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s, 16) != 0) {
    fprintf(stderr, "error: listen EADDRINUSE or failed on %s: %s\n", bind_addr, strerror(errno));
    return 1;
  }
  freeaddrinfo(ai);
  printf("code-server %s (stand-in)\nUsing config file %s\nHTTP server listening on http://%s/\n", STANDIN_VERSION,
         config_path, bind_addr);
  if (!strcmp(auth, "none")) printf("  - Authentication is disabled\n");
  else printf("  - Authentication is enabled\n    - Using %s from %s\n", hashed[0] ? "hashed-password" : "password", config_path);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    struct timeval tv = {5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    handle(c);
    close(c);
  }
}
