//! Every kernel limit the cBPF crate relies on, in one place.
//!
//! The values come from `include/uapi/linux/filter.h`, `include/linux/filter.h`,
//! `include/uapi/linux/seccomp.h` and `kernel/seccomp.c`.

/// Most instructions one classic program may have (`BPF_MAXINSNS`, inclusive).
pub const BPF_MAXINSNS: usize = 4096;

/// Scratch memory words `M[0]` .. `M[15]` (`BPF_MEMWORDS`).
pub const BPF_MEMWORDS: u32 = 16;

pub use sysfence_abi::data::SECCOMP_DATA_SIZE;

/// Stacked-filter budget in eBPF instructions (`MAX_INSNS_PER_PATH`,
/// `(1 << 18) / sizeof(struct sock_filter)`).
pub const MAX_INSNS_PER_PATH: usize = 32_768;

/// Per already-attached filter penalty added to the stacked budget.
pub const FILTER_PENALTY: usize = 4;

pub use sysfence_abi::filter::SOCK_FILTER_SIZE;

/// Start of the ancillary-data offsets (`SKF_AD_OFF`, as a u32: -0x1000).
pub const SKF_AD_OFF: u32 = 0xffff_f000;

/// Start of the network-header offsets (`SKF_NET_OFF`, -0x100000).
pub const SKF_NET_OFF: u32 = 0xfff0_0000;

/// Start of the link-layer offsets (`SKF_LL_OFF`, -0x200000).
pub const SKF_LL_OFF: u32 = 0xffe0_0000;

/// Highest ancillary index `bpf_anc_helper` knows (`SKF_AD_MAX`, 64 in 5.x/6.x:
/// the last named one is `SKF_AD_VLAN_TPID` = 60).
pub const SKF_AD_MAX: u32 = 64;

/// The ancillary indexes (`SKF_AD_*`) that `bpf_anc_helper` accepts.
pub const SKF_AD_KNOWN: [u32; 16] = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60];

pub use sysfence_abi::arch::X32_SYSCALL_BIT;
