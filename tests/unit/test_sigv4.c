/* test_sigv4.c — SigV4 against AWS's published vectors: the aws-sig-v4-test-suite
 * (2015-08-30, "example-credentials") and the worked examples of the S3 developer
 * guide (header-signed GET/PUT/lifecycle/list and the presigned GET). For each
 * vector: canonical request (where published), string to sign, signature; then the
 * server path (parse + verify) accepts it and rejects tampered copies. Then the
 * parser's error cases, the clock, the client signer and presigner round trips,
 * and the form/percent-decoding edge cases the canonical query relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/sigv4.h"
#include "crypto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define TOKEN                                                                                      \
    "AQoDYXdzEPT//////////"                                                                        \
    "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"                     \
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7" \
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm" \
    "8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

typedef struct {
    const char *akid, *secret, *region, *service, *amz_date;
} cred;

static const cred SUITE = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                           "service", "20150830T123600Z"};
static const cred S3DOC = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           "us-east-1", "s3", "20130524T000000Z"};

typedef struct {
    const char *k, *v;
} hdr;

typedef struct {
    const char *name;
    const cred *c;
    const char *method, *path, *query;
    hdr headers[7];
    const char *body;    /* hashed into the payload hash ("" if NULL) */
    const char *payload; /* or this literal payload hash */
    bool s3;
    const char *signed_headers;
    const char *creq;     /* canonical request, where published */
    const char *sts_hash; /* last line of the published string to sign */
    const char *signature;
} vector;

#define HOST                                                                                       \
    { "Host", "example.amazonaws.com" }
#define XDATE                                                                                      \
    { "X-Amz-Date", "20150830T123600Z" }
#define SH "host;x-amz-date"
#define CREQ_TAIL                                                                                  \
    "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA
#define S3HOST                                                                                     \
    { "Host", "examplebucket.s3.amazonaws.com" }
#define S3DATE                                                                                     \
    { "x-amz-date", "20130524T000000Z" }
#define UNRESERVED "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define VANILLA_STS "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
#define VANILLA_SIG "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
#define PUT_BODY_SHA "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"

