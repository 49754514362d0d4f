/* placeholder */ typedef int cl_placeholder_attest_root;
