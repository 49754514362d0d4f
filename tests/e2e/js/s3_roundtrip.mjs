// Round trips through Cloister with the AWS SDK for JavaScript v3, default
// checksum settings (CRC32 on uploads): PutObject from a buffer and from a
// stream of unknown length (aws-chunked with a trailer), a multipart upload
// with @aws-sdk/lib-storage, GetObject byte-exact. Env: ENDPOINT, AWS_* keys,
// BUCKET. Prints one JSON line with what it checked; exits 1 on any mismatch.
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { randomBytes, createHash } from "node:crypto";
import { Readable } from "node:stream";

const s3 = new S3Client({ endpoint: process.env.ENDPOINT, region: "us-east-1", forcePathStyle: true });
const Bucket = process.env.BUCKET;
const md5 = (b) => createHash("md5").update(b).digest("hex");

async function get(Key) {
  const r = await s3.send(new GetObjectCommand({ Bucket, Key }));
  return Buffer.from(await r.Body.transformToByteArray());
}

function check(name, want, got) {
  if (!want.equals(got)) {
    console.error(`${name}: got ${got.length} bytes (md5 ${md5(got)}), want ${want.length} (md5 ${md5(want)})`);
    process.exit(1);
  }
}

await s3.send(new CreateBucketCommand({ Bucket }));
const small = randomBytes(1 << 20);
const put = await s3.send(new PutObjectCommand({ Bucket, Key: "buffer", Body: small }));
check("buffer", small, await get("buffer"));

const streamed = randomBytes(3 * 1024 * 1024 + 5);
const chunks = [streamed.subarray(0, 1 << 20), streamed.subarray(1 << 20)];
await s3.send(new PutObjectCommand({ Bucket, Key: "stream", Body: Readable.from(chunks),
  ContentLength: streamed.length }));
check("stream", streamed, await get("stream"));

const big = randomBytes(12 * 1024 * 1024 + 7);
const up = new Upload({ client: s3, params: { Bucket, Key: "multipart", Body: big }, partSize: 5 * 1024 * 1024,
  queueSize: 2 });
const done = await up.done();
check("multipart", big, await get("multipart"));

console.log(JSON.stringify({ ok: true, putETag: put.ETag, putChecksumCRC32: put.ChecksumCRC32 ?? null,
  multipartETag: done.ETag }));
