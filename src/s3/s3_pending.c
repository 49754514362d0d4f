/* s3_pending.c — operations being written in this session; each answers
 * NotImplemented until its own file replaces it here. */
#include "s3/s3_internal.h"

static void not_yet(s3_op *op) {
    aws_fault_set(&op->f, 501, "NotImplemented",
                  "A header or query you provided implies functionality that is not implemented.");
}

void s3_copy_object(s3_op *op) {
    not_yet(op);
}
void s3_upload_part_copy(s3_op *op) {
    not_yet(op);
}
void s3_delete_objects(s3_op *op) {
    not_yet(op);
}
void s3_object_tagging(s3_op *op) {
    not_yet(op);
}
void s3_list_multipart_uploads(s3_op *op) {
    not_yet(op);
}
