/* roots.c — (to be written; see signer.h) */
#include "signer/signer.h"
