#pragma once
// SQLite connections for concurrent requests: a transaction belongs to one
// connection, so each request borrows its own. Connections are opened on
// first need, at most `capacity`, and reused.
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "daemon/issuer/registry/registry.hpp"

namespace omni::serve {

class RegistryPool {
public:
    RegistryPool(std::filesystem::path path, std::size_t capacity);

    class Lease {
    public:
        Lease(RegistryPool* pool, std::unique_ptr<registry::Registry> registry)
            : pool_(pool)
            , registry_(std::move(registry))
        {
        }
        Lease(Lease&&) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();
        registry::Registry& operator*() const { return *registry_; }
        registry::Registry* operator->() const { return registry_.get(); }

    private:
        RegistryPool* pool_;
        std::unique_ptr<registry::Registry> registry_;
    };

    // Waits while all `capacity` connections are lent out.
    Result<Lease> acquire();

private:
    void release(std::unique_ptr<registry::Registry> registry);

    std::filesystem::path path_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<registry::Registry>> idle_;
    std::size_t opened_ = 0;
};

} // namespace omni::serve
