/* s3_form.h — the multipart/form-data body of an S3 POST Object (browser
 * upload), parsed as S3 reads it (s3_form.c): fields by lower-cased name in
 * form order up to the part named "file", whose bytes and filename are kept;
 * fields after the file are ignored. Untrusted input (the body arrives before
 * any authentication): bounded by the body, no copies of the file. */
#ifndef CLOISTER_S3_FORM_H
#define CLOISTER_S3_FORM_H

#include "base/base.h"

typedef struct {
    cl_kvlist fields; /* lower-cased name -> value, form order, before the file */
    cl_slice file;    /* points into the body */
    char *filename;   /* the file part's filename, NULL if none */
    bool has_file;
} s3_post_form;

/* content_type: the request's Content-Type (multipart/form-data; boundary=...).
 * False (f left empty) if the body is not well-formed multipart/form-data. */
bool s3_post_form_parse(const char *content_type, cl_slice body, s3_post_form *f);
void s3_post_form_free(s3_post_form *f);

#endif