static const vector VECTORS[] = {
    {"get-vanilla",
     &SUITE,
     "GET",
     "/",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n\n" CREQ_TAIL,
     VANILLA_STS,
     VANILLA_SIG},
    {"get-vanilla-query",
     &SUITE,
     "GET",
     "/",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n\n" CREQ_TAIL,
     VANILLA_STS,
     VANILLA_SIG},
    {"get-vanilla-empty-query-key",
     &SUITE,
     "GET",
     "/",
     "Param1=value1",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\nParam1=value1\n" CREQ_TAIL,
     "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"get-vanilla-query-order-key",
     &SUITE,
     "GET",
     "/",
     "Param1=value2&Param1=Value1",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\nParam1=Value1&Param1=value2\n" CREQ_TAIL,
     "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
     "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
    {"get-vanilla-query-order-key-case",
     &SUITE,
     "GET",
     "/",
     "Param2=value2&Param1=value1",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\nParam1=value1&Param2=value2\n" CREQ_TAIL,
     "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-value",
     &SUITE,
     "GET",
     "/",
     "Param1=value2&Param1=value1",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\nParam1=value1&Param1=value2\n" CREQ_TAIL,
     "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
     "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
    {"get-vanilla-query-unreserved",
     &SUITE,
     "GET",
     "/",
     UNRESERVED "=" UNRESERVED,
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n" UNRESERVED "=" UNRESERVED "\n" CREQ_TAIL,
     "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query",
     &SUITE,
     "GET",
     "/",
     "\xe1\x88\xb4=bar",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n%E1%88%B4=bar\n" CREQ_TAIL,
     "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-header-key-duplicate",
     &SUITE,
     "GET",
     "/",
     "",
     {HOST, {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, XDATE},
     NULL,
     NULL,
     false,
     "host;my-header1;x-amz-date",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA,
     "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-multiline",
     &SUITE,
     "GET",
     "/",
     "",
     {HOST, {"My-Header1", "value1\n  value2\n     value3"}, XDATE},
     NULL,
     NULL,
     false,
     "host;my-header1;x-amz-date",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1,value2,value3\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA,
     "b7b6cbfd8a0430b78891e986784da2630c8a135a8595cec25b26ea94f926ee55",
     "ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790"},
    {"get-header-value-order",
     &SUITE,
     "GET",
     "/",
     "",
     {HOST,
      {"My-Header1", "value4"},
      {"My-Header1", "value1"},
      {"My-Header1", "value3"},
      {"My-Header1", "value2"},
      XDATE},
     NULL,
     NULL,
     false,
     "host;my-header1;x-amz-date",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" EMPTY_SHA,
     "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-trim",
     &SUITE,
     "GET",
     "/",
     "",
     {HOST, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}, XDATE},
     NULL,
     NULL,
     false,
     "host;my-header1;my-header2;x-amz-date",
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
     "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_SHA,
     "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-unreserved",
     &SUITE,
     "GET",
     "/" UNRESERVED,
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/" UNRESERVED "\n\n" CREQ_TAIL,
     "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8",
     &SUITE,
     "GET",
     "/\xe1\x88\xb4",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/%E1%88%B4\n\n" CREQ_TAIL,
     "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-space",
     &SUITE,
     "GET",
     "/example space/",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/example%20space/\n\n" CREQ_TAIL,
     "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-slash",
     &SUITE,
     "GET",
     "//",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n\n" CREQ_TAIL,
     VANILLA_STS,
     VANILLA_SIG},
    {"get-slash-dot-slash",
     &SUITE,
     "GET",
     "/./",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n\n" CREQ_TAIL,
     VANILLA_STS,
     VANILLA_SIG},
    {"get-slashes",
     &SUITE,
     "GET",
     "//example//",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/example/\n\n" CREQ_TAIL,
     "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"get-relative",
     &SUITE,
     "GET",
     "/example/..",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n\n" CREQ_TAIL,
     VANILLA_STS,
     VANILLA_SIG},
    {"get-relative-relative",
     &SUITE,
     "GET",
     "/example1/example2/../..",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/\n\n" CREQ_TAIL,
     VANILLA_STS,
     VANILLA_SIG},
    {"get-slash-pointless-dot",
     &SUITE,
     "GET",
     "/./example",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "GET\n/example\n\n" CREQ_TAIL,
     "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
     "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
    {"post-vanilla",
     &SUITE,
     "POST",
     "/",
     "",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "POST\n/\n\n" CREQ_TAIL,
     "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query",
     &SUITE,
     "POST",
     "/",
     "Param1=value1",
     {HOST, XDATE},
     NULL,
     NULL,
     false,
     SH,
     "POST\n/\nParam1=value1\n" CREQ_TAIL,
     "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-header-key-case",
     &SUITE,
     "POST",
     "/",
     "",
     {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}},
     NULL,
     NULL,
     false,
     SH,
     "POST\n/\n\n" CREQ_TAIL,
     "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-header-key-sort",
     &SUITE,
     "POST",
     "/",
     "",
     {HOST, {"My-Header1", "value1"}, XDATE},
     NULL,
     NULL,
     false,
     "host;my-header1;x-amz-date",
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
     "host;my-header1;x-amz-date\n" EMPTY_SHA,
     "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
     "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-header-value-case",
     &SUITE,
     "POST",
     "/",
     "",
     {HOST, {"My-Header1", "VALUE1"}, XDATE},
     NULL,
     NULL,
     false,
     "host;my-header1;x-amz-date",
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\n"
     "host;my-header1;x-amz-date\n" EMPTY_SHA,
     "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    /* the suite's .creq for the two form cases signs content-type;host;x-amz-date
     * (its published request also carries an unsigned Content-Length) */
    {"post-x-www-form-urlencoded",
     &SUITE,
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded"}, HOST, XDATE, {"Content-Length", "13"}},
     "Param1=value1",
     NULL,
     false,
     "content-type;host;x-amz-date",
     "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
     "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters",
     &SUITE,
     "POST",
     "/",
     "",
     {{"Content-Type", "application/x-www-form-urlencoded; charset=utf8"},
      HOST,
      XDATE,
      {"Content-Length", "13"}},
     "Param1=value1",
     NULL,
     false,
     "content-type;host;x-amz-date",
     "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf8\n"
     "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
     "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c",
     "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
    {"post-sts-header-after",
     &SUITE,
     "POST",
     "/",
     "",
     {HOST, XDATE, {"X-Amz-Security-Token", TOKEN}},
     NULL,
     NULL,
     false,
     SH,
     "POST\n/\n\n" CREQ_TAIL,
     "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-sts-header-before",
     &SUITE,
     "POST",
     "/",
     "",
     {HOST, XDATE, {"X-Amz-Security-Token", TOKEN}},
     NULL,
     NULL,
     false,
     "host;x-amz-date;x-amz-security-token",
     "POST\n/"
     "\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:" TOKEN
     "\n\nhost;x-amz-date;x-amz-security-token\n" EMPTY_SHA,
     "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    /* S3 developer guide, "Examples: signature calculations" (header auth) */
    {"s3-get-object",
     &S3DOC,
     "GET",
     "/test.txt",
     "",
     {S3HOST, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", EMPTY_SHA}, S3DATE},
     NULL,
     EMPTY_SHA,
     true,
     "host;range;x-amz-content-sha256;x-amz-date",
     "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
     "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
     "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
    {"s3-put-object (raw $)",
     &S3DOC,
     "PUT",
     "/test$file.text",
     "",
     {S3HOST,
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      S3DATE,
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", PUT_BODY_SHA}},
     "Welcome to Amazon S3.",
     NULL,
     true,
     "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
     "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
     "host:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" PUT_BODY_SHA "\n"
     "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
     "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" PUT_BODY_SHA,
     "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
    {"s3-put-object (%24, as botocore sends it)",
     &S3DOC,
     "PUT",
     "/test%24file.text",
     "",
     {S3HOST,
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      S3DATE,
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", PUT_BODY_SHA}},
     "Welcome to Amazon S3.",
     NULL,
     true,
     "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
     NULL,
     "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
    {"s3-get-bucket-lifecycle",
     &S3DOC,
     "GET",
     "/",
     "lifecycle",
     {S3HOST, {"x-amz-content-sha256", EMPTY_SHA}, S3DATE},
     NULL,
     EMPTY_SHA,
     true,
     "host;x-amz-content-sha256;x-amz-date",
     "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" EMPTY_SHA
     "\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
     "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
    {"s3-list-objects",
     &S3DOC,
     "GET",
     "/",
     "max-keys=2&prefix=J",
     {S3HOST, {"x-amz-content-sha256", EMPTY_SHA}, S3DATE},
     NULL,
     EMPTY_SHA,
     true,
     "host;x-amz-content-sha256;x-amz-date",
     NULL,
     "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
};

#define NVEC (sizeof VECTORS / sizeof *VECTORS)

/* ---- helpers ---- */

static void add_headers(const vector *v, cl_kvlist *h, const char *host_override) {
    for (size_t i = 0; i < 7 && v->headers[i].k; i++) {
        bool host = strcasecmp(v->headers[i].k, "host") == 0;
        kvlist_add(h, v->headers[i].k, host && host_override ? host_override : v->headers[i].v);
    }
}

static char *scope_of(const cred *c) {
    return cl_sprintf("%.8s/%s/%s/aws4_request", c->amz_date, c->region, c->service);
}

static char *authz_of(const vector *v, const char *sig) {
    const cred *c = v->c;
    return cl_sprintf("AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
                      "Signature=%s",
                      c->akid, c->amz_date, c->region, c->service, v->signed_headers, sig);
}

static void payload_of(const vector *v, char out[65]) {
    if (v->payload)
        snprintf(out, 65, "%s", v->payload);
    else
        crypto_sha256_hex(slice_cstr(v->body ? v->body : ""), out);
}

static sigv4_request request_of(const vector *v, const cl_kvlist *h, const char *payload) {
    return (sigv4_request){v->method, v->path, v->query, h, payload, v->s3};
}

/* The signed request as a server sees it; returns the verify status. */
static sigv4_status server_check(const vector *v, const char *method, const char *query,
                                 const char *host, const char *sig, const char *secret) {
    cl_kvlist h = CL_KVLIST_INIT;
    add_headers(v, &h, host);
    char *authz = authz_of(v, sig);
    kvlist_add(&h, "Authorization", authz);
    char payload[65];
    payload_of(v, payload);
    sigv4_request r = request_of(v, &h, payload);
    r.method = method;
    r.query = query;
    sigv4_auth a;
    sigv4_status st = sigv4_parse(&r, &a);
    if (st == SIGV4_OK) {
        assert_false(a.presigned);
        assert_string_equal(a.access_key, v->c->akid);
        assert_string_equal(a.region, v->c->region);
        assert_string_equal(a.service, v->c->service);
        assert_string_equal(a.signed_headers, v->signed_headers);
        assert_string_equal(a.amz_date, v->c->amz_date);
        st = sigv4_verify(&r, &a, secret, a.request_time);
    }
    sigv4_auth_free(&a);
    free(authz);
    kvlist_free(&h);
    return st;
}

/* ---- the published vectors ---- */

static void check_vector_strings(const vector *v) {
    cl_kvlist h = CL_KVLIST_INIT;
    add_headers(v, &h, NULL);
    char payload[65];
    payload_of(v, payload);
    sigv4_request r = request_of(v, &h, payload);
    cl_buf creq = CL_BUF_INIT, sts = CL_BUF_INIT;
    sigv4_canonical_request(&r, v->signed_headers, &creq);
    if (v->creq) assert_string_equal(buf_cstr(&creq), v->creq);
    char *scope = scope_of(v->c);
    sigv4_string_to_sign(v->c->amz_date, scope, buf_slice(&creq), &sts);
    char *want = cl_sprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", v->c->amz_date, scope, v->sts_hash);
    assert_string_equal(buf_cstr(&sts), want);
    uint8_t key[32], mac[32];
    char hex[65];
    char date[9];
    snprintf(date, sizeof date, "%.8s", v->c->amz_date);
    sigv4_signing_key(v->c->secret, date, v->c->region, v->c->service, key);
    crypto_hmac_sha256(slice_of(key, 32), buf_slice(&sts), mac);
    hex_encode_to(hex, mac, 32);
    assert_string_equal(hex, v->signature);
    free(want);
    free(scope);
    buf_free(&creq);
    buf_free(&sts);
    kvlist_free(&h);
}

static void test_vectors(void **s) {
    (void)s;
    for (size_t i = 0; i < NVEC; i++) {
        const vector *v = &VECTORS[i];
        print_message("  %s\n", v->name);
        check_vector_strings(v);
        assert_int_equal(server_check(v, v->method, v->query, NULL, v->signature, v->c->secret),
                         SIGV4_OK);
    }
}

static void test_vectors_tampered(void **s) {
    (void)s;
    for (size_t i = 0; i < NVEC; i++) {
        const vector *v = &VECTORS[i];
        char sig[65];
        snprintf(sig, sizeof sig, "%s", v->signature);
        sig[17] = sig[17] == '0' ? '1' : '0';
        char *q = cl_sprintf("%s%sx-tampered=1", v->query, *v->query ? "&" : "");
        char *q2 = cl_sprintf("%sZ", v->query);
        assert_int_equal(server_check(v, v->method, v->query, NULL, sig, v->c->secret),
                         SIGV4_SIGNATURE_MISMATCH);
        assert_int_equal(server_check(v, v->method, v->query, NULL, v->signature, "wrong"),
                         SIGV4_SIGNATURE_MISMATCH);
        assert_int_equal(
            server_check(v, v->method, v->query, "evil.example.com", v->signature, v->c->secret),
            SIGV4_SIGNATURE_MISMATCH);
        assert_int_equal(server_check(v, v->method, q, NULL, v->signature, v->c->secret),
                         SIGV4_SIGNATURE_MISMATCH);
        if (*v->query)
            assert_int_equal(server_check(v, v->method, q2, NULL, v->signature, v->c->secret),
                             SIGV4_SIGNATURE_MISMATCH);
        assert_int_equal(server_check(v, "DELETE", v->query, NULL, v->signature, v->c->secret),
                         SIGV4_SIGNATURE_MISMATCH);
        free(q);
        free(q2);
    }
}

/* A signed header's value changed (not just host): My-Header1 in the suite. */
static void test_tampered_signed_header(void **s) {
    (void)s;
    const vector *v = &VECTORS[11]; /* get-header-value-trim */
    assert_string_equal(v->name, "get-header-value-trim");
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "My-Header1", "value1");
    kvlist_add(&h, "My-Header2", "\"a b  d\"");
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    char *authz = authz_of(v, v->signature);
    kvlist_add(&h, "Authorization", authz);
    sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_SIGNATURE_MISMATCH);
    /* an unsigned header may change freely */
    kvlist_add(&h, "User-Agent", "anything");
    h.items[2].value[6] = 'c'; /* "a b  c": the extra inner space still canonicalises */
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_OK);
    sigv4_auth_free(&a);
    free(authz);
    kvlist_free(&h);
}

/* post-sts-header-before: the token is read from the header and signed. */
static void test_security_token_header(void **s) {
    (void)s;
    const vector *v = &VECTORS[29];
    assert_string_equal(v->name, "post-sts-header-before");
    cl_kvlist h = CL_KVLIST_INIT;
    add_headers(v, &h, NULL);
    char *authz = authz_of(v, v->signature);
    kvlist_add(&h, "Authorization", authz);
    sigv4_request r = {"POST", "/", "", &h, EMPTY_SHA, false};
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_string_equal(a.security_token, TOKEN);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_OK);
    h.items[2].value[0] = 'B'; /* the token is signed: changing it breaks the signature */
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    free(authz);
    kvlist_free(&h);
}

/* ---- presigned ---- */

#define S3_PRESIGN_QUERY                                                                           \
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-" \
    "1"                                                                                            \
    "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="    \
    "host"
#define S3_PRESIGN_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
#define T_20130524 ((time_t)1369353600)

static sigv4_status presigned_check(const char *method, const char *path, const char *query,
                                    const char *host, const char *payload, time_t now,
                                    const char *secret) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", host);
    sigv4_request r = {method, path, query, &h, payload, true};
    sigv4_auth a;
    sigv4_status st = sigv4_parse(&r, &a);
    if (st == SIGV4_OK) {
        assert_true(a.presigned);
        st = sigv4_verify(&r, &a, secret, now);
    }
    sigv4_auth_free(&a);
    kvlist_free(&h);
    return st;
}

static void test_presign_s3_example(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "examplebucket.s3.amazonaws.com");
    sigv4_request r = {"GET", "/test.txt", S3_PRESIGN_QUERY, &h, NULL, true};
    cl_buf creq = CL_BUF_INIT, sts = CL_BUF_INIT;
    sigv4_canonical_request(&r, "host", &creq);
    assert_string_equal(buf_cstr(&creq),
                        "GET\n/test.txt\n" S3_PRESIGN_QUERY
                        "\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
    sigv4_string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", buf_slice(&creq),
                         &sts);
    assert_string_equal(buf_cstr(&sts), "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/"
                                        "aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8"
                                        "942174ae0a9121cf58ad04");
    /* the client side produces the documented URL */
    r.query = "";
    char *q =
        sigv4_presign(&r, S3DOC.akid, S3DOC.secret, NULL, "us-east-1", "s3", T_20130524, 86400);
    assert_string_equal(q, S3_PRESIGN_QUERY "&X-Amz-Signature=" S3_PRESIGN_SIG);
    /* and the server accepts it: with UNSIGNED-PAYLOAD or the body hash passed in */
    const char *sec = S3DOC.secret, *host = "examplebucket.s3.amazonaws.com";
    assert_int_equal(presigned_check("GET", "/test.txt", q, host, NULL, T_20130524, sec), SIGV4_OK);
    assert_int_equal(
        presigned_check("GET", "/test.txt", q, host, EMPTY_SHA, T_20130524 + 86400, sec), SIGV4_OK);
    assert_int_equal(
        presigned_check("GET", "/test.txt", q, host, "UNSIGNED-PAYLOAD", T_20130524 - 900, sec),
        SIGV4_OK);
    /* the clock */
    assert_int_equal(presigned_check("GET", "/test.txt", q, host, NULL, T_20130524 + 86401, sec),
                     SIGV4_EXPIRED);
    assert_int_equal(presigned_check("GET", "/test.txt", q, host, NULL, T_20130524 - 901, sec),
                     SIGV4_SKEWED);
    /* tampering */
    assert_int_equal(presigned_check("GET", "/test.txt", q, host, NULL, T_20130524, "wrong"),
                     SIGV4_SIGNATURE_MISMATCH);
    assert_int_equal(presigned_check("PUT", "/test.txt", q, host, NULL, T_20130524, sec),
                     SIGV4_SIGNATURE_MISMATCH);
    assert_int_equal(presigned_check("GET", "/test2.txt", q, host, NULL, T_20130524, sec),
                     SIGV4_SIGNATURE_MISMATCH);
    assert_int_equal(
        presigned_check("GET", "/test.txt", q, "other.s3.amazonaws.com", NULL, T_20130524, sec),
        SIGV4_SIGNATURE_MISMATCH);
    char *extra = cl_sprintf("%s&response-content-type=text%%2Fhtml", q);
    assert_int_equal(presigned_check("GET", "/test.txt", extra, host, NULL, T_20130524, sec),
                     SIGV4_SIGNATURE_MISMATCH);
    char *longer = cl_sprintf("%s", q);
    char *e = strstr(longer, "Expires=86400");
    e[8] = '9'; /* 96400 */
    assert_int_equal(presigned_check("GET", "/test.txt", longer, host, NULL, T_20130524, sec),
                     SIGV4_SIGNATURE_MISMATCH);
    char *bad = cl_sprintf("%s", q);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '4' ? '5' : '4';
    assert_int_equal(presigned_check("GET", "/test.txt", bad, host, NULL, T_20130524, sec),
                     SIGV4_SIGNATURE_MISMATCH);
    free(bad);
    free(longer);
    free(extra);
    free(q);
    buf_free(&creq);
    buf_free(&sts);
    kvlist_free(&h);
}

/* aws-c-auth's signing suite, query-signed form of get-vanilla-query-order-key-case
 * (canonical request and string to sign published together). */
static void test_presign_canonical_query(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    sigv4_request r = {
        "GET",
        "/",
        "Param2=value2&Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date="
        "20150830T123600Z&X-Amz-SignedHeaders=host",
        &h,
        EMPTY_SHA,
        false};
    cl_buf creq = CL_BUF_INIT, sts = CL_BUF_INIT;
    sigv4_canonical_request(&r, "host", &creq);
    assert_string_equal(
        buf_cstr(&creq),
        "GET\n/\nParam1=value1&Param2=value2&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
        "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
        "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host\nhost:example.amazonaws."
        "com\n\nhost\n" EMPTY_SHA);
    sigv4_string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request",
                         buf_slice(&creq), &sts);
    assert_string_equal(buf_cstr(&sts), "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/"
                                        "service/aws4_request\neb1512f5ed1470925b7b1072c2108953680"
                                        "032d6bc3ccbef8eb7c6fdf1639827");
    /* get-vanilla-with-session-token, query form: token signed as a header and a parameter */
    buf_clear(&creq);
    buf_clear(&sts);
    kvlist_add(&h, "X-Amz-Security-Token",
               "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    r.query =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%"
        "2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bx-amz-"
        "security-token&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa315"
        "53b73ebf194267&X-Amz-Expires=3600";
    sigv4_canonical_request(&r, "host;x-amz-security-token", &creq);
    sigv4_string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request",
                         buf_slice(&creq), &sts);
    assert_string_equal(buf_cstr(&sts), "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/"
                                        "service/aws4_request\n3ccf911b8d0ca9c791608b8f1550af1402a"
                                        "28ccc3a68f0d2023d6d7e334f2e72");
    buf_free(&creq);
    buf_free(&sts);
    kvlist_free(&h);
}

/* post-sts-token, query variant: a presigned URL carrying X-Amz-Security-Token. */
static void test_presign_with_token(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "host", "example.amazonaws.com");
    time_t t = 1440938160; /* 20150830T123600Z */
    sigv4_request r = {"GET", "/", "Action=GetCallerIdentity&Version=2011-06-15", &h, NULL, false};
    char *q = sigv4_presign(&r, SUITE.akid, SUITE.secret, TOKEN, "us-east-1", "sts", t, 60);
    assert_non_null(strstr(q, "X-Amz-Security-Token=AQoDYXdzEPT%2F%2F"));
    r.query = q;
    r.payload_hash = EMPTY_SHA; /* what a server hashes from the empty body */
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_true(a.presigned);
    assert_string_equal(a.security_token, TOKEN);
    assert_string_equal(a.service, "sts");
    assert_string_equal(a.amz_date, "20150830T123600Z");
    assert_true(a.expires == 60);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t + 60), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t + 61), SIGV4_EXPIRED);
    sigv4_auth_free(&a);
    /* the token is signed: swapping it breaks the signature */
    char *swapped = cl_sprintf("%s", q);
    char *tok = strstr(swapped, "Token=AQo");
    tok[6] = 'B';
    r.query = swapped;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    free(swapped);
    free(q);
    kvlist_free(&h);
}

/* A presigned request that also sends x-amz-content-sha256 signs that value. */
static void test_presign_content_sha(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "bucket.localhost");
    kvlist_add(&h, "x-amz-content-sha256", PUT_BODY_SHA);
    time_t t = 1700000000;
    sigv4_request r = {"PUT", "/key", "", &h, PUT_BODY_SHA, true};
    char *q = sigv4_presign(&r, "AKID", "secret", NULL, "us-east-1", "s3", t, 3600);
    assert_non_null(strstr(q, "X-Amz-SignedHeaders=host%3Bx-amz-content-sha256&"));
    r.query = q;
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, "secret", t), SIGV4_OK);
    r.payload_hash = "UNSIGNED-PAYLOAD";
    assert_int_equal(sigv4_verify(&r, &a, "secret", t), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    free(q);
    kvlist_free(&h);
}

