/* kms_ops_keys.c — key lifecycle operations: CreateKey, DescribeKey, ListKeys,
 * EnableKey/DisableKey, ScheduleKeyDeletion/CancelKeyDeletion (7..30 day
 * window, key unusable meanwhile, deleted by housekeeping after), the
 * description, and rotation (EnableKeyRotation, DisableKeyRotation,
 * GetKeyRotationStatus, RotateKeyOnDemand; older material versions are kept so
 * older ciphertexts still decrypt). */
#include "kms/kms_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_of(const kms_key *key) {
    return json_string_value(json_object_get(key->doc, "KeyState"));
}

static bool flag(kms_call *call, const char *name) {
    return json_is_true(json_object_get(call->in, name));
}

static bool valid_usage(kms_key_spec spec, const char *usage) {
    if (strcmp(usage, "ENCRYPT_DECRYPT") == 0) return !kms_spec_is_ecc(spec);
    if (strcmp(usage, "SIGN_VERIFY") == 0) return spec != KMS_SPEC_SYMMETRIC_DEFAULT;
    return false;
}

static bool check_new_policy(kms_call *call, const kms_key *key, const char *text) {
    if (!kms_policy_valid(call, text)) return false;
    if (!flag(call, "BypassPolicyLockoutSafetyCheck") && !kms_policy_keeps_caller(call, key, text))
        return kms_fail(call, 400, "MalformedPolicyDocumentException",
                        "The new key policy will not allow you to update the key policy in the "
                        "future.");
    return true;
}

bool kms_op_create_key(kms_call *call) {
    bool bad = false;
    const char *spec_s = kms_in_str(call, "KeySpec", false, &bad);
    if (!spec_s) spec_s = kms_in_str(call, "CustomerMasterKeySpec", false, &bad);
    const char *usage = kms_in_str(call, "KeyUsage", false, &bad);
    const char *desc = kms_in_str(call, "Description", false, &bad);
    const char *pol = kms_in_str(call, "Policy", false, &bad);
    const char *origin = kms_in_str(call, "Origin", false, &bad);
    if (bad) return false;
    kms_key_spec spec = KMS_SPEC_SYMMETRIC_DEFAULT;
    if (spec_s && !kms_spec_parse(spec_s, &spec))
        return kms_invalid(call, "KeySpec %.64s is not supported", spec_s);
    if (!usage)
        usage = spec == KMS_SPEC_SYMMETRIC_DEFAULT || kms_spec_is_rsa(spec)
                    ? (spec == KMS_SPEC_SYMMETRIC_DEFAULT ? "ENCRYPT_DECRYPT" : "")
                    : "SIGN_VERIFY";
    if (!usage[0])
        return kms_invalid(call,
                           "KeyUsage is required for %s keys: ENCRYPT_DECRYPT or "
                           "SIGN_VERIFY",
                           kms_spec_name(spec));
    if (!valid_usage(spec, usage))
        return kms_invalid(call, "KeyUsage %.32s is not valid for KeySpec %s", usage,
                           kms_spec_name(spec));
    if (origin && strcmp(origin, "AWS_KMS") != 0)
        return kms_fail(call, 400, "UnsupportedOperationException",
                        "Only Origin AWS_KMS is supported.");
    if (desc && strlen(desc) > 8192) return kms_invalid(call, "Description is too long");
    if (!kms_authorize_account(call, "kms:CreateKey", NULL)) return false;
    if (pol) {
        kms_key probe = {.doc = json_pack("{s:s}", "Policy", pol),
                         .account = call->c->account,
                         .arn = "arn:aws:kms:::key/new"};
        bool ok = check_new_policy(call, &probe, pol);
        json_decref(probe.doc);
        if (!ok) return false;
    }
    char *stored = pol ? kms_policy_bind(call, pol) : NULL;
    if (pol && !stored) return false;
    kms_key key;
    cl_err e =
        kms_key_create(call->k, call->c->account, call->c->region ? call->c->region : "us-east-1",
                       spec, usage, desc, stored, "CUSTOMER", &key);
    free(stored);
    if (e != CL_OK) return false;
    call->out = json_pack("{s:o}", "KeyMetadata", kms_key_metadata(&key));
    log_info("kms: %s created %s (%s)", call->c->arn, key.arn, kms_spec_name(spec));
    kms_key_free(&key);
    return true;
}

