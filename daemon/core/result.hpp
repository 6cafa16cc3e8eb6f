#pragma once
// Errors are values: every fallible function returns Result<T>. tl::expected
// rather than std::expected because clang 14 (which builds the fuzzers) cannot
// compile libstdc++ 12's <expected>.
#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "daemon/core/reason.hpp"

namespace omni {

// A failure as the product reports it: a stable reason code, the row of
// DESIGN.md section 3 that decided it (so several candidates can be ranked),
// a message for a technician, and where it happened (a JSON field path or a
// ZIP entry name) when that is known.
struct Error {
    ReasonCode reason = ReasonCode::InternalError;
    Check check = Check::None;
    std::string message;
    std::string where;

    // Prefixes the message with what the caller was doing ("reading manifest.json: ...").
    Error&& withContext(const std::string& what) &&
    {
        message = what + ": " + message;
        return std::move(*this);
    }
};

template <class T> using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ReasonCode reason, Check check, std::string message, std::string where = {})
{
    return tl::unexpected<Error>(Error { reason, check, std::move(message), std::move(where) });
}

} // namespace omni
