/* s3_mpck.h — checksums of multipart uploads (s3_mpck.c): the upload's
 * algorithm and type, per-part checks, the object's checksum on Complete, and
 * the checksum headers of reads. Used by s3_multipart.c, s3_object.c,
 * s3_read.c and s3_attrs.c. */
#ifndef CL_S3_MPCK_H
#define CL_S3_MPCK_H

#include "crypto/crypto.h"
#include "s3/s3_internal.h"
#include "s3/s3_xml.h"

/* CreateMultipartUpload: x-amz-checksum-algorithm / x-amz-checksum-type into
 * the upload document; false with op->f set (400 InvalidRequest) if invalid. */
bool s3_mpck_create(s3_op *op, json_t *upload);
/* x-amz-checksum-algorithm and x-amz-checksum-type of an upload, if it has them. */
void s3_mpck_headers(http_response *r, json_t *upload);
/* The upload's algorithm (CHECKSUM_NONE when it has none). */
checksum_algo s3_mpck_algo(json_t *upload);
/* UploadPart: refuses (400 InvalidRequest) a part declaring another algorithm
 * than the upload's; *compute: the algorithm every part must get (computed by
 * the server when the client sends none), or CHECKSUM_NONE. */
bool s3_mpck_part_check(s3_op *op, json_t *upload, checksum_algo *compute);
/* The Checksum<ALGORITHM> elements (ChecksumCRC32, ChecksumSHA256, ...) of a "Checksum" object. */
void s3_mpck_checksums_xml(cl_buf *o, json_t *checksum);
/* ListPartsResult's ChecksumAlgorithm and ChecksumType. */
void s3_mpck_list_parts_xml(cl_buf *o, json_t *upload);
/* CompleteMultipartUploadResult's Checksum<ALGORITHM> and ChecksumType (doc: the object
 * or the upload_done record). */
void s3_mpck_result_xml(cl_buf *o, json_t *doc);
/* A document's ChecksumType ("FULL_OBJECT" when it has none recorded). */
const char *s3_mpck_type(json_t *doc);
/* CompleteMultipartUpload, inside its transaction: the body's part checksums
 * (400 InvalidPart), the object's checksum into doc, checked against an
 * x-amz-checksum-<algo> header (400 BadDigest). false: op->f set. */
bool s3_mpck_complete(s3_op *op, json_t *upload, const s3_complete_upload *req, json_t *parts,
                      json_t *doc);
/* Copies doc's Checksum and ChecksumType (if any) into `to`. */
void s3_mpck_keep(json_t *to, json_t *from);
/* HEAD/GET with x-amz-checksum-mode: ENABLED: x-amz-checksum-<algo> and
 * x-amz-checksum-type of the object (of part N with ?partNumber=N). */
void s3_mpck_read_headers(s3_op *op, json_t *o);

#endif
