// SHA-256 against FIPS 180-2 vectors and the hex encoding.
#include <gtest/gtest.h>

#include "daemon/core/digest/digest.hpp"

namespace omni::digest {
namespace {

TEST(DigestTest, Sha256AndHex)
{
    // FIPS 180-2 test vector.
    EXPECT_EQ(toHex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::array<std::uint8_t, 3> bytes { 0x00, 0xab, 0xff };
    EXPECT_EQ(toHex(bytes), "00abff");
    EXPECT_EQ(toHex(std::span<const std::uint8_t> {}), "");
}

TEST(DigestTest, HexOfStringBytesIsTheSame)
{
    EXPECT_EQ(toHex(std::string_view("\x00\xab\xff", 3)), "00abff");
    EXPECT_EQ(toHex(std::string_view()), "");
}

TEST(DigestTest, Sha256HexIsTheHexOfTheDigest)
{
    // SHA-256 of the empty string, the payload hash of a body-less SigV4 request.
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc"), toHex(sha256("abc")));
}

} // namespace
} // namespace omni::digest