typedef struct {
    const char *query;
    sigv4_status want;
} query_case;

static void test_presign_parse_errors(void **s) {
    (void)s;
#define QA "X-Amz-Algorithm=AWS4-HMAC-SHA256"
#define QC "&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"
#define QD "&X-Amz-Date=20150830T123600Z"
#define QE "&X-Amz-Expires=60"
#define QH "&X-Amz-SignedHeaders=host"
#define QS "&X-Amz-Signature=" VANILLA_SIG
    static const query_case cases[] = {
        {QA QC QD QE QH QS, SIGV4_OK},
        {"X-Amz-Credential=AKID/20150830/us-east-1/s3/"
         "aws4_request&X-Amz-Algorithm=AWS4-HMAC-SHA256" QD QE QH QS,
         SIGV4_OK},
        {"a=1", SIGV4_MISSING},
        {"AWSAccessKeyId=AKID&Signature=quXMrn1hHAklyTPch0Z7Lu%2FjB4s%3D&Expires=1795237982",
         SIGV4_BAD_ALGORITHM},
        {"AWSAccessKeyId=AKID&Expires=1795237982", SIGV4_MISSING},
        {"X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3%2Faws4_request", SIGV4_MISSING},
        {"X-Amz-Algorithm=AWS4-HMAC-SHA1" QC QD QE QH QS, SIGV4_BAD_ALGORITHM},
        {"X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256" QC QD QE QH QS, SIGV4_BAD_ALGORITHM},
        {QA QC QD QE QH, SIGV4_MALFORMED},
        {QA QD QE QH QS, SIGV4_MALFORMED},
        {QA QC QE QH QS, SIGV4_BAD_DATE},
        {QA QC QD QH QS, SIGV4_MALFORMED},
        {QA QC QD QE QS, SIGV4_MALFORMED},
        {QA QC QD QE QH QS QS, SIGV4_MALFORMED},
        {QA "&" QA QC QD QE QH QS, SIGV4_MALFORMED},
        {QA QC QD QD QE QH QS, SIGV4_MALFORMED},
        {QA QC QD "&X-Amz-Expires=604800" QH QS, SIGV4_OK},
        {QA QC QD "&X-Amz-Expires=604801" QH QS, SIGV4_EXPIRES_TOO_LONG},
        {QA QC QD "&X-Amz-Expires=99999999999999999999999" QH QS, SIGV4_MALFORMED},
        {QA QC QD "&X-Amz-Expires=0" QH QS, SIGV4_MALFORMED},
        {QA QC QD "&X-Amz-Expires=-7" QH QS, SIGV4_MALFORMED},
        {QA QC QD "&X-Amz-Expires=1h" QH QS, SIGV4_MALFORMED},
        {QA QC QD QE "&X-Amz-SignedHeaders=x-amz-date" QS, SIGV4_MALFORMED},
        {QA QC QD QE QH "&X-Amz-Signature=abc", SIGV4_MALFORMED},
        {QA "&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3" QD QE QH QS, SIGV4_MALFORMED},
        {QA "&X-Amz-Credential=AKID%2F20150830%2Fus%0Aeast-1%2Fs3%2Faws4_request" QD QE QH QS,
         SIGV4_MALFORMED},
        {QA "&X-Amz-Credential=AKID%2F20150831%2Fus-east-1%2Fs3%2Faws4_request" QD QE QH QS,
         SIGV4_BAD_DATE},
        {QA QC "&X-Amz-Date=2015-08-30T12:36:00Z" QE QH QS, SIGV4_BAD_DATE},
        {QA QC "&X-Amz-Date=%zz" QE QH QS, SIGV4_BAD_DATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cl_kvlist h = CL_KVLIST_INIT;
        kvlist_add(&h, "Host", "h");
        sigv4_request r = {"GET", "/", cases[i].query, &h, NULL, true};
        sigv4_auth a;
        sigv4_status st = sigv4_parse(&r, &a);
        if (st != cases[i].want) print_message("case %zu: %s\n", i, cases[i].query);
        assert_int_equal(st, cases[i].want);
        sigv4_auth_free(&a);
        kvlist_free(&h);
    }
    /* the Authorization header and a presigned query together */
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "h");
    kvlist_add(&h, "Authorization",
               "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/"
               "aws4_request, SignedHeaders=host, Signature=" VANILLA_SIG);
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    sigv4_request r = {"GET", "/", QA QC QD QE QH QS, &h, NULL, true};
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_MALFORMED);
    sigv4_auth_free(&a);
    r.query = "";
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    sigv4_auth_free(&a);
    kvlist_free(&h);
}

