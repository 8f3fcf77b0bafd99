// The project's kernel config fragment `tiny-guest`: the smallest kernel that boots a
// busybox initramfs under QEMU, prints on the serial console, mounts virtiofs or 9p
// shares, loads a module and powers off. Merged onto tinyconfig for kdevflow's own tests
// (and the test kernel the boot flow reuses); a quick guest kernel for anyone else.
// Kept as a module (not a .config file) so it is deployed with the scripts: Windmill
// syncs only scripts and flows, and a step runs without its siblings on disk.

export const TINY_GUEST = `CONFIG_64BIT=y
CONFIG_PRINTK=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_PROC_FS=y
CONFIG_SYSFS=y
CONFIG_SHMEM=y
CONFIG_TMPFS=y
CONFIG_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_FUSE_FS=y
CONFIG_VIRTIO_FS=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_NET_9P=y
CONFIG_NET_9P_VIRTIO=y
CONFIG_9P_FS=y
CONFIG_ACPI=y
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
# one small module, so modules_install installs something real
CONFIG_IKCONFIG=m
CONFIG_IKCONFIG_PROC=y
`;
