/* s3_xml.h — parsers for the XML request bodies of the S3 API (and the
 * x-amz-tagging header, which carries the same tag set URL-encoded).
 *
 * One function per body shape:
 *     s3_xml_parse_complete_upload    CompleteMultipartUpload   POST ?uploadId=
 *     s3_xml_parse_delete             Delete                    POST ?delete
 *     s3_xml_parse_public_access_block PublicAccessBlockConfiguration  PUT ?publicAccessBlock
 *     s3_xml_parse_control_public_access_block  the same, S3 Control's (account level)
 *     s3_xml_parse_tagging            Tagging                   PUT ?tagging (bucket/object)
 *     s3_tagging_parse_header         x-amz-tagging: k1=v1&k2=v2
 *     s3_xml_parse_create_bucket      CreateBucketConfiguration PUT /bucket
 *     s3_xml_parse_encryption         ServerSideEncryptionConfiguration PUT ?encryption
 *     s3_xml_parse_notification       NotificationConfiguration PUT ?notification
 *                                     (s3_notify_xml.c)
 *     s3_xml_parse_acl                AccessControlPolicy       PUT ?acl (s3_acl_xml.c)
 *     s3_xml_parse_ownership          OwnershipControls         PUT ?ownershipControls
 *
 * Strict as S3 is: the root element must have the right name, in no namespace
 * or in S3_XML_NS (S3 Control's body: S3_CONTROL_XML_NS); an element the schema
 * does not allow where it appears, a repeated single element, a missing
 * required one, an attribute, stray text between elements or a processing
 * instruction is MalformedXML. The body must
 * be UTF-8 (any encoding declaration must say so). A DOCTYPE is refused the
 * moment it starts, so no entity can ever be declared: billion-laughs and
 * external entities (XXE) cannot happen. Comments and CDATA are allowed.
 *
 * Errors: each parser returns CL_OK, CL_ERR_INVALID, or CL_ERR_TOO_LARGE (the
 * body exceeded its limit, S3's MaxMessageLengthExceeded), and on failure fills
 * *err with the S3 error code and message to send back. Every error here is
 * HTTP 400. Structural errors are reported before semantic ones (part range and
 * order, key and tag rules), which are checked once the whole body is known to
 * match the schema; count limits are enforced while parsing (memory stays
 * bounded by the body limit).
 *
 * Ownership: *out is the caller's; on success it holds malloc'd strings and
 * arrays that the matching *_free releases (cl_kvlist: kvlist_free). On failure
 * *out is left empty (zeroed) and owns nothing, so calling *_free on it is
 * harmless. s3_public_access_block owns nothing and has no free function. */
#ifndef CLOISTER_S3_XML_H
#define CLOISTER_S3_XML_H

#include "base/base.h"

#define S3_XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_CONTROL_XML_NS "http://awss3control.amazonaws.com/doc/2018-08-20/"

/* S3's limits. */
#define S3_MAX_PARTS 10000
#define S3_MAX_DELETE_OBJECTS 1000
#define S3_MAX_KEY_BYTES 1024
#define S3_MAX_TAGS_OBJECT 10
#define S3_MAX_TAGS_BUCKET 50
#define S3_MAX_TAG_KEY_CHARS 128
#define S3_MAX_TAG_VALUE_CHARS 256

/* Body size limits (ours; S3 publishes none). Each is several times what the
 * largest valid document takes even fully entity-escaped. */
#define S3_XML_MAX_COMPLETE_BODY (8u << 20)
#define S3_XML_MAX_DELETE_BODY (8u << 20)
#define S3_XML_MAX_TAGGING_BODY (256u << 10)
#define S3_XML_MAX_SMALL_BODY (64u << 10) /* public access block, bucket, encryption */
#define S3_TAGGING_MAX_HEADER (64u << 10)

/* The error to send back: code is a string literal ("MalformedXML", ...),
 * message is S3's text for it. Always HTTP 400. */
typedef struct {
    const char *code;
    char message[256];
} s3_xml_error;

/* ---- CompleteMultipartUpload ---- */
typedef struct {
    /* base64 as the client sent them; NULL when absent */
    char *crc32, *crc32c, *crc64nvme, *sha1, *sha256;
} s3_checksums;

typedef struct {
    int part_number; /* 1..S3_MAX_PARTS */
    char *etag;      /* exactly as given, quotes kept: "\"9b2cf5...\"" */
    char *etag_bare; /* one pair of surrounding double quotes removed */
    s3_checksums checksums;
} s3_complete_part;

typedef struct {
    s3_complete_part *parts; /* 1..S3_MAX_PARTS, part numbers strictly ascending */
    size_t len;
} s3_complete_upload;

/* <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag>
 * [<ChecksumCRC32|CRC32C|CRC64NVME|SHA1|SHA256>..]</Part>...</CompleteMultipartUpload>
 * Part needs PartNumber and ETag. Errors: MalformedXML (also: no parts, more
 * than S3_MAX_PARTS, a PartNumber that is not an integer); InvalidArgument
 * (number outside 1..10000); InvalidPartOrder (a number below the one before).
 * A number repeated right after itself is kept once, as its last entry. */
