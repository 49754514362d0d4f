/* placeholder */ typedef int cl_placeholder_cms;