bool kms_op_describe_key(kms_call *call) {
    kms_key key;
    if (!kms_key_for(call, "kms:DescribeKey", &key)) return false;
    call->out = json_pack("{s:o}", "KeyMetadata", kms_key_metadata(&key));
    kms_key_free(&key);
    return true;
}

typedef struct {
    json_t *list;
    const char *account, *region;
} list_ctx;

static bool list_one(void *arg, const char *name, const char *doc) {
    list_ctx *l = arg;
    json_t *d = json_loads(doc, 0, NULL);
    const char *arn = json_string_value(json_object_get(d, "Arn"));
    if (arn) json_array_append_new(l->list, json_pack("{s:s, s:s}", "KeyId", name, "KeyArn", arn));
    json_decref(d);
    return true;
}

/* Limit (1..1000, default 100) and Marker (the last name of the previous page). */
static bool page_params(kms_call *call, size_t *limit, const char **marker) {
    json_t *l = json_object_get(call->in, "Limit");
    *limit = 100;
    if (l) {
        if (!json_is_integer(l) || json_integer_value(l) < 1 || json_integer_value(l) > 1000)
            return kms_invalid(call, "Limit must be between 1 and 1000");
        *limit = (size_t)json_integer_value(l);
    }
    bool bad = false;
    *marker = kms_in_str(call, "Marker", false, &bad);
    return !bad;
}

bool kms_op_list_keys(kms_call *call) {
    size_t limit = 100;
    const char *marker = NULL;
    if (!page_params(call, &limit, &marker) || !kms_authorize_account(call, "kms:ListKeys", NULL))
        return false;
    list_ctx l = {.list = json_array()};
    bool more = false;
    store_list(call->k->st, "kms_key", call->c->account, NULL, marker, limit, list_one, &l, &more);
    call->out = json_pack("{s:o, s:b}", "Keys", l.list, "Truncated", more);
    if (more && json_array_size(l.list)) {
        json_t *last = json_array_get(l.list, json_array_size(l.list) - 1);
        json_object_set(call->out, "NextMarker", json_object_get(last, "KeyId"));
    }
    return true;
}

static bool set_state(kms_call *call, const char *action, const char *state) {
    kms_key key;
    if (!kms_key_for(call, action, &key)) return false;
    bool ok = strcmp(state_of(&key), "PendingDeletion") != 0;
    if (!ok)
        kms_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.", key.arn);
    else {
        kms_key_set(&key, "KeyState", json_string(state));
        ok = kms_key_save(call->k, &key) == CL_OK;
    }
    kms_key_free(&key);
    return ok;
}

bool kms_op_enable_key(kms_call *call) {
    return set_state(call, "kms:EnableKey", "Enabled");
}

bool kms_op_disable_key(kms_call *call) {
    return set_state(call, "kms:DisableKey", "Disabled");
}

bool kms_op_update_key_description(kms_call *call) {
    bool bad = false;
    const char *d = kms_in_str(call, "Description", true, &bad);
    kms_key key;
    if (!d || !kms_key_for(call, "kms:UpdateKeyDescription", &key)) return false;
    kms_key_set(&key, "Description", json_string(d));
    bool ok = kms_key_save(call->k, &key) == CL_OK;
    kms_key_free(&key);
    return ok;
}