/* ---- the Authorization header ---- */

typedef struct {
    const char *authz;
    sigv4_status want;
} header_case;

#define CRED "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
#define SIGP "Signature=" VANILLA_SIG

static void test_header_parse(void **s) {
    (void)s;
    static const header_case cases[] = {
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date, " SIGP, SIGV4_OK},
        {"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;x-amz-date," SIGP, SIGV4_OK},
        {"  AWS4-HMAC-SHA256   " SIGP " ,  " CRED ",,SignedHeaders=host;x-amz-date  ", SIGV4_OK},
        {"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date " SIGP " " CRED, SIGV4_OK},
        {"AWS4-HMAC-SHA256\t" CRED ",\tSignedHeaders=host;x-amz-date,\t" SIGP, SIGV4_OK},
        {"", SIGV4_MALFORMED},
        {"   ", SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256", SIGV4_MALFORMED},
        {"AWS AKIDEXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", SIGV4_BAD_ALGORITHM},
        {"AWS4-HMAC-SHA512 " CRED ", SignedHeaders=host, " SIGP, SIGV4_BAD_ALGORITHM},
        {"aws4-hmac-sha256 " CRED ", SignedHeaders=host, " SIGP, SIGV4_BAD_ALGORITHM},
        {"AWS4-HMAC-SHA256," CRED ", SignedHeaders=host, " SIGP, SIGV4_BAD_ALGORITHM},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host", SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 SignedHeaders=host, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", " CRED ", SignedHeaders=host, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, " SIGP ", " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, " SIGP ", Foo=bar", SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential = AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        /* credential scope */
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_requesx, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830//service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us east/service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKID:EXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/serv<ice/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083/us-east-1/service/aws4_request, "
         "SignedHeaders=host, " SIGP,
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, " SIGP,
         SIGV4_BAD_DATE},
        {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015083x/us-east-1/service/aws4_request, "
         "SignedHeaders=host;x-amz-date, " SIGP,
         SIGV4_BAD_DATE},
        /* signed headers */
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=;host, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;x-amz-date, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;host, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=Host;x-amz-date, " SIGP, SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x:y, " SIGP, SIGV4_MALFORMED},
        /* signature */
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=5fa00fa3", SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=" VANILLA_SIG "0",
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
         "5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31",
         SIGV4_MALFORMED},
        {"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf3g",
         SIGV4_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cl_kvlist h = CL_KVLIST_INIT;
        kvlist_add(&h, "Host", "example.amazonaws.com");
        kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
        kvlist_add(&h, "Authorization", cases[i].authz);
        sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
        sigv4_auth a;
        sigv4_status st = sigv4_parse(&r, &a);
        if (st != cases[i].want) print_message("case %zu: %s\n", i, cases[i].authz);
        assert_int_equal(st, cases[i].want);
        if (st == SIGV4_OK) { /* every accepted spelling is the get-vanilla signature */
            assert_string_equal(a.access_key, "AKIDEXAMPLE");
            assert_string_equal(a.date, "20150830");
            assert_string_equal(a.signed_headers, "host;x-amz-date");
            assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_OK);
        }
        sigv4_auth_free(&a);
        kvlist_free(&h);
    }
}

