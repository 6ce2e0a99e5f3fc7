{
  # The job-process sandbox (silkworm_sandbox.node). Every source compiles on every OS; each
  # platform file is wrapped in its own #if, so exactly one lockdown implementation is linked.
  "targets": [
    {
      "target_name": "silkworm_sandbox",
      "sources": [
        "src/addon.c",
        "src/linux.c",
        "src/linux_landlock.c",
        "src/linux_seccomp.c",
        "src/linux_threads.c",
        "src/windows.c",
        "src/macos.c",
        "src/unsupported.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "defines": ["_GNU_SOURCE"],
          "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"]
        }],
        ["OS=='win'", {
          "defines": ["_WIN32_WINNT=0x0A00", "UNICODE", "_UNICODE"],
          "libraries": ["advapi32.lib"]
        }],
        ["OS=='mac'", {
          "xcode_settings": { "GCC_C_LANGUAGE_STANDARD": "gnu11", "MACOSX_DEPLOYMENT_TARGET": "11.0" }
        }]
      ]
    }
  ]
}
