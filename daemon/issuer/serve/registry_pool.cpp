#include "daemon/issuer/serve/registry_pool.hpp"

namespace omni::serve {

RegistryPool::RegistryPool(std::filesystem::path path, std::size_t capacity)
    : path_(std::move(path))
    , capacity_(capacity == 0 ? 1 : capacity)
{
}

RegistryPool::Lease::~Lease()
{
    if (pool_ && registry_)
        pool_->release(std::move(registry_));
}

Result<RegistryPool::Lease> RegistryPool::acquire()
{
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [this] { return !idle_.empty() || opened_ < capacity_; });
    if (!idle_.empty()) {
        auto registry = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(registry));
    }
    ++opened_;
    lock.unlock();
    auto opened = registry::Registry::open(path_);
    if (!opened) {
        lock.lock();
        --opened_;
        returned_.notify_one();
        return tl::unexpected(opened.error());
    }
    return Lease(this, std::make_unique<registry::Registry>(std::move(*opened)));
}

void RegistryPool::release(std::unique_ptr<registry::Registry> registry)
{
    {
        const std::lock_guard lock(mutex_);
        idle_.push_back(std::move(registry));
    }
    returned_.notify_one();
}

} // namespace omni::serve