static sigv4_status parse_with(const char *h1, const char *v1, const char *h2, const char *v2,
                               sigv4_auth *a) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    if (h1) kvlist_add(&h, h1, v1);
    if (h2) kvlist_add(&h, h2, v2);
    sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
    sigv4_status st = sigv4_parse(&r, a);
    kvlist_free(&h);
    return st;
}

#define VANILLA_AUTHZ "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date, " SIGP

static void test_header_missing_and_duplicates(void **s) {
    (void)s;
    sigv4_auth a;
    assert_int_equal(parse_with(NULL, NULL, NULL, NULL, &a), SIGV4_MISSING);
    sigv4_auth_free(&a);
    assert_int_equal(parse_with("X-Amz-Date", "20150830T123600Z", NULL, NULL, &a), SIGV4_MISSING);
    sigv4_auth_free(&a);
    assert_int_equal(parse_with("Authorization", VANILLA_AUTHZ, "authorization", VANILLA_AUTHZ, &a),
                     SIGV4_MALFORMED);
    sigv4_auth_free(&a);
    /* the request time */
    assert_int_equal(parse_with("Authorization", VANILLA_AUTHZ, NULL, NULL, &a), SIGV4_BAD_DATE);
    sigv4_auth_free(&a);
    assert_int_equal(
        parse_with("Authorization", VANILLA_AUTHZ, "X-Amz-Date", "2015-08-30T12:36:00Z", &a),
        SIGV4_BAD_DATE);
    sigv4_auth_free(&a);
    assert_int_equal(
        parse_with("Authorization", VANILLA_AUTHZ, "X-Amz-Date", "20150830T123600", &a),
        SIGV4_BAD_DATE);
    sigv4_auth_free(&a);
    assert_int_equal(
        parse_with("Authorization", VANILLA_AUTHZ, "X-Amz-Date", "20150830T253600Z", &a),
        SIGV4_BAD_DATE);
    sigv4_auth_free(&a);
    assert_int_equal(parse_with("Authorization", VANILLA_AUTHZ, "Date", "yesterday", &a),
                     SIGV4_BAD_DATE);
    sigv4_auth_free(&a);
    assert_int_equal(
        parse_with("Authorization", VANILLA_AUTHZ, "X-Amz-Date", " 20150830T123600Z ", &a),
        SIGV4_OK);
    assert_string_equal(a.amz_date, "20150830T123600Z");
    sigv4_auth_free(&a);
}

