// See large_block_allocator.h.  The allocator replaces c10's default CPU allocator (posix_memalign
// + free, 64-byte alignment) with the same calls, adding 2 MiB alignment and MADV_HUGEPAGE above
// a size, and a cache of freed large blocks.  Tensors allocated before it was installed keep their
// own deleter, so installing it at any time is safe.
#include "large_block_allocator.h"

#include <c10/core/CPUAllocator.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace adn_shim {
namespace {

constexpr size_t kAlignment = 64;           // c10's gAlignment
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kLargeBlock = size_t(4) << 20;  // below this, huge pages would waste memory
// At most this much is kept cached between calls (a 512 x 512 call frees about 0.5 GiB of large
// blocks); beyond it freed blocks go back to the system at once.
constexpr size_t kMaxCached = size_t(1) << 30;

// Large blocks, live and cached, by address (the deleter gets only the address: c10's
// raw_allocate needs data == context), and the cached ones, free for reuse.
//
// The cache policy keeps peak memory where it was without a cache: an allocation takes a cached
// block of exactly its (2 MiB-rounded) size, and an allocation that finds none first returns
// every cached block to the system.  So live + cached memory only grows at such a miss, and then
// by what an uncached allocator would have allocated too.  Repeated calls of one size (video, a
// benchmark) then reuse the same blocks: no page faults, no kernel zeroing, and no blocks that a
// hypervisor has taken back while they were free.
struct large_blocks {
    std::mutex mutex;
    std::unordered_map<void *, size_t> size_of;  // every large block this allocator handed out
    std::vector<std::pair<size_t, void *>> cached;
    size_t cached_bytes = 0;
};

// Never destroyed: tensors may be freed during or after static destruction at exit.
large_blocks &blocks() {
    static large_blocks *b = new large_blocks;
    return *b;
}

// Frees every cached block; the caller holds the mutex.
void drop_cached(large_blocks &b) {
    for (const auto &c : b.cached) {
        b.size_of.erase(c.second);
        std::free(c.second);
    }
    b.cached.clear();
    b.cached_bytes = 0;
}

void *take_cached(large_blocks &b, size_t rounded) {
    for (size_t i = 0; i < b.cached.size(); ++i)
        if (b.cached[i].first == rounded) {
            void *p = b.cached[i].second;
            b.cached_bytes -= rounded;
            b.cached[i] = b.cached.back();
            b.cached.pop_back();
            return p;
        }
    drop_cached(b);
    return nullptr;
}

void *allocate_large(size_t nbytes) {
    const size_t rounded = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
    large_blocks &b = blocks();
    std::lock_guard<std::mutex> lock(b.mutex);
    if (void *p = take_cached(b, rounded)) return p;
    void *p = nullptr;
    if (posix_memalign(&p, kHugePage, rounded) != 0) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
    madvise(p, rounded, MADV_HUGEPAGE);  // a hint: failing (THP off) changes nothing
#endif
    try {
        b.size_of.emplace(p, rounded);
    } catch (...) {
        std::free(p);
        throw;
    }
    return p;
}

// The deleter of every block, small or large.  Large blocks are 2 MiB-aligned, so most small
// ones skip the lookup.
void release(void *p) {
    if (p && reinterpret_cast<uintptr_t>(p) % kHugePage == 0) {
        large_blocks &b = blocks();
        std::lock_guard<std::mutex> lock(b.mutex);
        auto it = b.size_of.find(p);
        if (it != b.size_of.end()) {
            if (b.cached_bytes + it->second <= kMaxCached) {
                try {
                    b.cached.emplace_back(it->second, p);
                    b.cached_bytes += it->second;
                    return;
                } catch (...) {  // no room to remember it: free it instead
                }
            }
            b.size_of.erase(it);
        }
    }
    std::free(p);
}

struct large_block_allocator final : c10::Allocator {
    c10::DataPtr allocate(size_t nbytes) const override {
        void *p = nullptr;
        if (nbytes < kLargeBlock) {
            if (posix_memalign(&p, kAlignment, nbytes ? nbytes : 1) != 0) throw std::bad_alloc();
        } else {
            p = allocate_large(nbytes);
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

void release_cached_large_blocks() {
    large_blocks &b = blocks();
    std::lock_guard<std::mutex> lock(b.mutex);
    drop_cached(b);
}

}  // namespace adn_shim
