/* Backend selection.  Builds with torch use shim/backend_torch.cpp's table; builds without it
 * (-Dtorch=disabled) have none, and the model calls say so (ADN_ERR_UNSUPPORTED). */
#include "backend.h"

const adn_backend_ops *adn_backend_default(void) {
#ifdef ADN_HAVE_TORCH
    return adn_torch_backend_ops();
#else
    return NULL;
#endif
}
