#pragma once
// The manifest's optional Enrollment member (DESIGN.md section 10, "Where to
// enrol"): where the device exchanges its provisioning certificate for a
// long-term one, and what the issuer's TLS server certificate chains to.
// The same rules judge manifest.json (check 11) and the issuer's flags
// (create-device --enroll-url/--enroll-server-ca, serve --public-url; see
// makeEnrollment in manifest.hpp).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "daemon/core/time/time.hpp"

namespace omni::manifest {

inline constexpr std::size_t kMaxEnrollmentUrlLength = 2048; // characters
inline constexpr std::size_t kMaxServerCaBytes = 16 * 1024;

// A certificate of Enrollment.ServerCa as people are shown it (inspect never
// prints the PEM itself).
struct CertificateSummary {
    std::string subject; // RFC 2253, control characters escaped
    time::UnixTime notAfter = 0;
};

struct Enrollment {
    std::string url; // e.g. https://issuer.example:8443
    std::string serverCa; // PEM, one or more certificates
    // Parsed form, filled by validation; not emitted by toJson.
    std::vector<CertificateSummary> serverCaCertificates;
};

// Enrollment.Url: an absolute https URL with a host (a DNS name, an IPv4
// address or a bracketed IPv6 address), an optional port 1-65535, an optional
// path, no userinfo, query or fragment, printable ASCII only, at most
// kMaxEnrollmentUrlLength characters. nullopt when it passes, else what is
// wrong, as a message without the field path ("must use https, ...").
std::optional<std::string> enrollmentUrlProblem(std::string_view url);

// Enrollment.ServerCa: at most kMaxServerCaBytes of PEM holding one or more
// certificates that parse as X.509, and nothing else. The summaries, or what
// is wrong (without the field path).
tl::expected<std::vector<CertificateSummary>, std::string> parseServerCa(std::string_view pem);

} // namespace omni::manifest
