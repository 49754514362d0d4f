/* placeholder */ typedef int cl_placeholder_kms_crypto;
