// A C++ program that links the installed libsv2 through find_package.
#include <cstdio>
#include <cstring>

#include <sv2.h>

int main() {
    std::printf("libsv2 %s from C++\n", sv2_version());
    return std::strlen(sv2_version()) > 0 ? 0 : 1;
}
