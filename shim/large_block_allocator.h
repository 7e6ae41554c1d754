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
// pages it is one fault per 2 MiB.  And freed large blocks are kept for the next allocation of
// the same size, so that repeated calls of one size fault no pages at all: the kernel no longer
// zeroes hundreds of MiB per call, and on a VM that takes free memory back from its guest (free
// page reporting, about 2 s after a block is freed) the first call after a pause no longer pays
// for the host to fault it in again (+60 % of a 512 x 512 encode, docs/PERFORMANCE.md).  Peak
// memory stays what it was: an allocation that finds no cached block of its size first frees all
// cached blocks.  Small blocks are untouched.
bool install_large_block_allocator();

// Returns the cached large blocks to the system (op_free calls it when a model is freed; between
// calls the cache holds the large blocks of the last call, at most 1 GiB).  Thread-safe.
void release_cached_large_blocks();

}  // namespace adn_shim

#endif