static void test_many_signed_headers(void **s) {
    (void)s;
    for (int n = 255; n <= 256; n++) {
        cl_buf list = CL_BUF_INIT;
        buf_append_cstr(&list, "host");
        for (int i = 0; i < n; i++)
            buf_appendf(&list, ";h%d", i);
        char *authz =
            cl_sprintf("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=%s, " SIGP, buf_cstr(&list));
        sigv4_auth a;
        assert_int_equal(parse_with("Authorization", authz, "X-Amz-Date", "20150830T123600Z", &a),
                         n < 256 ? SIGV4_OK : SIGV4_MALFORMED);
        sigv4_auth_free(&a);
        free(authz);
        buf_free(&list);
    }
}

/* Date header (RFC 7231) instead of X-Amz-Date: converted for the string to sign,
 * signed as sent. */
static void test_date_header(void **s) {
    (void)s;
    const char *date = "Sun, 30 Aug 2015 12:36:00 GMT";
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "Date", date);
    sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
    cl_buf creq = CL_BUF_INIT, sts = CL_BUF_INIT;
    sigv4_canonical_request(&r, "date;host", &creq);
    assert_string_equal(buf_cstr(&creq),
                        "GET\n/\n\ndate:Sun, 30 Aug 2015 12:36:00 GMT\nhost:example."
                        "amazonaws.com\n\ndate;host\n" EMPTY_SHA);
    sigv4_string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request",
                         buf_slice(&creq), &sts);
    uint8_t key[32], mac[32];
    char sig[65];
    sigv4_signing_key(SUITE.secret, "20150830", "us-east-1", "service", key);
    crypto_hmac_sha256(slice_of(key, 32), buf_slice(&sts), mac);
    hex_encode_to(sig, mac, 32);
    char *authz =
        cl_sprintf("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=date;host, Signature=%s", sig);
    kvlist_add(&h, "Authorization", authz);
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_string_equal(a.amz_date, "20150830T123600Z");
    assert_true(a.request_time == 1440938160);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, 1440938160), SIGV4_OK);
    h.items[1].value[6] = '1'; /* "Sun, 31": the signed Date header changed */
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, 1440938160), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    free(authz);
    buf_free(&creq);
    buf_free(&sts);
    kvlist_free(&h);
}

static void test_missing_signed_header(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    kvlist_add(&h, "Authorization",
               "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;my-header;"
               "x-amz-date, " SIGP);
    sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    kvlist_free(&h);
    /* no Host header at all */
    h = (cl_kvlist)CL_KVLIST_INIT;
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    kvlist_add(&h, "Authorization", VANILLA_AUTHZ);
    r.headers = &h;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, a.request_time), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    kvlist_free(&h);
}

static void test_header_skew(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    kvlist_add(&h, "Authorization", VANILLA_AUTHZ);
    sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    time_t t = a.request_time;
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t + 900), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t - 900), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t + 901), SIGV4_SKEWED);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, t - 901), SIGV4_SKEWED);
    assert_int_equal(sigv4_verify(&r, &a, SUITE.secret, 0), SIGV4_SKEWED);
    /* incomplete auth structures are refused, not dereferenced */
    sigv4_auth empty = {0};
    assert_int_equal(sigv4_verify(&r, &empty, SUITE.secret, t), SIGV4_MALFORMED);
    assert_int_equal(sigv4_verify(&r, &a, NULL, t), SIGV4_MALFORMED);
    sigv4_auth_free(&a);
    kvlist_free(&h);
}

/* ---- canonical pieces the vectors do not reach ---- */

static char *creq_line(const char *path, const char *query, bool s3, int line) {
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "host", "h");
    sigv4_request r = {"GET", path, query, &h, NULL, s3};
    cl_buf b = CL_BUF_INIT;
    sigv4_canonical_request(&r, "host", &b);
    const char *p = buf_cstr(&b);
    for (int i = 0; i < line; i++)
        p = strchr(p, '\n') + 1;
    char *out = cl_strndup(p, strcspn(p, "\n"));
    buf_free(&b);
    kvlist_free(&h);
    return out;
}

typedef struct {
    const char *in;
    bool s3;
    const char *want;
} uri_case;

