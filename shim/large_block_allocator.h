// libtorch's CPU allocator for large blocks on transparent huge pages (shim/, C++ only).
#ifndef ADN_LARGE_BLOCK_ALLOCATOR_H
#define ADN_LARGE_BLOCK_ALLOCATOR_H

namespace adn_shim {

// Makes libtorch allocate CPU blocks of ADN_LARGE_BLOCK_BYTES and more 2 MiB-aligned and advised
// MADV_HUGEPAGE, once per process (later calls do nothing).  Returns false, changing nothing, where
// the platform has no madvise or another allocator with a higher priority is installed.
//
// Why: every convolution, reorder and padding of a forward pass makes fresh activation tensors,
// tens of MiB each at 512 x 512, which glibc serves with mmap and returns with munmap.  Touching
// such a block page by page costs one page fault per 4 KiB: at 512 x 512 that was about 40 % of
// the CPU time of the whole network on the 2-core build machine (docs/PERFORMANCE.md).  With huge
// pages it is one fault per 2 MiB.  Nothing else changes: the blocks are still freed with free()
// at once, so memory goes back to the system as before, and small blocks are untouched.
bool install_large_block_allocator();

}  // namespace adn_shim

#endif