cl_err s3_xml_parse_complete_upload(cl_slice body, s3_complete_upload *out, s3_xml_error *err);
void s3_complete_upload_free(s3_complete_upload *u);

/* ---- DeleteObjects ---- */
typedef struct {
    char *key;        /* 1..S3_MAX_KEY_BYTES bytes */
    char *version_id; /* NULL when absent */
    /* conditional delete (optional; the handler must honour or refuse them) */
    char *etag; /* NULL when absent */
    bool has_last_modified, has_size;
    time_t last_modified;
    uint64_t size;
} s3_delete_object;

typedef struct {
    bool quiet;
    s3_delete_object *objects; /* 1..S3_MAX_DELETE_OBJECTS */
    size_t len;
} s3_delete_request;

/* <Delete><Quiet>true</Quiet><Object><Key>k</Key><VersionId>v</VersionId>
 * [<ETag>..</ETag><LastModifiedTime>ISO 8601</LastModifiedTime><Size>n</Size>]
 * </Object>...</Delete>. Errors: MalformedXML (also: no objects, more than
 * 1000, an empty key, a bad Quiet/Size/LastModifiedTime); KeyTooLongError. */
cl_err s3_xml_parse_delete(cl_slice body, s3_delete_request *out, s3_xml_error *err);
void s3_delete_request_free(s3_delete_request *d);

/* ---- PublicAccessBlockConfiguration ---- */
typedef struct {
    bool block_public_acls, ignore_public_acls, block_public_policy, restrict_public_buckets;
} s3_public_access_block;

/* Each element optional, "true" or "false" (surrounding whitespace allowed),
 * default false. Errors: MalformedXML. */
cl_err s3_xml_parse_public_access_block(cl_slice body, s3_public_access_block *out,
                                        s3_xml_error *err);
/* The same document as S3 Control's PutPublicAccessBlock (account level) sends
 * it: in no namespace or in S3_CONTROL_XML_NS. */
cl_err s3_xml_parse_control_public_access_block(cl_slice body, s3_public_access_block *out,
                                                s3_xml_error *err);

/* ---- Tagging (PutObjectTagging, PutBucketTagging, x-amz-tagging) ---- */
typedef enum {
    S3_TAGS_OBJECT, /* at most 10: BadRequest "Object tags cannot be greater than 10" */
    S3_TAGS_BUCKET, /* at most 50: BadRequest "Bucket tag count cannot be greater than 50" */
} s3_tag_scope;

/* <Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...</TagSet></Tagging>
 * into *out (keys and values in document order; *out must be empty). An empty
 * TagSet is valid (no tags). Rules, checked tag by tag in order:
 *   key 1..128 characters (code points) of letters, digits, space and
 *   + - = . _ : / @ (non-ASCII letters allowed; ASCII controls and other
 *   punctuation refused), not starting with "aws:" in any letter case;
 *   value 0..256 characters of the same set; no key twice.
 * Errors: MalformedXML; BadRequest (count); InvalidTag ("The TagKey you have
 * provided is invalid" / "is too long, max 128", "The TagValue ... invalid" /
 * "is too long, max 256", "Your TagKey cannot be prefixed with aws:",
 * "Cannot provide multiple Tags with the same key"). */
cl_err s3_xml_parse_tagging(cl_slice body, s3_tag_scope scope, cl_kvlist *out, s3_xml_error *err);

/* The x-amz-tagging header ("k1=v1&k2=v2", percent-encoded, '+' is a space;
 * "k" alone or "k=" is an empty value; an empty header is no tags). A bad
 * escape, a decoded byte sequence that is not UTF-8, an empty key or a
 * repeated key is InvalidArgument "The header 'x-amz-tagging' shall be encoded
 * as UTF-8 then URLEncoded URL query parameters without tag name duplicates.";
 * otherwise the same count and tag rules as the XML form. */
cl_err s3_tagging_parse_header(cl_slice header, s3_tag_scope scope, cl_kvlist *out,
                               s3_xml_error *err);

/* ---- CreateBucketConfiguration ---- */
typedef struct {
    /* NULL when the body is empty or the element is absent or empty (the
     * default region); else 1..64 of [A-Za-z0-9-] ("EU" is a legacy value) */
    char *location_constraint;
} s3_create_bucket_config;

/* An empty body is valid. Errors: MalformedXML; InvalidLocationConstraint
 * (characters outside the set above). Whether the region is one this server
 * serves is the handler's question. */
cl_err s3_xml_parse_create_bucket(cl_slice body, s3_create_bucket_config *out, s3_xml_error *err);
void s3_create_bucket_config_free(s3_create_bucket_config *c);

/* ---- ServerSideEncryptionConfiguration ---- */
typedef enum {
    S3_SSE_AES256,   /* "AES256" */
    S3_SSE_KMS,      /* "aws:kms" */
    S3_SSE_KMS_DSSE, /* "aws:kms:dsse" */
} s3_sse_algorithm;

