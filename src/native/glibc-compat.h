// Force-included (-include) into every translation unit of the Linux prebuilds, so that they load on
// glibc 2.28, the oldest glibc that Node 20+ itself runs on (RHEL 8, Debian 10). glibc 2.29 gave exp
// and log new symbol versions (same results, no SVID error handling); a prebuild compiled on a newer
// glibc would reference those and fail to load on 2.28. Binding the references to the versions that
// every glibc has keeps them loadable. test/prebuilds.test.ts reads the versions with objdump -T.
#pragma once
#if defined(__linux__)
#include <features.h>  // defines __GLIBC__ (this file is included before any other header)
#endif
#if defined(__linux__) && defined(__GLIBC__)
#if defined(__x86_64__)
__asm__(".symver exp,exp@GLIBC_2.2.5");
__asm__(".symver log,log@GLIBC_2.2.5");
__asm__(".symver pow,pow@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver exp,exp@GLIBC_2.17");
__asm__(".symver log,log@GLIBC_2.17");
__asm__(".symver pow,pow@GLIBC_2.17");
#endif
#endif
