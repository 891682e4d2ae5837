# The native kernels addon: kernels.cc compiled once per instruction-set level (each its own static
# library with its own -m flags), linked into one addon that picks a level at run time (binding.cc).
# Built by `npm install` through src/native/install.mjs, which never fails the install.
# The binding carries the hash of the sources (source-hash.cjs, run by gyp at configure time): the
# loader refuses an addon built from other sources.
{
  'target_defaults': {
    'cflags_cc': ['-O3', '-std=c++17', '-ffp-contract=off', '-fno-math-errno', '-fPIC', '-fvisibility=hidden'],
    'cflags_cc!': ['-O2', '-O0'],
    'xcode_settings': {
      'GCC_OPTIMIZATION_LEVEL': '3',
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'OTHER_CPLUSPLUSFLAGS': ['-ffp-contract=off', '-fno-math-errno'],
    },
  },
  'targets': [
    {
      'target_name': 'gradpool_native',
      'sources': ['binding.cc'],
      'defines': ['GRADPOOL_SOURCE_HASH=<!(node source-hash.cjs)'],
      'dependencies': ['kernels_generic'],
      'conditions': [
        ['target_arch=="x64"', { 'dependencies': ['kernels_avx2', 'kernels_avx512'] }],
      ],
    },
    {
      'target_name': 'kernels_generic',
      'type': 'static_library',
      'sources': ['kernels.cc'],
      'defines': ['GRADPOOL_TABLE=kernels_generic'],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'kernels_avx2',
          'type': 'static_library',
          'sources': ['kernels.cc'],
          'defines': ['GRADPOOL_TABLE=kernels_avx2'],
          'cflags_cc': ['-mavx2', '-mfma'],
          'xcode_settings': { 'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma'] },
        },
        {
          'target_name': 'kernels_avx512',
          'type': 'static_library',
          'sources': ['kernels.cc'],
          'defines': ['GRADPOOL_TABLE=kernels_avx512'],
          'cflags_cc': ['-mavx512f', '-mavx2', '-mfma'],
          'xcode_settings': { 'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-mavx2', '-mfma'] },
        },
      ],
    }],
  ],
}
