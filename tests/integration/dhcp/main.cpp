// Root-only: skips (exit 77) saying why when it cannot run, and clears
// namespaces left behind by crashed runs first.
#include <cstdio>

#include <gtest/gtest.h>

#include "tests/integration/dhcp/dhcp_lab.hpp"

int main(int argc, char** argv)
{
    if (const std::string why = omni::testing::whyDhcpLabUnavailable(); !why.empty()) {
        std::printf("SKIP DHCP integration tests: %s\n", why.c_str());
        return 77;
    }
    for (const std::string& name : omni::testing::removeStaleNamespaces()) {
        std::printf("removed stale network namespace %s\n", name.c_str());
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