const char *s3_sse_algorithm_name(s3_sse_algorithm a);

typedef struct {
    s3_sse_algorithm algorithm;
    char *kms_key_id; /* as given (id, alias or ARN; may be ""); NULL when absent */
    bool bucket_key_enabled;
} s3_encryption_config;

/* <ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>
 * <SSEAlgorithm>..</SSEAlgorithm>[<KMSMasterKeyID>..</KMSMasterKeyID>]
 * </ApplyServerSideEncryptionByDefault>[<BucketKeyEnabled>..</BucketKeyEnabled>]
 * </Rule></ServerSideEncryptionConfiguration>: exactly one Rule, which needs
 * ApplyServerSideEncryptionByDefault, which needs SSEAlgorithm. Errors:
 * MalformedXML (also: unknown algorithm); InvalidArgument (a KMSMasterKeyID
 * with AES256). */
cl_err s3_xml_parse_encryption(cl_slice body, s3_encryption_config *out, s3_xml_error *err);
void s3_encryption_config_free(s3_encryption_config *c);

/* ---- NotificationConfiguration (s3_notify_xml.c) ---- */
typedef enum {
    S3_NOTIFY_QUEUE,  /* QueueConfiguration/Queue: arn:aws:sqs:REGION:ACCOUNT:NAME */
    S3_NOTIFY_LAMBDA, /* CloudFunctionConfiguration/CloudFunction: arn:aws:lambda:...:function:N */
    S3_NOTIFY_TOPIC,  /* TopicConfiguration/Topic: parsed, refused by validation */
} s3_notify_kind;

typedef struct {
    char *name, *value; /* as given; NULL when absent */
} s3_notify_rule;

typedef struct {
    s3_notify_kind kind;
    char *id;  /* NULL when absent (the handler generates one) */
    char *arn; /* the destination */
    char **events;
    size_t n_events;
    s3_notify_rule *rules;
    size_t n_rules;
    const char *prefix, *suffix; /* after validation: the rules' values, NULL when none */
} s3_notify_config;

typedef struct {
    s3_notify_config *configs; /* document order */
    size_t len;
    bool eventbridge; /* <EventBridgeConfiguration/> present */
} s3_notification;

#define S3_XML_MAX_NOTIFICATION_BODY (256u << 10)

/* <NotificationConfiguration> with repeated TopicConfiguration, QueueConfiguration,
 * CloudFunctionConfiguration ({Id?, destination, Event+, Filter?{S3Key{FilterRule*
 * {Name, Value}}}}) and at most one EventBridgeConfiguration (empty). An empty
 * document clears the configuration. Errors: MalformedXML (schema: a missing
 * destination or Event); InvalidArgument: an event S3 does not know ("The event
 * is not supported for notifications"), a rule name other than prefix/suffix in
 * any letter case ("filter rule name must be either prefix or suffix"), two
 * prefix or two suffix rules ("Cannot specify more than one prefix rule in a
 * filter."), a destination ARN of the wrong shape ("The ARN is not well
 * formed"), a TopicConfiguration ("Unable to validate the following destination
 * configurations": there is no SNS here), two configurations that can match the
 * same key for a common event type ("Configurations overlap. Configurations on
 * the same bucket cannot share a common event type."). */
cl_err s3_xml_parse_notification(cl_slice body, s3_notification *out, s3_xml_error *err);
void s3_notification_free(s3_notification *n);
/* True if the configured event name (e.g. "s3:ObjectCreated:*") covers
 * `event` ("s3:ObjectCreated:Put"). */
bool s3_notify_event_covers(const char *configured, const char *event);

/* ---- AccessControlPolicy (PutBucketAcl, PutObjectAcl; s3_acl_xml.c) ---- */
typedef struct {
    char *id, *uri, *email; /* the grantee: canonical user id, group URI or e-mail */
    char *permission;       /* FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP */
} s3_acl_grant;
typedef struct {
    char *owner_id;
    s3_acl_grant *grants;
    size_t len;
} s3_acl;
/* <AccessControlPolicy><Owner><ID/><DisplayName/></Owner><AccessControlList>
 * <Grant><Grantee xsi:type=".."><ID/>|<URI/>|<EmailAddress/>..</Grantee>
 * <Permission/></Grant>*</AccessControlList></AccessControlPolicy>; at most
 * 100 grants (S3's limit). Errors: MalformedACLError. */
cl_err s3_xml_parse_acl(cl_slice body, s3_acl *out, s3_xml_error *err);
void s3_acl_free(s3_acl *a);

/* ---- OwnershipControls (PutBucketOwnershipControls) ---- */
/* <OwnershipControls><Rule><ObjectOwnership>X</ObjectOwnership></Rule>
 * </OwnershipControls>, exactly one rule; *out: X (malloc'd), one of
 * BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter. Errors: MalformedXML. */
cl_err s3_xml_parse_ownership(cl_slice body, char **out, s3_xml_error *err);

#endif
