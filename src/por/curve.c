/* placeholder */ typedef int cl_placeholder_por_curve;
