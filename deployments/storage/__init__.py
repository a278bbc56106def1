"""Storage mounts (`storage[]` of a config): volumes prepared before an instance starts.

`prepare_mounts` is called by the engine for every new instance, after placement and
before any container starts; the mounts it returns are given to every container of the
instance (EAS shares mounts across an instance's containers). It raises RuntimeFailure
with a reason a person can act on when a mount cannot be prepared; the engine turns that
into a Failed instance, a Warning event and, for a create, a Failed service.

Every volume made here carries berth.installation, berth.service, berth.instance and
berth.instance-id labels, so the engine's delete removes it with the service; volumes of
instances that no longer exist are collected when the next instance of the service starts.
The per-host oss caches carry berth.keep=true and no service label: they outlive services.

| type | what the instance gets |
|---|---|
| oss | a volume filled from the prefix (storage_s3), read-only when oss.readOnly |
| nfs | a local-driver volume with NFS options, mounted once here to surface errors early |
| git | a volume with a clone made on the worker (storage_git), always read-only |
| image | a volume with a directory copied out of another image |
| empty_dir | a fresh volume; medium "memory" is a tmpfs volume (at /dev/shm: the shared memory) |
| berth.host_path | a bind mount of an allow-listed host directory |
| dataset, code | nothing: Alibaba Cloud only (the spec warns "ignored") |
"""
