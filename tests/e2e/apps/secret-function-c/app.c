/* f(x) = ax^3 + bx^2 + cx + d, as the iExec tutorial app, in C (static ELF). */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *out = getenv("IEXEC_OUT"), *app = getenv("IEXEC_APP_DEVELOPER_SECRET");
    const char *req = getenv("IEXEC_REQUESTER_SECRET_1");
    double a = 1, b = 1, c = 1, d = 1, x = 1;
    if (!app)
        puts("missing IEXEC_APP_DEVELOPER_SECRET");
    else if (sscanf(app, "%lf;%lf;%lf;%lf", &a, &b, &c, &d) != 4)
        puts("problem with the length of IEXEC_APP_DEVELOPER_SECRET");
    if (!req)
        puts("missing IEXEC_REQUESTER_SECRET_1");
    else
        x = atof(req);
    char path[4096];
    snprintf(path, sizeof path, "%s/result.txt", out ? out : "/iexec_out");
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f, "{\"x\":%g,\"result\":%g}", x, a * x * x * x + b * x * x + c * x + d);
    fclose(f);
    snprintf(path, sizeof path, "%s/computed.json", out ? out : "/iexec_out");
    f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f, "{\"deterministic-output-path\":\"%s/result.txt\"}", out ? out : "/iexec_out");
    return fclose(f) == 0 ? 0 : 1;
}
