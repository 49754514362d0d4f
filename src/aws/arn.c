/* arn.c — ARN parsing: arn:partition:service:region:account-id:resource. The
 * resource part keeps any further colons (e.g. KMS aliases, SNS topics). */
#include "aws/aws.h"

#include <stdlib.h>
#include <string.h>

cl_err arn_parse(const char *s, aws_arn *out) {
    memset(out, 0, sizeof *out);
    cl_slice in = slice_cstr(s), part;
    char **fields[] = {&out->partition, &out->service, &out->region, &out->account};
    if (!slice_split(&in, ':', &part) || !slice_eq_cstr(part, "arn")) return CL_ERR_INVALID;
    for (size_t i = 0; i < 4; i++) {
        if (in.len == 0 || !slice_split(&in, ':', &part)) {
            arn_free(out);
            return CL_ERR_INVALID;
        }
        *fields[i] = slice_dup(part);
    }
    if (in.len == 0 || out->partition[0] == 0 || out->service[0] == 0) {
        arn_free(out);
        return CL_ERR_INVALID;
    }
    out->resource = slice_dup(in);
    return CL_OK;
}

void arn_free(aws_arn *a) {
    free(a->partition);
    free(a->service);
    free(a->region);
    free(a->account);
    free(a->resource);
    memset(a, 0, sizeof *a);
}
