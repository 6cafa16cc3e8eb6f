#include "daemon/device/agent/named_file.hpp"

#include "drivers/fs/files.hpp"

namespace omni::agent {

verify::Outcome verifyNamedFile(const std::filesystem::path& path, const verify::VerifyPolicy& policy)
{
    const std::string fileName = path.filename().string();
    verify::Outcome outcome { verify::ArchiveFacts {
                                  fileName, verify::deviceNameFromFileName(fileName), {}, {}, {} },
        tl::unexpected(Error {}) };
    // A missing file is reported as missing, whatever it is called.
    if (auto name = verify::checkArchiveName(fileName);
        !name && std::filesystem::exists(std::filesystem::symlink_status(path))) {
        outcome.result = tl::unexpected(name.error());
        return outcome;
    }
    auto bytes = state::readRegularFile(path, archive::kMaxArchiveBytes, /*followSymlinks=*/false);
    if (!bytes) {
        const auto& failure = bytes.error();
        if (failure.problem == state::FileProblem::TooLarge)
            outcome.result = tl::unexpected(verify::checkArchiveSize(failure.size, fileName).error());
        else
            outcome.result = fail(ReasonCode::ArchiveNotFound, Check::Found,
                failure.message + "; expected a regular file named certificates-omni_<Name>.zip");
        return outcome;
    }
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes->data());
    return verify::verifyArchive(fileName, std::span<const std::uint8_t>(data, bytes->size()), policy);
}

} // namespace omni::agent