static void test_canonical_uri(void **s) {
    (void)s;
    static const uri_case cases[] = {
        /* other services: normalise, then encode the raw path once more */
        {"", false, "/"},
        {"/", false, "/"},
        {"/example%20space/", false, "/example%2520space/"},
        {"/a%7Eb/~c", false, "/a%257Eb/~c"},
        {"/a/b/../c/./d//", false, "/a/c/d/"},
        {"/../..", false, "/"},
        {"/a/..", false, "/"},
        {"/a/b/..", false, "/a"},
        {"/a/b/../", false, "/a/"},
        {"/a:b@c!$&'()*+,;=", false, "/a%3Ab%40c%21%24%26%27%28%29%2A%2B%2C%3B%3D"},
        /* S3: as sent, segment by segment decoded and re-encoded, never normalised */
        {"", true, "/"},
        {"/", true, "/"},
        {"//a/./b/../c//", true, "//a/./b/../c//"},
        {"/test$file.text", true, "/test%24file.text"},
        {"/test%24file.text", true, "/test%24file.text"},
        {"/a%7Eb/~c", true, "/a~b/~c"},
        {"/a%2Fb", true, "/a%2Fb"},
        {"/a%2fb%c3%a9", true, "/a%2Fb%C3%A9"},
        {"/a+b c", true, "/a%2Bb%20c"},
        {"/a%2Bb%20c", true, "/a%2Bb%20c"},
        {"/bad%zz/%4", true, "/bad%25zz/%254"},
        {"/%E1%88%B4", true, "/%E1%88%B4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = creq_line(cases[i].in, "", cases[i].s3, 1);
        if (strcmp(got, cases[i].want) != 0)
            print_message("path %s (s3=%d)\n", cases[i].in, cases[i].s3);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

typedef struct {
    const char *in, *want;
} str_case;

static void test_canonical_query(void **s) {
    (void)s;
    static const str_case cases[] = {
        {"", ""},
        {"b=2&a=1&a=0", "a=0&a=1&b=2"},
        {"a-b=1&a=2", "a=2&a-b=1"}, /* by name, then value: not by "name=value" */
        {"key", "key="},
        {"key=", "key="},
        {"=v", "=v"},
        {"a=b=c", "a=b%3Dc"},
        {"a=1&&b=2&", "a=1&b=2"},
        {"a=x+y", "a=x%20y"}, /* '+' reads as a space, as the form parser gives handlers */
        {"a=x%20y", "a=x%20y"},
        {"a=x%2By", "a=x%2By"},
        {"a=%7e%7E~", "a=~~~"},
        {"a=%c3%a9", "a=%C3%A9"},
        {"a=%2F/", "a=%2F%2F"},
        {"a=%zz", "a=%25zz"},
        {"prefix=photos/2006/&delimiter=/", "delimiter=%2F&prefix=photos%2F2006%2F"},
        {"Param1=value1&Param1=Value1&param1=a", "Param1=Value1&Param1=value1&param1=a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = creq_line("/", cases[i].in, false, 2);
        if (strcmp(got, cases[i].want) != 0) print_message("query %s\n", cases[i].in);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void test_canonical_headers(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "HOST", "h");
    kvlist_add(&h, "X-A", "\t a \t\t b  c \t");
    kvlist_add(&h, "x-a", "");
    kvlist_add(&h, "x-b", "  ");
    kvlist_add(&h, "X-Fold", "one\r\n two\r\n\tthree");
    sigv4_request r = {"GET", "/", "", &h, "UNSIGNED-PAYLOAD", false};
    cl_buf b = CL_BUF_INIT;
    sigv4_canonical_request(&r, "host;x-a;x-b;x-fold", &b);
    assert_string_equal(buf_cstr(&b), "GET\n/\n\nhost:h\nx-a:a b c,\nx-b:\nx-fold:one,two,three\n\n"
                                      "host;x-a;x-b;x-fold\nUNSIGNED-PAYLOAD");
    buf_clear(&b);
    r.payload_hash = NULL; /* NULL signs as UNSIGNED-PAYLOAD */
    sigv4_canonical_request(&r, "host", &b);
    assert_string_equal(buf_cstr(&b), "GET\n/\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    buf_free(&b);
    kvlist_free(&h);
}

/* ---- client side ---- */

static void test_sign_vanilla(void **s) {
    (void)s;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.amazonaws.com");
    kvlist_add(&h, "Authorization", "stale");
    kvlist_add(&h, "User-Agent", "test/1.0");
    sigv4_request r = {"GET", "/", "", &h, EMPTY_SHA, false};
    sigv4_sign(&r, &h, SUITE.akid, SUITE.secret, NULL, "us-east-1", "service", 1440938160, false);
    assert_int_equal(kvlist_count(&h, "Authorization"), 1);
    assert_string_equal(kvlist_get(&h, "Authorization"), VANILLA_AUTHZ);
    assert_string_equal(kvlist_get_ci(&h, "x-amz-date"), "20150830T123600Z");
    kvlist_free(&h);
}

typedef struct {
    const char *method, *path, *query, *service;
    bool s3, content_sha, token;
} roundtrip_case;

static void test_sign_roundtrip(void **s) {
    (void)s;
    static const roundtrip_case cases[] = {
        {"POST", "/", "", "iam", false, false, false},
        {"POST", "/", "", "cloister", false, false, true},
        {"GET", "/2015-03-31/functions/my%20fn/invocations", "Qualifier=%24LATEST&x=a%2Bb",
         "lambda", false, false, false},
        {"PUT", "/bucket/dir/a%20b%2Bc%7E~%E1%88%B4.txt", "", "s3", true, true, false},
        {"GET", "/bucket", "list-type=2&prefix=a%2Fb&delimiter=%2F&encoding-type=url", "s3", true,
         true, true},
        {"DELETE", "/bucket/k", "uploadId=abc%3D%3D", "s3", true, true, false},
    };
    time_t now = 1700000000;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const roundtrip_case *c = &cases[i];
        cl_kvlist h = CL_KVLIST_INIT;
        kvlist_add(&h, "host", "127.0.0.1:9000");
        kvlist_add(&h, "Content-Type", "application/octet-stream");
        char hash[65];
        crypto_sha256_hex(slice_cstr(c->path), hash);
        sigv4_request r = {c->method, c->path, c->query, &h, hash, c->s3};
        sigv4_sign(&r, &h, "AKIAEXAMPLE", "s3cr3t", c->token ? "tok+en/=" : NULL, "us-west-2",
                   c->service, now, c->content_sha);
        const char *authz = kvlist_get(&h, "Authorization");
        assert_non_null(strstr(authz, "SignedHeaders=content-type;host;x-amz-"));
        assert_true((strstr(authz, ";x-amz-security-token, ") != NULL) == c->token);
        assert_true((strstr(authz, ";x-amz-content-sha256;") != NULL) == c->content_sha);
        if (c->content_sha) assert_string_equal(kvlist_get(&h, "x-amz-content-sha256"), hash);
        sigv4_auth a;
        assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
        assert_string_equal(a.service, c->service);
        assert_string_equal(a.region, "us-west-2");
        if (c->token)
            assert_string_equal(a.security_token, "tok+en/=");
        else
            assert_null(a.security_token);
        assert_int_equal(sigv4_verify(&r, &a, "s3cr3t", now + 5), SIGV4_OK);
        assert_int_equal(sigv4_verify(&r, &a, "s3cr3T", now), SIGV4_SIGNATURE_MISMATCH);
        r.payload_hash = EMPTY_SHA;
        assert_int_equal(sigv4_verify(&r, &a, "s3cr3t", now), SIGV4_SIGNATURE_MISMATCH);
        sigv4_auth_free(&a);
        kvlist_free(&h);
    }
}

static void test_presign_roundtrip(void **s) {
    (void)s;
    time_t now = 1700000000;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "localhost:9000");
    sigv4_request r = {"GET", "/bucket/a%20b.txt", "response-content-type=text%2Fplain", &h, NULL,
                       true};
    char *q = sigv4_presign(&r, "AKIAEXAMPLE", "s3cr3t", NULL, "us-east-1", "s3", now, 604800);
    assert_true(strncmp(q, "response-content-type=text%2Fplain&X-Amz-Algorithm=", 51) == 0);
    r.query = q;
    sigv4_auth a;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, "s3cr3t", now + 604800), SIGV4_OK);
    assert_int_equal(sigv4_verify(&r, &a, "s3cr3t", now + 604801), SIGV4_EXPIRED);
    r.path = "/bucket/a%20c.txt";
    assert_int_equal(sigv4_verify(&r, &a, "s3cr3t", now), SIGV4_SIGNATURE_MISMATCH);
    sigv4_auth_free(&a);
    free(q);
    /* too long an expiry is refused by the parser */
    r.path = "/bucket/a%20b.txt";
    r.query = "";
    q = sigv4_presign(&r, "AKIAEXAMPLE", "s3cr3t", NULL, "us-east-1", "s3", now, 604801);
    r.query = q;
    assert_int_equal(sigv4_parse(&r, &a), SIGV4_EXPIRES_TOO_LONG);
    sigv4_auth_free(&a);
    free(q);
    kvlist_free(&h);
}

static void test_status_str(void **s) {
    (void)s;
    for (int i = SIGV4_OK; i <= SIGV4_SIGNATURE_MISMATCH; i++) {
        const char *m = sigv4_status_str((sigv4_status)i);
        assert_non_null(m);
        assert_true(strlen(m) > 5);
        for (int j = SIGV4_OK; j < i; j++)
            assert_string_not_equal(m, sigv4_status_str((sigv4_status)j));
    }
    assert_non_null(sigv4_status_str((sigv4_status)99));
}

/* ---- the decoders under the canonical query ---- */

static void test_url_decode_edges(void **s) {
    (void)s;
    cl_buf b = CL_BUF_INIT;
    const char *bad[] = {"%", "%4", "a%", "%zz", "%g0", "%0g", "%%", "%-1", "% 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf_clear(&b);
        assert_int_equal(url_decode(&b, slice_cstr(bad[i]), false), CL_ERR_INVALID);
    }
    buf_clear(&b);
    assert_int_equal(url_decode(&b, slice_cstr("a+b%2B%2b%41%c3%A9"), true), CL_OK);
    assert_string_equal(buf_cstr(&b), "a b++A\xc3\xa9");
    buf_clear(&b);
    assert_int_equal(url_decode(&b, slice_cstr("a+b"), false), CL_OK);
    assert_string_equal(buf_cstr(&b), "a+b");
    buf_clear(&b);
    assert_int_equal(url_decode(&b, slice_cstr("%00x"), false), CL_OK);
    assert_int_equal(b.len, 2);
    assert_int_equal(b.ptr[0], 0);
    buf_clear(&b);
    assert_int_equal(url_decode(&b, slice_cstr(""), true), CL_OK);
    assert_int_equal(b.len, 0);
    buf_clear(&b);
    assert_int_equal(url_decode(&b, slice_cstr("%41"), true), CL_OK); /* escape at the very end */
    assert_string_equal(buf_cstr(&b), "A");
    buf_free(&b);
}

static void test_form_edges(void **s) {
    (void)s;
    cl_kvlist l = CL_KVLIST_INIT;
    assert_int_equal(kvlist_parse_form(&l, slice_cstr("&&a=1&&b&=v&c==d&e=f=g&")), CL_OK);
    assert_int_equal(l.len, 5);
    assert_string_equal(kvlist_get(&l, "a"), "1");
    assert_string_equal(kvlist_get(&l, "b"), "");
    assert_string_equal(kvlist_get(&l, ""), "v");
    assert_string_equal(kvlist_get(&l, "c"), "=d");
    assert_string_equal(kvlist_get(&l, "e"), "f=g");
    kvlist_free(&l);
    assert_int_equal(kvlist_parse_form(&l, slice_cstr("k%20k+x=v%26v+w&k=%3D")), CL_OK);
    assert_string_equal(l.items[0].key, "k k x");
    assert_string_equal(l.items[0].value, "v&v w");
    assert_string_equal(l.items[1].value, "=");
    kvlist_free(&l);
    assert_int_equal(kvlist_parse_form(&l, slice_cstr("")), CL_OK);
    assert_int_equal(l.len, 0);
    assert_int_equal(kvlist_parse_form(&l, slice_cstr("a=1&b=%")), CL_ERR_INVALID);
    kvlist_free(&l);
    assert_int_equal(kvlist_parse_form(&l, slice_cstr("a%=1")), CL_ERR_INVALID);
    kvlist_free(&l);
}

/* Issue 10 item 1: x-amz-* headers outside SignedHeaders are listed (once,
 * lower-cased); x-amz-content-sha256 (the payload-hash line) and x-amzn-* are not. */
static void test_unsigned_amz_headers(void **state) {
    (void)state;
    cl_kvlist h = CL_KVLIST_INIT;
    kvlist_add(&h, "Host", "example.com");
    kvlist_add(&h, "X-Amz-Date", "20150830T123600Z");
    kvlist_add(&h, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    kvlist_add(&h, "X-Amzn-Trace-Id", "Root=1");
    kvlist_add(&h, "Content-Type", "text/plain");
    cl_buf out = CL_BUF_INIT;
    assert_false(sigv4_unsigned_amz_headers(&h, "host;x-amz-date", &out));
    assert_int_equal(out.len, 0);
    kvlist_add(&h, "X-Amz-Copy-Source", "/b/k");
    kvlist_add(&h, "x-amz-meta-a", "1");
    kvlist_add(&h, "x-amz-copy-source", "/b/k2");
    assert_true(sigv4_unsigned_amz_headers(&h, "host;x-amz-date;x-amz-meta-a", &out));
    assert_string_equal(buf_cstr(&out), "x-amz-copy-source");
    buf_clear(&out);
    assert_true(sigv4_unsigned_amz_headers(&h, "host", &out));
    assert_string_equal(buf_cstr(&out), "x-amz-date,x-amz-copy-source,x-amz-meta-a");
    buf_clear(&out);
    assert_false(
        sigv4_unsigned_amz_headers(&h, "host;x-amz-copy-source;x-amz-date;x-amz-meta-a", &out));
    buf_free(&out);
    kvlist_free(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_vectors_tampered),
        cmocka_unit_test(test_tampered_signed_header),
        cmocka_unit_test(test_security_token_header),
        cmocka_unit_test(test_presign_s3_example),
        cmocka_unit_test(test_presign_canonical_query),
        cmocka_unit_test(test_presign_with_token),
        cmocka_unit_test(test_presign_content_sha),
        cmocka_unit_test(test_presign_parse_errors),
        cmocka_unit_test(test_header_parse),
        cmocka_unit_test(test_header_missing_and_duplicates),
        cmocka_unit_test(test_many_signed_headers),
        cmocka_unit_test(test_date_header),
        cmocka_unit_test(test_missing_signed_header),
        cmocka_unit_test(test_header_skew),
        cmocka_unit_test(test_canonical_uri),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_sign_vanilla),
        cmocka_unit_test(test_sign_roundtrip),
        cmocka_unit_test(test_presign_roundtrip),
        cmocka_unit_test(test_status_str),
        cmocka_unit_test(test_url_decode_edges),
        cmocka_unit_test(test_form_edges),
        cmocka_unit_test(test_unsigned_amz_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
