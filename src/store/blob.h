/* blob.h — the blob store: object bytes on disk under DATA_DIR/blobs, addressed
 * by random ids. It knows nothing about buckets, keys or encryption; the S3 layer
 * keeps (bucket, key) -> blob id in the meta store and, for SSE, stores the
 * ciphertext of crypto_seg_* here.
 *
 * Layout:
 *   DIR/tmp/<32 hex>          a write in progress (open, flock'ed by its writer)
 *   DIR/ab/cd/<abcd...32 hex> a finished blob; ab, cd = the id's first 4 hex chars
 * Ids are 32 random lower-case hex characters (128 bits from the CSPRNG), so the
 * path never depends on content and the 2-level fan-out spreads blobs evenly.
 *
 * Writes stream: blob_begin makes a temp file in DIR/tmp (same filesystem, so the
 * final rename is atomic), blob_append adds pieces of any size (the whole object
 * is never held in memory), blob_finish fsyncs the file, renames it into place,
 * fsyncs the directory and hands back the id; blob_abort unlinks the temp file.
 *
 * Durability contract (DESIGN.md, Durability):
 *   1. A blob is durable when blob_finish returns CL_OK, not before.
 *   2. Only then does the caller commit metadata naming the id (meta store).
 *   3. A crash between 1 and 2 leaves a blob no metadata names: garbage, which a
 *      later reconciliation removes (blob_walk / blob_gc with a grace period that
 *      exceeds the longest finish->commit gap, so in-flight writes are spared).
 *   4. Deleting is the reverse: commit the metadata delete, then blob_delete. A
 *      crash in between again leaves only garbage, never a dangling reference.
 *   5. A crash mid-write leaves a temp file; blob_store_open removes temp files no
 *      live writer holds (writers flock their temp file, so a second process or a
 *      second open of the same directory never deletes a write in progress).
 * Multipart upload parts are ordinary blobs under the same contract; the S3
 * layer records which blobs make up an object.
 *
 * Reads: blob_open gives a reader with the size, exact range reads (blob_read_at,
 * or blob_read_cb as a crypto_seg_read_fn), and the fd for zero-copy sendfile
 * (borrowed with blob_fd, or owned with blob_take_fd for APIs that close it).
 * Blobs are immutable once finished, so readers need no locking; an open reader
 * keeps reading the bytes it opened even if the blob is deleted meanwhile, and a
 * pinned blob (blob_pin_id) is not removed until it is unpinned.
 *
 * Thread safety: a blob_store may be used from any number of threads; a writer or
 * reader belongs to one thread at a time. Finish or abort every writer and close
 * every reader before blob_store_close.
 * Ownership: blob_store_close, blob_finish/blob_abort and blob_close free their
 * object; ids are written into caller arrays of BLOB_ID_LEN + 1 bytes. */
#ifndef CLOISTER_BLOB_H
#define CLOISTER_BLOB_H

#include "base/base.h"

#define BLOB_ID_LEN 32 /* hex characters, not counting the NUL */

typedef struct blob_store blob_store;
typedef struct blob_writer blob_writer;
typedef struct blob_reader blob_reader;

/* Opens (creating, mode 0700) the store rooted at dir and removes stale temp
 * files left by a crash. */
cl_err blob_store_open(const char *dir, blob_store **out);
void blob_store_close(blob_store *bs);

/* True if id is exactly BLOB_ID_LEN lower-case hex characters. Every call that
 * takes an id checks this (CL_ERR_INVALID), so an id can never name a path
 * outside the store. */
bool blob_id_valid(const char *id);

/* ---- writing ---- */
cl_err blob_begin(blob_store *bs, blob_writer **out);
/* On error (CL_ERR_IO: disk full, I/O failure) the writer is unusable: abort it. */
cl_err blob_append(blob_writer *w, cl_slice piece);
uint64_t blob_writer_size(const blob_writer *w); /* bytes appended so far */
/* Makes the blob durable and writes its id (NUL-terminated) into id. Frees w
 * whatever the outcome; on error the temp file is gone and no blob exists. */
cl_err blob_finish(blob_writer *w, char id[BLOB_ID_LEN + 1]);
/* Discards the write: unlinks the temp file, frees w. NULL is fine. */
void blob_abort(blob_writer *w);

/* ---- reading ---- */
/* CL_ERR_NOT_FOUND if no such blob. */
cl_err blob_open(blob_store *bs, const char *id, blob_reader **out);
uint64_t blob_size(const blob_reader *r);
/* Reads exactly n bytes at off. CL_ERR_INVALID if [off, off+n) passes the end,
 * CL_ERR_IO if the file is shorter than when opened or the read fails. */
cl_err blob_read_at(blob_reader *r, uint64_t off, void *buf, size_t n);
/* blob_read_at with the reader as void *, to plug into crypto_seg_dec_open. */
cl_err blob_read_cb(void *reader, uint64_t off, void *buf, size_t n);
/* The reader's fd for sendfile(out, fd, &off, n) / pread: always pass an explicit
 * offset, never rely on the file position. Still owned by the reader. */
int blob_fd(const blob_reader *r);
/* Hands the fd to the caller (who closes it), e.g. for
 * MHD_create_response_from_fd_at_offset64. The reader stays usable for
 * blob_size only; blob_close must still be called. */
int blob_take_fd(blob_reader *r);
void blob_close(blob_reader *r); /* NULL is fine */

/* Pins: a reader that will open a blob later (an object's parts, read one by
 * one) pins it first. blob_pin_id fails with CL_ERR_NOT_FOUND if the blob is
 * already gone; once pinned, a blob_delete (or blob_gc) only marks it, and the
 * last blob_unpin_id unlinks it. Pins are in memory: a crash forgets them, and
 * a marked blob is then garbage, which the durability contract tolerates.
 * Pins nest (reference counted); every pin needs its unpin. */
cl_err blob_pin_id(blob_store *bs, const char *id);
void blob_unpin_id(blob_store *bs, const char *id);

/* Size of a finished blob without opening it. CL_ERR_NOT_FOUND if absent. */
cl_err blob_stat(blob_store *bs, const char *id, uint64_t *size);
/* CL_ERR_NOT_FOUND if absent. Not fsynced: a delete undone by a crash leaves
 * garbage for GC, which the contract above already tolerates. A pinned blob is
 * only marked (CL_OK) and goes with its last unpin. */
cl_err blob_delete(blob_store *bs, const char *id);

/* ---- reconciliation ---- */
/* Called once per finished blob, in no particular order; return false to stop.
 * mtime is when the blob was finished (seconds, wall clock). */
typedef bool (*blob_walk_fn)(void *arg, const char *id, uint64_t size, time_t mtime);
cl_err blob_walk(blob_store *bs, blob_walk_fn fn, void *arg);
/* Deletes every blob finished before `older_than` for which is_live returns
 * false; *removed (may be NULL) gets the count. Choose older_than well before
 * "now" (e.g. now - 1 hour) so blobs whose metadata commit is in flight are
 * spared. is_live must not call back into this store's writers. */
typedef bool (*blob_live_fn)(void *arg, const char *id);
cl_err blob_gc(blob_store *bs, time_t older_than, blob_live_fn is_live, void *arg, size_t *removed);

#endif
