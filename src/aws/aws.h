/* aws.h — the one public header of src/aws: AWS wire protocols shared by every
 * service. SigV4 (declared in sigv4.h, included here), an XML writer for Query
 * and REST-XML responses, AWS error shapes, and ARNs. */
#ifndef CLOISTER_AWS_H
#define CLOISTER_AWS_H

#include "aws/sigv4.h"
#include "base/base.h"
#include "http/http.h"

#include <jansson.h>

/* ---- XML output ---- */
void xml_escape(cl_buf *b, const char *s);
void xml_open(cl_buf *b, const char *tag);
void xml_close(cl_buf *b, const char *tag);
/* <tag>escaped text</tag>; nothing if text is NULL. */
void xml_text(cl_buf *b, const char *tag, const char *text);
void xml_textf(cl_buf *b, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- AWS Query protocol (IAM, STS) ---- */
#define AWS_XMLNS_IAM "https://iam.amazonaws.com/doc/2010-05-08/"
#define AWS_XMLNS_STS "https://sts.amazonaws.com/doc/2011-06-15/"
/* <ActionResponse xmlns=..><ActionResult> ... */
void aws_query_begin(cl_buf *b, const char *action, const char *xmlns);
/* ... </ActionResult><ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse> */
void aws_query_end(cl_buf *b, const char *action, const char *request_id);
/* A response with no Result element (e.g. DeleteUser). */
void aws_query_empty(cl_buf *b, const char *action, const char *xmlns, const char *request_id);

/* ---- errors in the shape of the service that was called ---- */
typedef enum {
    AWS_SHAPE_QUERY, /* IAM, STS: <ErrorResponse><Error><Type><Code><Message> */
    AWS_SHAPE_S3,    /* <Error><Code><Message><RequestId> */
    AWS_SHAPE_JSON,  /* KMS: {"__type": ..., "message": ...} */
} aws_shape;

void aws_error(http_response *r, aws_shape shape, const char *xmlns, int status, const char *code,
               const char *message, const char *request_id);

/* Adds <name>value</name> to an S3-shaped error aws_error wrote (before
 * </Error>), as S3 does for details such as HeadersNotSigned. Other shapes
 * are left as they are. */
void aws_error_detail(http_response *r, const char *name, const char *value);

/* A failure to report to the client: HTTP status, AWS error code, message. */
typedef struct {
    int status;
    const char *code; /* static string */
    char message[512];
} aws_fault;
void aws_fault_set(aws_fault *f, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The answer of a JSON 1.1 operation: 200 with out (compact; consumed), or,
 * when out is NULL, the JSON error of f (500 InternalFailure if f has no code). */
void aws_json_answer(http_response *resp, const http_request *req, json_t *out, aws_fault *f);

/* ---- JSON 1.1 request bodies (json_in.c) ----
 * Strict RFC 8259 into a jansson value (any type at top level), accepting what
 * json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY accepts, several
 * times faster on long strings. NULL with a one-line reason in err. */
#define AWS_JSON_MAX_DEPTH 64
json_t *aws_json_parse(cl_slice in, char *err, size_t errlen);

/* ---- ARNs: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE ---- */
typedef struct {
    char *partition, *service, *region, *account, *resource;
} aws_arn;
cl_err arn_parse(const char *s, aws_arn *out);
void arn_free(aws_arn *a);

#endif
