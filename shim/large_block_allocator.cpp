// See large_block_allocator.h.  The allocator replaces c10's default CPU allocator (posix_memalign
// + free, 64-byte alignment) with the same calls, adding 2 MiB alignment and MADV_HUGEPAGE above
// a size.  Tensors allocated before it was installed keep their own deleter, so installing it at
// any time is safe.
#include "large_block_allocator.h"

#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace adn_shim {
namespace {

constexpr size_t kAlignment = 64;           // c10's gAlignment
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kLargeBlock = size_t(4) << 20;  // below this, huge pages would waste memory

void release(void *p) { std::free(p); }

struct large_block_allocator final : c10::Allocator {
    c10::DataPtr allocate(size_t nbytes) const override {
        void *p = nullptr;
        if (nbytes < kLargeBlock) {
            if (posix_memalign(&p, kAlignment, nbytes ? nbytes : 1) != 0) throw std::bad_alloc();
        } else {
            const size_t rounded = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
            if (posix_memalign(&p, kHugePage, rounded) != 0) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
            madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failing (THP off) changes nothing
#endif
        }
        return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
    }
    // oneDNN (ideep) allocates through raw_allocate / raw_deallocate, which need this.
    c10::DeleterFnPtr raw_deleter() const override { return &release; }
};

}  // namespace

bool install_large_block_allocator() {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    static std::once_flag once;
    static bool installed = false;
    std::call_once(once, [] {
        static large_block_allocator allocator;
        // Priority 0, the default allocator's: an allocator a host program installed with a
        // higher priority stays in place.
        c10::SetCPUAllocator(&allocator, 0);
        installed = c10::GetCPUAllocator() == &allocator;
    });
    return installed;
#else
    return false;
#endif
}

}  // namespace adn_shim