bool kms_op_schedule_key_deletion(kms_call *call) {
    json_t *w = json_object_get(call->in, "PendingWindowInDays");
    json_int_t days = w ? json_integer_value(w) : 30;
    if (w && (!json_is_integer(w) || days < 7 || days > 30))
        return kms_invalid(call, "1 validation error detected: Value at 'pendingWindowInDays' "
                                 "failed to satisfy constraint: Member must have value between 7 "
                                 "and 30");
    kms_key key;
    if (!kms_key_for(call, "kms:ScheduleKeyDeletion", &key)) return false;
    if (strcmp(state_of(&key), "PendingDeletion") == 0) {
        kms_fail(call, 400, "KMSInvalidStateException", "%s is pending deletion.", key.arn);
        kms_key_free(&key);
        return false;
    }
    if (strcmp(json_string_value(json_object_get(key.doc, "KeyManager")), "AWS") == 0) {
        kms_fail(call, 400, "UnsupportedOperationException",
                 "%s is an AWS managed key; it cannot be deleted.", key.arn);
        kms_key_free(&key);
        return false;
    }
    double when = kms_epoch(time_now() + days * 86400);
    kms_key_set(&key, "KeyState", json_string("PendingDeletion"));
    kms_key_set(&key, "DeletionDate", json_real(when));
    kms_key_set(&key, "PendingWindowInDays", json_integer(days));
    bool ok = kms_key_save(call->k, &key) == CL_OK;
    if (ok)
        call->out =
            json_pack("{s:s, s:f, s:s, s:I}", "KeyId", key.arn, "DeletionDate", when, "KeyState",
                      "PendingDeletion", "PendingWindowInDays", (json_int_t)days);
    kms_key_free(&key);
    return ok;
}

bool kms_op_cancel_key_deletion(kms_call *call) {
    kms_key key;
    if (!kms_key_for(call, "kms:CancelKeyDeletion", &key)) return false;
    bool ok = strcmp(state_of(&key), "PendingDeletion") == 0;
    if (!ok) {
        kms_fail(call, 400, "KMSInvalidStateException", "%s is not pending deletion.", key.arn);
    } else { /* as AWS: a key taken back from deletion is Disabled */
        kms_key_set(&key, "KeyState", json_string("Disabled"));
        kms_key_del(&key, "DeletionDate");
        kms_key_del(&key, "PendingWindowInDays");
        ok = kms_key_save(call->k, &key) == CL_OK;
        if (ok) call->out = json_pack("{s:s}", "KeyId", key.arn);
    }
    kms_key_free(&key);
    return ok;
}

/* ---- rotation ---- */
static bool symmetric(kms_call *call, const kms_key *key) {
    if (key->spec == KMS_SPEC_SYMMETRIC_DEFAULT) return true;
    return kms_fail(call, 400, "UnsupportedOperationException",
                    "%s: automatic rotation is only for symmetric encryption keys.", key->arn);
}

bool kms_op_enable_key_rotation(kms_call *call) {
    json_t *p = json_object_get(call->in, "RotationPeriodInDays");
    json_int_t days = p ? json_integer_value(p) : 365;
    if (p && (!json_is_integer(p) || days < 90 || days > 2560))
        return kms_invalid(call, "RotationPeriodInDays must be between 90 and 2560");
    kms_key key;
    if (!kms_key_for(call, "kms:EnableKeyRotation", &key)) return false;
    bool ok = symmetric(call, &key) && kms_key_usable(call, &key);
    if (ok) {
        kms_key_set(&key, "RotationEnabled", json_true());
        kms_key_set(&key, "RotationPeriodInDays", json_integer(days));
        kms_key_set(&key, "NextRotationDate", json_real(kms_epoch(time_now() + days * 86400)));
        ok = kms_key_save(call->k, &key) == CL_OK;
    }
    kms_key_free(&key);
    return ok;
}

bool kms_op_disable_key_rotation(kms_call *call) {
    kms_key key;
    if (!kms_key_for(call, "kms:DisableKeyRotation", &key)) return false;
    bool ok = symmetric(call, &key) && kms_key_usable(call, &key);
    if (ok) {
        kms_key_set(&key, "RotationEnabled", json_false());
        kms_key_del(&key, "NextRotationDate");
        ok = kms_key_save(call->k, &key) == CL_OK;
    }
    kms_key_free(&key);
    return ok;
}

