{
  "targets": [
    {
      "target_name": "petrel_netlink",
      "sources": ["netlink.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
