// yolact-cpp-run's outputs, written whole or not at all: a temporary file beside the target, then a
// rename. The file gets the mode a plain open gives (0666 less the umask), as the Python runtime's
// atomic writes (core/io.py).
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <unistd.h>

// "" when written, else why not (the system's words).
inline std::string write_atomically(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    errno = 0;
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);  // open(2) with 0666: the umask applies
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        f.flush();
        if (!f.good()) {
            const std::string why = errno ? std::strerror(errno) : "write failed";
            std::remove(tmp.c_str());
            return why;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        return why;
    }
    return "";
}