bool kms_op_get_key_rotation_status(kms_call *call) {
    kms_key key;
    if (!kms_key_for(call, "kms:GetKeyRotationStatus", &key)) return false;
    bool on = json_is_true(json_object_get(key.doc, "RotationEnabled"));
    call->out =
        json_pack("{s:b, s:s, s:s}", "KeyRotationEnabled", on, "KeyId", key.arn, "KeyArn", key.arn);
    if (on) {
        json_object_set(call->out, "RotationPeriodInDays",
                        json_object_get(key.doc, "RotationPeriodInDays"));
        json_object_set(call->out, "NextRotationDate",
                        json_object_get(key.doc, "NextRotationDate"));
    }
    kms_key_free(&key);
    return true;
}

bool kms_op_rotate_key_on_demand(kms_call *call) {
    kms_key key;
    if (!kms_key_for(call, "kms:RotateKeyOnDemand", &key)) return false;
    pthread_mutex_lock(&call->k->lock);
    kms_key fresh;
    bool ok = symmetric(call, &key) && kms_key_usable(call, &key) &&
              kms_key_load(call->k, key.account, key.key_id, &fresh);
    if (ok) {
        ok = kms_key_rotate(call->k, &fresh) == CL_OK;
        kms_key_free(&fresh);
    }
    pthread_mutex_unlock(&call->k->lock);
    if (ok) call->out = json_pack("{s:s}", "KeyId", key.key_id);
    kms_key_free(&key);
    return ok;
}

/* ---- housekeeping ---- */
typedef struct {
    kms *k;
    const char *account;
    size_t deleted, rotated;
} sweep_ctx;

static bool deletion_due(const json_t *doc, double now) {
    const char *state = json_string_value(json_object_get(doc, "KeyState"));
    double del = json_number_value(json_object_get(doc, "DeletionDate"));
    return state && strcmp(state, "PendingDeletion") == 0 && del > 0 && del <= now;
}

typedef struct {
    const char *account, *name;
    double now;
} due_delete;

/* Deletes the key only if, read again inside the transaction, it is still due:
 * a CancelKeyDeletion that landed since the listing wins. */
static cl_err delete_if_due(store *st, void *arg) {
    due_delete *d = arg;
    char *text = NULL;
    CL_TRY(store_get(st, "kms_key", d->account, d->name, &text));
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    bool due = doc && deletion_due(doc, d->now);
    json_decref(doc);
    if (!due) return CL_ERR_CONFLICT;
    CL_TRY(store_delete(st, "kms_key", d->account, d->name));
    store_delete(st, "kms_key_index", "", d->name);
    return CL_OK;
}

static bool sweep_key(void *arg, const char *name, const char *doc) {
    sweep_ctx *s = arg;
    kms_key key = {.doc = json_loads(doc, 0, NULL)};
    double now = kms_epoch(time_now());
    double rot = json_number_value(json_object_get(key.doc, "NextRotationDate"));
    if (deletion_due(key.doc, now)) {
        due_delete d = {s->account, name, now};
        if (store_txn(s->k->st, delete_if_due, &d) == CL_OK) {
            s->deleted++;
            log_info("kms: deleted key %s/%s (its deletion date passed)", s->account, name);
        }
    } else if (json_is_true(json_object_get(key.doc, "RotationEnabled")) && rot > 0 && rot <= now) {
        kms_key full;
        if (kms_key_load(s->k, s->account, name, &full)) {
            if (kms_key_rotate(s->k, &full) == CL_OK) s->rotated++;
            kms_key_free(&full);
        }
    }
    json_decref(key.doc);
    return true;
}

static bool sweep_account(void *arg, const char *name, const char *doc) {
    (void)doc;
    sweep_ctx *s = arg;
    s->account = name;
    store_list(s->k->st, "kms_key", name, NULL, NULL, 0, sweep_key, s, NULL);
    return true;
}

cl_err kms_housekeeping(kms *k, size_t *deleted, size_t *rotated) {
    sweep_ctx s = {.k = k};
    pthread_mutex_lock(&k->lock);
    cl_err e = store_list(k->st, "account", "", NULL, NULL, 0, sweep_account, &s, NULL);
    pthread_mutex_unlock(&k->lock);
    *deleted = s.deleted;
    *rotated = s.rotated;
    return e;
}
