/* See bench_reference.h.  The replies are flat one-line JSON objects with known keys, so a key
 * search is all the parsing they need. */
#define _POSIX_C_SOURCE 200809L
#include "bench_reference.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The number after "key": in a one-line JSON object, or `missing`. */
static double json_number(const char *line, const char *key, double missing) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":", key);
    const char *at = strstr(line, quoted);
    if (!at) return missing;
    char *end = NULL;
    double v = strtod(at + strlen(quoted), &end);
    return end == at + strlen(quoted) ? missing : v;
}

/* The string after "error": (up to the closing quote), if any. */
static int json_error(const char *line, char *out, size_t size) {
    const char *at = strstr(line, "\"error\": \"");
    if (!at) return 0;
    at += strlen("\"error\": \"");
    size_t n = strcspn(at, "\"");
    if (n >= size) n = size - 1;
    memcpy(out, at, n);
    out[n] = '\0';
    return 1;
}

static int read_reply(bench_reference *r, char *line, size_t size) {
    if (!r->from || !fgets(line, (int)size, r->from)) {
        snprintf(r->error, sizeof r->error, "the reference process ended without answering (see its messages above)");
        return -1;
    }
    return 0;
}

int bench_reference_start(bench_reference *r, const char *command, const char *bundle, int threads) {
    memset(r, 0, sizeof *r);
    r->pid = -1;
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0) return snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno)), -1;
    if (pipe(from_child) != 0) {
        close(to_child[0]), close(to_child[1]);
        return snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno)), -1;
    }
    char line[4096];
    snprintf(line, sizeof line, "%s --bundle '%s' --threads %d --serve", command, bundle, threads);
    fflush(NULL);
    r->pid = fork();
    if (r->pid < 0) {
        snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
        close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
        return -1;
    }
    if (r->pid == 0) {
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        close(to_child[0]), close(to_child[1]), close(from_child[0]), close(from_child[1]);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    r->to = fdopen(to_child[1], "w");
    r->from = fdopen(from_child[0], "r");
    char reply[4096];
    if (!r->to || !r->from || read_reply(r, reply, sizeof reply) != 0 || !strstr(reply, "\"ready\": true")) {
        if (!r->error[0]) snprintf(r->error, sizeof r->error, "the reference did not start: %.400s", reply);
        bench_reference_stop(r);
        return -1;
    }
    r->load_ms = json_number(reply, "load_ms", -1.0);
    return 0;
}

int bench_reference_run_once(bench_reference *r, int size, bench_reference_run *out) {
    if (r->pid <= 0 || !r->to) {
        if (!r->error[0]) snprintf(r->error, sizeof r->error, "the reference is not running");
        return -1;
    }
    char reply[4096];
    if (fprintf(r->to, "%d\n", size) < 0 || fflush(r->to) != 0) {
        snprintf(r->error, sizeof r->error, "cannot write to the reference process");
        return -1;
    }
    if (read_reply(r, reply, sizeof reply) != 0) return -1;
    if (json_error(reply, r->error, sizeof r->error)) return -1;
    out->style_encode_ms = json_number(reply, "style_encode_ms", -1.0);
    out->content_encode_ms = json_number(reply, "content_encode_ms", -1.0);
    out->depth_ms = json_number(reply, "depth_ms", -1.0);
    out->adain_blend_ms = json_number(reply, "adain_blend_ms", -1.0);
    out->decode_ms = json_number(reply, "decode_ms", -1.0);
    out->total_ms = json_number(reply, "total_ms", -1.0);
    out->peak_rss_mib = json_number(reply, "peak_rss_mib", -1.0);
    if (out->total_ms < 0) {
        snprintf(r->error, sizeof r->error, "the reference's answer has no total_ms: %.400s", reply);
        return -1;
    }
    return 0;
}

void bench_reference_stop(bench_reference *r) {
    if (r->to) {
        fputs("quit\n", r->to);
        fclose(r->to);
        r->to = NULL;
    }
    if (r->from) {
        fclose(r->from);
        r->from = NULL;
    }
    if (r->pid > 0) {
        int status;
        while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR) {
        }
        r->pid = -1;
    }
}
